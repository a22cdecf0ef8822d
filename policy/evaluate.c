/*
 * evaluate.c - a session's TLS facts and an envelope against a compiled
 * policy.
 *
 * Three steps: pick the rules that apply to a recipient (or, at MAIL, to
 * the sender alone), hold each rule's requirements against the facts, and
 * combine the rule results into one verdict whose enforced action is the
 * strictest of the enforced failures. Every requirement that did not pass
 * is listed with what was required and what was seen, because an auditor
 * must see all of them, not just the first. The policy is only read and
 * the verdict is the caller's, so any number of threads may evaluate at
 * once.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define REQ_BIT(r) (1u << (r))
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------ accessors */

const char *
tlsp_rule_name(const struct tlsp_rule *rule)
{
	return rule->name;
}

enum tlsp_action
tlsp_rule_action(const struct tlsp_rule *rule)
{
	return rule->spec->action;
}

enum tlsp_mode
tlsp_rule_mode(const struct tlsp_rule *rule)
{
	return rule->spec->mode;
}

time_t
tlsp_rule_enforce_from(const struct tlsp_rule *rule)
{
	return (time_t)rule->spec->enforce_from;
}

/* A scheduled rule monitors before its instant and enforces from it. */
static enum tlsp_mode
mode_at(const struct tlsp_spec *spec, int64_t now)
{
	if (spec->mode == TLSP_MODE_MONITOR && spec->enforce_from != 0 &&
	    now >= spec->enforce_from)
		return TLSP_MODE_ENFORCE;
	return spec->mode;
}

enum tlsp_mode
tlsp_rule_mode_at(const struct tlsp_rule *rule, time_t now)
{
	return mode_at(rule->spec, (int64_t)now);
}

/* ------------------------------------------------------- observed texts */

/*
 * An observed value ends up in audit records, reports and the query
 * output. It is kept as sent (bounded, cut between characters), like the
 * facts it comes from, and each of those sinks escapes it once.
 */
static void
set_observed(struct tlsp_failure *fl, const char *raw)
{
	(void)tlsp_text_copy(fl->observed, sizeof(fl->observed),
			     raw[0] != '\0' ? raw : "(absent)");
}

static const char *
version_name(enum tlsp_version v)
{
	const char *s = tlsp_version_name(v);

	return s != NULL ? s : "UNKNOWN";
}

/*
 * A bounded list writer for the `required` texts ("one of A, B, C"): an
 * item goes in whole or not at all, and a list that did not fit ends in
 * ", ..." so that a reader knows it was cut.
 */
struct list {
	char *buf;
	size_t size, len;
	int items, cut;
};

static void
list_init(struct list *l, char *buf, size_t size, const char *prefix)
{
	l->buf = buf;
	l->size = size;
	l->items = 0;
	l->cut = 0;
	l->len = (size_t)snprintf(buf, size, "%s", prefix);
}

static void
list_add(struct list *l, const char *item)
{
	const char *sep = l->items > 0 ? ", " : "";
	size_t need = strlen(sep) + strlen(item);

	/* Keep room for the ", ..." marker. */
	if (l->cut || l->len + need + 5 >= l->size) {
		l->cut = 1;
		return;
	}
	l->len += (size_t)snprintf(l->buf + l->len, l->size - l->len, "%s%s",
				   sep, item);
	l->items++;
}

static void
list_end(struct list *l)
{
	if (l->cut)
		snprintf(l->buf + l->len, l->size - l->len, "%s...",
			 l->items > 0 ? ", " : "");
}

/* Adds the names of the families in `mask` (in bit order), then `names`. */
static void
list_add_ciphers(struct list *l, unsigned mask, char *const *names, size_t n)
{
	unsigned bit;
	size_t i;
	const char *s;

	for (bit = 1; bit != 0; bit <<= 1)
		if ((mask & bit) && (s = tlsp_cipher_family_name(bit)) != NULL)
			list_add(l, s);
	for (i = 0; i < n; i++)
		list_add(l, names[i]);
}

/* ---------------------------------------------------- one requirement */

/*
 * Each check holds one requirement against the facts, fills the failure's
 * required/observed texts and returns the status. They run only on a TLS
 * session (see check_reqs), and the `req` and `status` fields are the
 * caller's.
 */

static enum tlsp_status
check_version(enum tlsp_version want, int min, const struct tlsp_facts *f,
	      struct tlsp_failure *fl)
{
	snprintf(fl->required, sizeof(fl->required), "%s or %s",
		 version_name(want), min ? "higher" : "lower");
	if (f->version == TLSP_VER_UNKNOWN) {
		set_observed(fl, f->version_raw);
		return TLSP_UNKNOWN;
	}
	snprintf(fl->observed, sizeof(fl->observed), "%s",
		 version_name(f->version));
	if (min ? f->version >= want : f->version <= want)
		return TLSP_PASS;
	return TLSP_FAIL;
}

static enum tlsp_status
check_min_version(const struct tlsp_reqs *q, const struct tlsp_facts *f,
		  struct tlsp_failure *fl)
{
	return check_version(q->min_version, 1, f, fl);
}

static enum tlsp_status
check_max_version(const struct tlsp_reqs *q, const struct tlsp_facts *f,
		  struct tlsp_failure *fl)
{
	return check_version(q->max_version, 0, f, fl);
}

/* The MTA's {cipher_bits} wins over OpenSSL's table: it is what was
 * negotiated, and the table may not know the suite. */
static enum tlsp_status
check_min_cipher_bits(const struct tlsp_reqs *q, const struct tlsp_facts *f,
		      struct tlsp_failure *fl)
{
	int bits = f->cipher_bits >= 0 ? f->cipher_bits : f->cipher_info.bits;

	snprintf(fl->required, sizeof(fl->required), ">= %d bits",
		 q->min_cipher_bits);
	if (bits < 0) {
		set_observed(fl, "");
		return TLSP_UNKNOWN;
	}
	snprintf(fl->observed, sizeof(fl->observed), "%d bits", bits);
	return bits >= q->min_cipher_bits ? TLSP_PASS : TLSP_FAIL;
}

/* Case-insensitive for ASCII only: strcasecmp() follows the locale, and
 * a Turkish locale folds 'I' to a dotless i. Other bytes must be equal. */
static int
ascii_casecmp(const char *a, const char *b)
{
	int ca, cb;

	do {
		ca = (unsigned char)*a++;
		cb = (unsigned char)*b++;
		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
	} while (ca == cb && ca != '\0');
	return ca - cb;
}

/* The policy's spelling of `name` if the list holds it, else NULL. */
static const char *
name_in(char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ascii_casecmp(names[i], name) == 0)
			return names[i];
	return NULL;
}

static enum tlsp_status
check_cipher_allow(const struct tlsp_reqs *q, const struct tlsp_facts *f,
		   struct tlsp_failure *fl)
{
	struct list l;

	list_init(&l, fl->required, sizeof(fl->required), "one of ");
	list_add_ciphers(&l, q->allow_families, q->allow_names, q->nallow);
	list_end(&l);
	set_observed(fl, f->cipher);
	if (f->cipher[0] == '\0')
		return TLSP_UNKNOWN;
	if (name_in(q->allow_names, q->nallow, f->cipher) != NULL ||
	    (f->cipher_info.families & q->allow_families) != 0)
		return TLSP_PASS;
	return TLSP_FAIL;
}

/* On a failure `required` names only what matched ("not 3DES, CBC"): the
 * reader wants to know why this cipher was refused, not the whole list. */
static enum tlsp_status
check_cipher_deny(const struct tlsp_reqs *q, const struct tlsp_facts *f,
		  struct tlsp_failure *fl)
{
	struct list l;
	unsigned hit;
	const char *named;

	list_init(&l, fl->required, sizeof(fl->required), "not ");
	set_observed(fl, f->cipher);
	if (f->cipher[0] == '\0') {
		list_add_ciphers(&l, q->deny_families, q->deny_names, q->ndeny);
		list_end(&l);
		return TLSP_UNKNOWN;
	}
	hit = f->cipher_info.families & q->deny_families;
	named = name_in(q->deny_names, q->ndeny, f->cipher);
	if (hit == 0 && named == NULL)
		return TLSP_PASS;
	list_add_ciphers(&l, hit, NULL, 0);
	if (named != NULL)
		list_add(&l, named);
	list_end(&l);
	return TLSP_FAIL;
}

/* Every TLS 1.3 suite has forward secrecy, whatever its name says. */
static enum tlsp_status
check_forward_secrecy(const struct tlsp_reqs *q, const struct tlsp_facts *f,
		      struct tlsp_failure *fl)
{
	snprintf(fl->required, sizeof(fl->required), "forward secrecy");
	set_observed(fl, f->cipher);
	if (!q->forward_secrecy || f->version == TLSP_VER_TLSV1_3)
		return TLSP_PASS;
	if (f->cipher[0] == '\0' || f->cipher_info.forward_secrecy < 0)
		return TLSP_UNKNOWN;
	return f->cipher_info.forward_secrecy ? TLSP_PASS : TLSP_FAIL;
}

/*
 * What each certificate state means for a "presented" and a "verified"
 * requirement. NOT_VERIFIED is Postfix's "no subject": no certificate or an
 * untrusted one, so "presented" cannot be told but "verified" surely fails.
 */
static const enum tlsp_status cert_vs_presented[] = {
	[TLSP_CERT_UNKNOWN] = TLSP_UNKNOWN,
	[TLSP_CERT_NONE] = TLSP_FAIL,
	[TLSP_CERT_PRESENTED] = TLSP_PASS,
	[TLSP_CERT_PRESENTED_UNKNOWN] = TLSP_PASS,
	[TLSP_CERT_NOT_VERIFIED] = TLSP_UNKNOWN,
	[TLSP_CERT_VERIFIED] = TLSP_PASS,
};
static const enum tlsp_status cert_vs_verified[] = {
	[TLSP_CERT_UNKNOWN] = TLSP_UNKNOWN,
	[TLSP_CERT_NONE] = TLSP_FAIL,
	[TLSP_CERT_PRESENTED] = TLSP_FAIL,
	[TLSP_CERT_PRESENTED_UNKNOWN] = TLSP_UNKNOWN,
	[TLSP_CERT_NOT_VERIFIED] = TLSP_FAIL,
	[TLSP_CERT_VERIFIED] = TLSP_PASS,
};

static enum tlsp_status
check_client_cert(const struct tlsp_reqs *q, const struct tlsp_facts *f,
		  struct tlsp_failure *fl)
{
	const enum tlsp_status *tab;
	const char *seen = tlsp_cert_state_name(f->cert);

	if (q->client_cert == TLSP_CERT_VERIFIED)
		tab = cert_vs_verified;
	else if (q->client_cert == TLSP_CERT_PRESENTED)
		tab = cert_vs_presented;
	else
		return TLSP_PASS;
	snprintf(fl->required, sizeof(fl->required), "%s certificate",
		 tlsp_code_name(tlsp_client_cert_names, q->client_cert));
	snprintf(fl->observed, sizeof(fl->observed), "%s",
		 seen != NULL ? seen : "unknown");
	if ((size_t)f->cert >= NELEM(cert_vs_verified))
		return TLSP_UNKNOWN;
	return tab[f->cert];
}

/* "*.example" matches exactly one extra label: "a.example", but neither
 * "example" nor "a.b.example", as in RFC 6125 wildcards. */
static int
cn_match(const char *pat, const char *cn)
{
	const char *dot;

	if (strncmp(pat, "*.", 2) != 0)
		return ascii_casecmp(pat, cn) == 0;
	dot = strchr(cn, '.');
	if (dot == NULL || dot == cn)
		return 0;
	return ascii_casecmp(pat + 1, dot) == 0;
}

/*
 * Subject and issuer share one rule. A full-DN pattern needs a DN, which
 * Postfix never sends (it sends the CN), so there the pattern is
 * unobservable. With no CN at all, the MTA may just not have shown it:
 * Postfix hides an untrusted certificate's names, and an unknown MTA that
 * sent no macro tells nothing.
 */
static enum tlsp_status
check_names(const struct tlsp_name_pat *pats, size_t n, const char *cn,
	    const char *dn, int seen, const struct tlsp_facts *f,
	    struct tlsp_failure *fl)
{
	int dn_shown = f->mta != TLSP_MTA_POSTFIX && dn[0] != '\0';
	int unobservable = 0;
	struct list l;
	size_t i;

	list_init(&l, fl->required, sizeof(fl->required), "one of ");
	for (i = 0; i < n; i++)
		list_add(&l, pats[i].text);
	list_end(&l);
	set_observed(fl, dn_shown ? dn : cn);
	for (i = 0; i < n; i++) {
		const char *pat = pats[i].text;

		if (pats[i].full_dn && !dn_shown)
			unobservable = 1;
		else if (pats[i].full_dn && ascii_casecmp(pat, dn) == 0)
			return TLSP_PASS;
		else if (!pats[i].full_dn && cn[0] != '\0' && cn_match(pat, cn))
			return TLSP_PASS;
	}
	if (cn[0] == '\0') {
		if ((f->mta == TLSP_MTA_POSTFIX &&
		     f->cert != TLSP_CERT_VERIFIED) ||
		    (f->mta == TLSP_MTA_UNKNOWN && !seen))
			return TLSP_UNKNOWN;
		return TLSP_FAIL;
	}
	return unobservable ? TLSP_UNKNOWN : TLSP_FAIL;
}

static enum tlsp_status
check_subject(const struct tlsp_reqs *q, const struct tlsp_facts *f,
	      struct tlsp_failure *fl)
{
	return check_names(q->subject, q->nsubject, f->subject_cn,
			   f->subject_dn, f->subject_seen, f, fl);
}

static enum tlsp_status
check_issuer(const struct tlsp_reqs *q, const struct tlsp_facts *f,
	     struct tlsp_failure *fl)
{
	return check_names(q->issuer, q->nissuer, f->issuer_cn, f->issuer_dn,
			   f->issuer_seen, f, fl);
}

/* Postfix never sends a fingerprint; Sendmail does only when {cert_fp} is
 * in its macro list, so an absent one proves nothing unless there was
 * surely no certificate. */
static enum tlsp_status
check_fingerprint(const struct tlsp_reqs *q, const struct tlsp_facts *f,
		  struct tlsp_failure *fl)
{
	struct list l;
	size_t i;

	list_init(&l, fl->required, sizeof(fl->required), "one of ");
	for (i = 0; i < q->nfp; i++)
		list_add(&l, q->fingerprints[i]);
	list_end(&l);
	set_observed(fl, f->fingerprint);
	if (f->fingerprint[0] != '\0')
		return name_in(q->fingerprints, q->nfp, f->fingerprint) != NULL
			       ? TLSP_PASS
			       : TLSP_FAIL;
	if (f->mta == TLSP_MTA_POSTFIX)
		return TLSP_UNKNOWN;
	return f->cert == TLSP_CERT_NONE ? TLSP_FAIL : TLSP_UNKNOWN;
}

/*
 * Who the client is. The evidence (its address and verified name) is the
 * session's client, which the audit record keeps once, redactably: the
 * failure's `observed` stays "" and the record writes null.
 */
static enum tlsp_status
check_client_addr(const struct tlsp_reqs *q, const struct tlsp_facts *f,
		  struct tlsp_failure *fl)
{
	const struct tlsp_cidrset *set = &q->client_addrs;
	enum tlsp_status st = TLSP_UNKNOWN;
	uint8_t ip[16];
	char net[64];
	struct list l;
	size_t i;

	if (tlsp_cidr_parse_ip(f->client_addr, ip) == 0)
		st = tlsp_cidrset_match(set, ip) ? TLSP_PASS : TLSP_FAIL;
	if (st == TLSP_PASS) /* the texts only for a failure: a pass is */
		return st;   /* the common case, and they cost a microsecond */
	list_init(&l, fl->required, sizeof(fl->required), "one of ");
	for (i = 0; i < set->n && !l.cut; i++) {
		if (i == TLSP_CIDRSET_SHOWN) {
			l.cut = 1; /* "..." */
			break;
		}
		tlsp_cidr_format(&set->shown[i], net, sizeof(net));
		list_add(&l, net);
	}
	list_end(&l);
	fl->observed[0] = '\0';
	return st;
}

/* "mx.example" is that name; ".example" any name below it. */
int
tlsp_host_match(const struct tlsp_host_pat *p, const char *name)
{
	size_t n = strlen(name), k = strlen(p->name);

	if (!p->sub)
		return strcmp(p->name, name) == 0;
	return n > k + 1 && name[n - k - 1] == '.' &&
	       strcmp(name + n - k, p->name) == 0;
}

static enum tlsp_status
check_client_name(const struct tlsp_reqs *q, const struct tlsp_facts *f,
		  struct tlsp_failure *fl)
{
	struct list l;
	char pat[TLSP_DOMAIN_MAX + 2];
	size_t i;

	list_init(&l, fl->required, sizeof(fl->required), "verified, one of ");
	for (i = 0; i < q->nhosts && !l.cut; i++) {
		snprintf(pat, sizeof(pat), "%s%s", q->hosts[i].sub ? "." : "",
			 q->hosts[i].name);
		list_add(&l, pat);
	}
	list_end(&l);
	fl->observed[0] = '\0';
	if (f->client_name_state == TLSP_NAME_UNKNOWN)
		return TLSP_UNKNOWN;
	if (f->client_name_state != TLSP_NAME_VERIFIED)
		return TLSP_FAIL;
	for (i = 0; i < q->nhosts; i++)
		if (tlsp_host_match(&q->hosts[i], f->client_name))
			return TLSP_PASS;
	return TLSP_FAIL;
}

/* In enum tlsp_req order, which is also the order failures are listed in.
 * TLS itself is checked before the others (check_reqs). */
static enum tlsp_status (
		*const checks[TLSP_REQ_COUNT])(const struct tlsp_reqs *,
					       const struct tlsp_facts *,
					       struct tlsp_failure *) = {
	[TLSP_REQ_TLS] = NULL,
	[TLSP_REQ_MIN_VERSION] = check_min_version,
	[TLSP_REQ_MAX_VERSION] = check_max_version,
	[TLSP_REQ_MIN_CIPHER_BITS] = check_min_cipher_bits,
	[TLSP_REQ_CIPHER_ALLOW] = check_cipher_allow,
	[TLSP_REQ_CIPHER_DENY] = check_cipher_deny,
	[TLSP_REQ_FORWARD_SECRECY] = check_forward_secrecy,
	[TLSP_REQ_CLIENT_CERT] = check_client_cert,
	[TLSP_REQ_SUBJECT] = check_subject,
	[TLSP_REQ_ISSUER] = check_issuer,
	[TLSP_REQ_FINGERPRINT] = check_fingerprint,
	[TLSP_REQ_CLIENT_ADDR] = check_client_addr,
	[TLSP_REQ_CLIENT_NAME] = check_client_name,
};

/* What is checked whether or not the session is TLS. */
#define CLIENT_REQS                                                            \
	(REQ_BIT(TLSP_REQ_CLIENT_ADDR) | REQ_BIT(TLSP_REQ_CLIENT_NAME))

/* ------------------------------------------------------------ one rule */

/*
 * On a plaintext session only `tls` and the client's address and name are
 * looked at: a failed "TLS required" already says everything about the
 * session, and listing every cipher and certificate requirement as
 * failed too would bury it; a rule with `tls: optional` states what a
 * TLS session must look like and has nothing to say about plaintext.
 * Who the client is matters either way.
 */
static void
check_reqs(const struct tlsp_reqs *q, const struct tlsp_facts *f,
	   struct tlsp_rule_result *res)
{
	struct tlsp_failure *fl;
	enum tlsp_status st;
	unsigned want = q->set;
	int r;

	if (f->version == TLSP_VER_NONE) {
		want &= CLIENT_REQS;
		if (q->tls_required) {
			fl = &res->fail[res->nfail++];
			fl->req = TLSP_REQ_TLS;
			fl->status = TLSP_FAIL;
			fl->waived_by = NULL;
			snprintf(fl->required, sizeof(fl->required), "TLS");
			snprintf(fl->observed, sizeof(fl->observed),
				 "plaintext");
		}
	}
	for (r = 0; r < TLSP_REQ_COUNT; r++) {
		if ((want & REQ_BIT(r)) == 0 || checks[r] == NULL)
			continue;
		fl = &res->fail[res->nfail];
		memset(fl, 0, sizeof(*fl));
		st = checks[r](q, f, fl);
		if (st == TLSP_PASS)
			continue;
		fl->req = (enum tlsp_req)r;
		fl->status = st;
		res->nfail++;
	}
}

static int
daemon_listed(const struct tlsp_scope *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->ndaemons; i++)
		if (strcmp(s->daemons[i], name) == 0)
			return 1;
	return 0;
}

static int
scope_exempts(const struct tlsp_scope *s, const struct tlsp_facts *f)
{
	uint8_t ip[16];
	size_t i;

	if (s == NULL)
		return 0;
	if (s->exempt_authenticated && f->authenticated)
		return 1;
	/* Without {daemon_name} the listener is unknown: enforce rather than
	 * exempt, so an MTA that omits the macro cannot open a hole. */
	if (s->ndaemons > 0 && f->daemon_name[0] != '\0' &&
	    !daemon_listed(s, f->daemon_name))
		return 1;
	if (s->nclients > 0 && tlsp_cidr_parse_ip(f->client_addr, ip) == 0)
		for (i = 0; i < s->nclients; i++)
			if (tlsp_cidr_match(&s->exempt_clients[i], ip))
				return 1;
	return 0;
}

/* Unknowns stay listed even when they do not count as failures, so the
 * audit record shows what could not be checked. Waived failures (after
 * fail[nfail - 1]) count for nothing. */
static void
rule_status(struct tlsp_rule_result *res)
{
	const struct tlsp_spec *spec = res->rule->spec;
	int failed = 0, unknown = 0;
	size_t i;

	for (i = 0; i < res->nfail; i++) {
		if (res->fail[i].status == TLSP_FAIL)
			failed = 1;
		else
			unknown = 1;
	}
	res->status = TLSP_PASS;
	res->action = TLSP_ACTION_ACCEPT;
	if (failed || (unknown && spec->on_unobservable_fail)) {
		res->status = TLSP_FAIL;
		res->action = spec->action;
	}
}

static void
eval_rule(const struct tlsp_rule *rule, const struct tlsp_facts *f, int64_t now,
	  struct tlsp_rule_result *res)
{
	const struct tlsp_spec *spec = rule->spec;

	/* the failures are cleared one by one as they are used */
	memset(res, 0, offsetof(struct tlsp_rule_result, fail));
	res->rule = rule;
	res->nwaived = 0;
	res->status = TLSP_PASS;
	res->action = TLSP_ACTION_ACCEPT;
	res->mode = mode_at(spec, now);
	if (scope_exempts(spec->scope, f)) {
		res->exempt = 1;
		return;
	}
	check_reqs(&spec->req, f, res);
	rule_status(res);
}

/* ------------------------------------------------------- rule selection */

/*
 * The rules one envelope address selects in one direction's table: the
 * most specific one, and the default. The null sender has its own rule
 * and never takes the default (bounces would otherwise hit every sender
 * default); an address literal matches only its own entry, never a parent.
 * Returns 1 if the address could not be used for a lookup.
 */
static int
select_rules(const struct tlsp_ruleset *rs, const char *raw, int is_sender,
	     const struct tlsp_rule **specific, const struct tlsp_rule **deflt)
{
	const struct tlsp_domtab_entry *e;
	struct tlsp_addr a;

	*specific = NULL;
	*deflt = rs->deflt;
	switch (tlsp_addr_parse(raw, &a)) {
	case TLSP_ADDR_DOMAIN:
		*specific = tlsp_domtab_match(&rs->tab, a.domain);
		return 0;
	case TLSP_ADDR_LITERAL:
		e = tlsp_domtab_get(&rs->tab, a.domain, strlen(a.domain));
		*specific = e != NULL ? e->exact : NULL;
		return 0;
	case TLSP_ADDR_NULL:
		if (!is_sender)
			return 1; /* RCPT TO:<> is not an address */
		*specific = rs->null_sender;
		*deflt = NULL;
		return 0;
	default:
		return 1;
	}
}

/*
 * The pair rule for sender and recipient: the sender's pair sets from the
 * most specific pattern up (exact, then each parent's subdomain entry),
 * and in each the recipient's most specific pattern; the first found
 * wins. *named is set when any pair set names the sender. Address
 * literals match only their own entries, as in select_rules().
 */
static const struct tlsp_rule *
select_pair(const struct tlsp_domtab *pairs, const char *sender,
	    const char *recipient, int *named)
{
	const struct tlsp_domtab_entry *e;
	struct tlsp_addr s, r;
	const struct tlsp_rule *got;
	const char *d, *p;
	int literal;

	*named = 0;
	if (pairs->used == 0 || sender == NULL)
		return NULL;
	literal = tlsp_addr_parse(sender, &s) == TLSP_ADDR_LITERAL;
	if (!literal && s.kind != TLSP_ADDR_DOMAIN)
		return NULL;
	if (recipient != NULL &&
	    tlsp_addr_parse(recipient, &r) != TLSP_ADDR_DOMAIN &&
	    r.kind != TLSP_ADDR_LITERAL)
		recipient = NULL;
	for (d = s.domain; d != NULL; d = literal ? NULL : strchr(d + 1, '.')) {
		const char *key = d == s.domain ? d : d + 1;
		const struct tlsp_rule *side;

		e = tlsp_domtab_get(pairs, key, strlen(key));
		if (e == NULL)
			continue;
		side = d == s.domain ? e->exact : e->sub;
		/* the sender's own name may also have a subdomain entry, which
		 * is for the names below it */
		if (side == NULL)
			continue;
		*named = 1;
		if (recipient == NULL)
			return NULL;
		p = r.domain;
		got = r.kind == TLSP_ADDR_LITERAL
			      ? ((e = tlsp_domtab_get(&tlsp_pairset_of(side)
							       ->rcpts,
						      p, strlen(p))) != NULL
					 ? e->exact
					 : NULL)
			      : tlsp_domtab_match(&tlsp_pairset_of(side)->rcpts,
						  p);
		if (got != NULL)
			return got;
	}
	return NULL;
}

static void
add_rule(const struct tlsp_rule **set, size_t *n, const struct tlsp_rule *r)
{
	if (r != NULL)
		set[(*n)++] = r;
}

static void
render_reply(struct tlsp_verdict *v, const struct tlsp_rule_result *won)
{
	struct tlsp_spec spec;
	struct tlsp_rule rule;
	int plaintext = 0;
	size_t i;

	for (i = 0; i < won->nfail; i++)
		if (won->fail[i].req == TLSP_REQ_TLS)
			plaintext = 1;
	if (tlsp_reply_render(won->rule, plaintext, v->reply,
			      sizeof(v->reply)) >= 0)
		return;
	/* A template that expands past the buffer still owes the client a
	 * reply: fall back to the default text, which always fits. */
	spec = *won->rule->spec;
	spec.reply = NULL;
	rule = *won->rule;
	rule.spec = &spec;
	if (tlsp_reply_render(&rule, plaintext, v->reply, sizeof(v->reply)) < 0)
		v->reply[0] = '\0';
}

/* --------------------------------------------------------- exceptions */

/* What an evaluation knows besides the facts, for the exceptions. */
struct env {
	const struct tlsp_policy *p;
	const char *sender, *recipient; /* as sent; NULL: not known */
	int64_t now;
};

#define MAX_EXCEPTIONS 16

static const char *
env_domain(const char *raw, struct tlsp_addr *a)
{
	if (raw == NULL || tlsp_addr_parse(raw, a) != TLSP_ADDR_DOMAIN)
		return NULL;
	return a->domain;
}

/* The exceptions in force for this envelope and client, in file order;
 * with any_rcpt (the sender stage) also those naming some recipient. */
static size_t
find_exceptions(const struct env *e, const struct tlsp_facts *f, int any_rcpt,
		const struct tlsp_exception **out)
{
	struct tlsp_addr sa, ra;
	uint8_t ip[16];

	return tlsp_exception_match(e->p, env_domain(e->sender, &sa),
				    env_domain(e->recipient, &ra), any_rcpt,
				    tlsp_cidr_parse_ip(f->client_addr, ip) == 0
					    ? ip
					    : NULL,
				    e->now, out, MAX_EXCEPTIONS);
}

/* Moves the failures an exception waives behind the others, each marked
 * with the first exception (in file order) that waives it. */
static int
waive(struct tlsp_rule_result *res, const struct tlsp_exception *const *ex,
      size_t nex)
{
	struct tlsp_failure keep[TLSP_MAX_FAILURES], gone[TLSP_MAX_FAILURES];
	size_t i, j, nk = 0, ng = 0;

	for (i = 0; i < res->nfail; i++) {
		for (j = 0; j < nex; j++)
			if (ex[j]->waive & REQ_BIT(res->fail[i].req))
				break;
		if (j == nex) {
			keep[nk++] = res->fail[i];
		} else {
			gone[ng] = res->fail[i];
			gone[ng++].waived_by = ex[j];
		}
	}
	if (ng == 0)
		return 0;
	memcpy(res->fail, keep, nk * sizeof(keep[0]));
	memcpy(res->fail + nk, gone, ng * sizeof(gone[0]));
	res->nfail = nk;
	res->nwaived = ng;
	rule_status(res);
	return 1;
}

static void
apply_exceptions(struct tlsp_verdict *v, const struct tlsp_facts *f,
		 const struct env *e)
{
	const struct tlsp_exception *ex[MAX_EXCEPTIONS];
	size_t nex = find_exceptions(e, f, 0, ex), i;

	for (i = 0; nex && i < v->nrules; i++)
		if (!v->r[i].exempt && waive(&v->r[i], ex, nex))
			v->flags |= TLSP_V_WAIVED;
}

/* At MAIL the recipients are not known yet: an exception naming some
 * recipient that would waive what still fails makes the decision wait
 * for RCPT, where it is known. */
static int
rcpt_may_waive(const struct tlsp_verdict *v, const struct tlsp_facts *f,
	       const struct env *e)
{
	const struct tlsp_exception *ex[MAX_EXCEPTIONS];
	unsigned failing = 0;
	size_t nex, i, j;

	for (i = 0; i < v->nrules; i++)
		for (j = 0; j < v->r[i].nfail; j++)
			failing |= REQ_BIT(v->r[i].fail[j].req);
	if (failing == 0 || e->p->nexceptions == 0)
		return 0;
	for (i = 0; i < TLSP_REQ_COUNT; i++)
		if ((failing & REQ_BIT(i)) &&
		    e->p->exidx.rcpt_only_until[i] > e->now)
			return 1;
	nex = find_exceptions(e, f, 1, ex);
	for (i = 0; i < nex; i++)
		if (ex[i]->nrecipients && (ex[i]->waive & failing))
			return 1;
	return 0;
}

/* ------------------------------------------------------------ combining */

/* Evaluates the selected rules, lets the exceptions in force waive what
 * they name, and combines them: the enforced action is the strictest
 * enforced failure, the first rule to reach it decides. */
static void
combine(struct tlsp_verdict *v, const struct tlsp_facts *f, const struct env *e,
	const struct tlsp_rule *const *set, size_t n)
{
	const struct tlsp_rule_result *won = NULL;
	struct tlsp_rule_result *res;
	size_t i, exempt = 0, failing = 0;

	if (n == 0) {
		v->flags |= TLSP_V_NO_RULE;
		return;
	}
	for (i = 0; i < n; i++) {
		res = &v->r[v->nrules++];
		eval_rule(set[i], f, e->now, res);
		exempt += (size_t)res->exempt;
		failing += res->nfail > 0;
	}
	if (failing && e->p->nexceptions)
		apply_exceptions(v, f, e);
	for (i = 0; i < v->nrules; i++) {
		res = &v->r[i];
		if (res->status != TLSP_FAIL)
			continue;
		v->would_action = tlsp_action_max(v->would_action, res->action);
		if (res->mode == TLSP_MODE_ENFORCE && res->action > v->action) {
			v->action = res->action;
			won = res;
		}
	}
	if (exempt == n)
		v->flags |= TLSP_V_SESSION_EXEMPT;
	if (won != NULL) {
		v->decided_by = won->rule;
		if (v->action == TLSP_ACTION_REJECT ||
		    v->action == TLSP_ACTION_DEFER)
			render_reply(v, won);
	}
}

/* Only what is read: a verdict is 8 KiB, nearly all of it room for
 * failures that eval_rule() clears as it fills them (rules 0..nrules-1,
 * failures 0..nfail-1) and for a reply written only on a refusal. */
static void
verdict_init(struct tlsp_verdict *v)
{
	v->nrules = 0;
	v->action = TLSP_ACTION_ACCEPT;
	v->would_action = TLSP_ACTION_ACCEPT;
	v->decided_by = NULL;
	v->reply[0] = '\0';
	v->flags = 0;
}

int
tlsp_evaluate_sender(const struct tlsp_policy *p, const struct tlsp_facts *f,
		     const char *sender, time_t now, struct tlsp_verdict *v)
{
	const struct tlsp_rule *specific = NULL, *deflt;
	struct env e = {p, sender, NULL, (int64_t)now};
	int paired;

	verdict_init(v);
	(void)select_pair(&p->pairs, sender, NULL, &paired);
	if (paired)
		return 0;
	if (sender != NULL)
		(void)select_rules(&p->senders, sender, 1, &specific, &deflt);
	if (specific == NULL)
		return 0;
	combine(v, f, &e, &specific, 1);
	if (rcpt_may_waive(v, f, &e)) {
		verdict_init(v);
		return 0;
	}
	return 1;
}

/*
 * A pair rule for this sender and recipient replaces both directions'
 * rules. Otherwise a specific rule in either direction beats the
 * defaults; all specific rules are evaluated (sender first). Defaults
 * apply only when neither direction has a specific rule, and then both do.
 */
void
tlsp_evaluate(const struct tlsp_policy *p, const struct tlsp_facts *f,
	      const char *sender, const char *recipient, time_t now,
	      struct tlsp_verdict *v)
{
	struct env e = {p, sender, recipient, (int64_t)now};
	const struct tlsp_rule *s_spec = NULL, *s_def = NULL;
	const struct tlsp_rule *r_spec = NULL, *r_def = NULL;
	const struct tlsp_rule *set[TLSP_MAX_RULES_PER_VERDICT];
	size_t n = 0;
	int paired;

	verdict_init(v);
	if ((set[0] = select_pair(&p->pairs, sender, recipient, &paired))) {
		combine(v, f, &e, set, 1);
		return;
	}
	if (sender != NULL &&
	    select_rules(&p->senders, sender, 1, &s_spec, &s_def))
		v->flags |= TLSP_V_SENDER_UNPARSABLE;
	if (recipient != NULL &&
	    select_rules(&p->recipients, recipient, 0, &r_spec, &r_def))
		v->flags |= TLSP_V_RCPT_UNPARSABLE;
	if (s_spec != NULL || r_spec != NULL) {
		add_rule(set, &n, s_spec);
		add_rule(set, &n, r_spec);
	} else {
		add_rule(set, &n, s_def);
		add_rule(set, &n, r_def);
	}
	combine(v, f, &e, set, n);
}
