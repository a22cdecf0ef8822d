/*
 * compile.c - turn a policy document (ytree) into a compiled policy.
 *
 * The walk reports every error it can in one pass, each with its position,
 * and builds nothing that outlives a failure: the caller frees the arena.
 * Profiles are resolved once (with cycle detection) into shared specs; a
 * rule that only names a profile points at the profile's spec.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compile.h"

/* Codes are the values of tlsp_reqs.tls_required. */
static const struct tlsp_name_code tls_words[] = {
	{"optional", 0},
	{"required", 1},
	{NULL, -1},
};
/* Codes are the values of tlsp_spec.on_unobservable_fail. */
static const struct tlsp_name_code unobs_words[] = {
	{"ignore", 0},
	{"fail", 1},
	{NULL, -1},
};

/* Besides requirements, what a body can state. */
#define O_ACTION (1u << 0)
#define O_MODE (1u << 1)
#define O_REPLY (1u << 2)
#define O_UNOBS (1u << 3)
#define O_SCOPE (1u << 4)
#define O_SCHEDULE (1u << 5) /* enforce_from, or mode: {monitor: until} */
#define O_COMPLIANCE (1u << 6)

/* What one rule or profile body says, before inheritance. */
struct body {
	const struct tlsp_ynode *node;
	unsigned stated, other, scope_set;
	struct tlsp_reqs req;
	struct tlsp_scope scope;
	int action, mode, unobs_fail;
	unsigned compliance; /* bits of tlsp_compliance_names codes */
	const struct tlsp_ynode *reply;
	int64_t enforce_from;		/* with O_SCHEDULE */
	const struct tlsp_ynode *sched; /* where the schedule was stated */
	const struct tlsp_ynode *ref;	/* profile: / extends: / bare name */
	int only_ref;			/* states nothing but its profile */
};

/* A spec being resolved through a profile chain. */
struct rstate {
	struct tlsp_spec spec;
	struct tlsp_scope scope;
	unsigned scope_set;
	int tls_stated;
	const struct tlsp_ynode *reply_node;
};

struct profile {
	const char *name;
	const struct tlsp_ynode *key;
	struct body body;
	int state; /* 0 new, 1 resolving, 2 done, 3 failed */
	struct rstate rs;
	struct tlsp_spec *spec;
};

struct walk {
	struct tlsp_compile_ctx c;
	struct tlsp_scope *global;
	int unobs_fail;
	struct profile *profs;
	size_t nprofs;
	struct tlsp_spec *empty_spec; /* a rule with no requirements */
	struct rstate defaults;
	/* Plain specs already made, for sharing (open addressing; heap,
	 * freed at the end of tlsp_compile). */
	struct tlsp_spec **shared;
	size_t shared_cap, shared_used;
	size_t file_index; /* the source being read: tlsp_policy.files */
};

/* A key or pattern made safe to quote in a message. */
static const char *
printable(const char *s, char *buf, size_t bufsz)
{
	size_t i, j = 0;

	for (i = 0; s[i] && j + 1 < bufsz; i++)
		buf[j++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?'
									: s[i];
	buf[j] = '\0';
	return buf;
}

static struct profile *
find_profile(const struct walk *w, const char *name)
{
	size_t i;

	for (i = 0; i < w->nprofs; i++)
		if (strcmp(w->profs[i].name, name) == 0)
			return &w->profs[i];
	return NULL;
}

/*
 * The keys of a rule or profile body, one row each: its name, the
 * handler that reads its value, and what it states (the requirement bits
 * and O_* bits it sets; "ciphers" sets its two requirements itself). A
 * new requirement kind is one row here and one handler.
 */
struct body_key {
	const char *name;
	int (*read)(struct walk *, const struct body_key *,
		    const struct tlsp_ynode *, const char *where,
		    struct body *);
	unsigned stated, other;
	unsigned in; /* IN_RULE, IN_PROFILE */
};
#define IN_RULE (1u << 0)
#define IN_PROFILE (1u << 1)
#define REQ(r) (1u << (r))

static int
read_tls(struct walk *w, const struct body_key *k, const struct tlsp_ynode *v,
	 const char *where, struct body *b)
{
	return tlsp_schema_word(&w->c, v, where, k->name, tls_words,
				&b->req.tls_required);
}

static int
read_version(struct walk *w, const struct body_key *k,
	     const struct tlsp_ynode *v, const char *where, struct body *b)
{
	return tlsp_schema_version(&w->c, v, where, k->name,
				   k->stated == REQ(TLSP_REQ_MIN_VERSION)
					   ? &b->req.min_version
					   : &b->req.max_version);
}

static int
read_min_bits(struct walk *w, const struct body_key *k,
	      const struct tlsp_ynode *v, const char *where, struct body *b)
{
	long n;

	if (tlsp_schema_int(&w->c, v, where, k->name, 0, 512, &n) < 0)
		return -1;
	b->req.min_cipher_bits = (int)n;
	return 0;
}

static int
read_ciphers(struct walk *w, const struct body_key *k,
	     const struct tlsp_ynode *v, const char *where, struct body *b)
{
	(void)k;
	return tlsp_schema_ciphers(&w->c, v, where, &b->req, &b->stated);
}

static int
read_fs(struct walk *w, const struct body_key *k, const struct tlsp_ynode *v,
	const char *where, struct body *b)
{
	return tlsp_schema_bool(&w->c, v, where, k->name,
				&b->req.forward_secrecy);
}

static int
read_client_cert(struct walk *w, const struct body_key *k,
		 const struct tlsp_ynode *v, const char *where, struct body *b)
{
	int x;

	if (tlsp_schema_word(&w->c, v, where, k->name, tlsp_client_cert_names,
			     &x) < 0)
		return -1;
	b->req.client_cert = (enum tlsp_cert_state)x;
	return 0;
}

static int
read_subject(struct walk *w, const struct body_key *k,
	     const struct tlsp_ynode *v, const char *where, struct body *b)
{
	return tlsp_schema_names(&w->c, v, where, k->name, &b->req.subject,
				 &b->req.nsubject);
}

static int
read_issuer(struct walk *w, const struct body_key *k,
	    const struct tlsp_ynode *v, const char *where, struct body *b)
{
	return tlsp_schema_names(&w->c, v, where, k->name, &b->req.issuer,
				 &b->req.nissuer);
}

static int
read_fingerprints(struct walk *w, const struct body_key *k,
		  const struct tlsp_ynode *v, const char *where, struct body *b)
{
	(void)k;
	return tlsp_schema_fingerprints(&w->c, v, where, &b->req);
}

static int
read_client_addr(struct walk *w, const struct body_key *k,
		 const struct tlsp_ynode *v, const char *where, struct body *b)
{
	(void)k;
	return tlsp_schema_client_addrs(&w->c, v, where, &b->req);
}

static int
read_client_name(struct walk *w, const struct body_key *k,
		 const struct tlsp_ynode *v, const char *where, struct body *b)
{
	(void)k;
	return tlsp_schema_hosts(&w->c, v, where, &b->req);
}

static int
read_action(struct walk *w, const struct body_key *k,
	    const struct tlsp_ynode *v, const char *where, struct body *b)
{
	return tlsp_schema_word(&w->c, v, where, k->name, tlsp_action_names,
				&b->action);
}

/*
 * `mode: enforce`, `mode: monitor`, or `mode: {monitor: until DATE}`:
 * monitor through the end of that day (or until that instant), then
 * enforce, as `mode: monitor` with `enforce_from` the day after.
 */
static int
read_mode(struct walk *w, const struct body_key *k, const struct tlsp_ynode *v,
	  const char *where, struct body *b)
{
	const struct tlsp_ynode *until;

	if (v->type != TLSP_YNODE_MAP)
		return tlsp_schema_word(&w->c, v, where, k->name,
					tlsp_mode_names, &b->mode);
	if (v->n != 1 || v->kids[0]->type != TLSP_YNODE_SCALAR ||
	    strcmp(v->kids[0]->str, "monitor") != 0) {
		tlsp_schema_error(&w->c, v, where,
				  "'mode' expects enforce, monitor, or "
				  "{monitor: until DATE}");
		return -1;
	}
	until = v->kids[1];
	if (until->type != TLSP_YNODE_SCALAR ||
	    strncmp(until->str, "until ", 6) != 0) {
		tlsp_schema_error(&w->c, until, where,
				  "'mode: {monitor: ...}' expects 'until "
				  "DATE', e.g. 'until 2027-01-15'");
		return -1;
	}
	{
		struct tlsp_ynode date = *until;

		date.str += 6;
		date.len -= 6;
		date.col += 6;
		if (tlsp_schema_when(&w->c, &date, where, "monitor: until", 1,
				     &b->enforce_from, NULL) < 0)
			return -1;
	}
	if (b->sched != NULL) {
		tlsp_schema_error(&w->c, v, where,
				  "give either 'mode: {monitor: until ...}' "
				  "or 'enforce_from', not both");
		return -1;
	}
	b->mode = TLSP_MODE_MONITOR;
	b->sched = v;
	b->other |= O_SCHEDULE;
	return 0;
}

/* enforce_from: a date (its start) or a date-time; the rule monitors
 * before it. */
static int
read_enforce_from(struct walk *w, const struct body_key *k,
		  const struct tlsp_ynode *v, const char *where, struct body *b)
{
	if (b->sched != NULL) {
		tlsp_schema_error(&w->c, v, where,
				  "give either 'mode: {monitor: until ...}' "
				  "or 'enforce_from', not both");
		return -1;
	}
	if (tlsp_schema_when(&w->c, v, where, k->name, 0, &b->enforce_from,
			     NULL) < 0)
		return -1;
	b->sched = v;
	return 0;
}

static int
read_reply(struct walk *w, const struct body_key *k, const struct tlsp_ynode *v,
	   const char *where, struct body *b)
{
	(void)k;
	b->reply = v;
	return tlsp_schema_reply(&w->c, v, where) < 0 ? -1 : 0;
}

static int
read_unobs(struct walk *w, const struct body_key *k, const struct tlsp_ynode *v,
	   const char *where, struct body *b)
{
	return tlsp_schema_word(&w->c, v, where, k->name, unobs_words,
				&b->unobs_fail);
}

static int
read_scope(struct walk *w, const struct body_key *k, const struct tlsp_ynode *v,
	   const char *where, struct body *b)
{
	(void)k;
	return tlsp_schema_scope(&w->c, v, where, &b->scope, &b->scope_set);
}

/* compliance: a framework's tag, or a list of them; documentation for
 * the audit report, no effect on a decision. */
static int
read_compliance(struct walk *w, const struct body_key *k,
		const struct tlsp_ynode *v, const char *where, struct body *b)
{
	const struct tlsp_ynode *one = v;
	uint32_t i, n = v->type == TLSP_YNODE_SEQ ? v->n : 1;
	int code, rc = 0;

	if (v->type == TLSP_YNODE_MAP || (n == 0)) {
		tlsp_schema_error(&w->c, v, where,
				  "'%s' expects a framework or a list of "
				  "them, found %s",
				  k->name, tlsp_ytree_kind(v));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (v->type == TLSP_YNODE_SEQ)
			one = v->kids[i];
		if (tlsp_schema_word(&w->c, one, where, k->name,
				     tlsp_compliance_names, &code) < 0)
			rc = -1;
		else
			b->compliance |= 1u << code;
	}
	return rc;
}

/* profile: (in a rule) and extends: (in a profile) */
static int
read_ref(struct walk *w, const struct body_key *k, const struct tlsp_ynode *v,
	 const char *where, struct body *b)
{
	if (v->type != TLSP_YNODE_SCALAR || tlsp_schema_is_empty(v)) {
		tlsp_schema_error(&w->c, v, where,
				  "'%s' expects a profile name, "
				  "found %s",
				  k->name, tlsp_ytree_kind(v));
		return -1;
	}
	b->ref = v;
	return 0;
}

#define BOTH (IN_RULE | IN_PROFILE)
static const struct body_key body_keys[] = {
	{"tls", read_tls, REQ(TLSP_REQ_TLS), 0, BOTH},
	{"min_version", read_version, REQ(TLSP_REQ_MIN_VERSION), 0, BOTH},
	{"max_version", read_version, REQ(TLSP_REQ_MAX_VERSION), 0, BOTH},
	{"min_cipher_bits", read_min_bits, REQ(TLSP_REQ_MIN_CIPHER_BITS), 0,
	 BOTH},
	{"ciphers", read_ciphers, 0, 0, BOTH},
	{"forward_secrecy", read_fs, REQ(TLSP_REQ_FORWARD_SECRECY), 0, BOTH},
	{"client_cert", read_client_cert, REQ(TLSP_REQ_CLIENT_CERT), 0, BOTH},
	{"subject", read_subject, REQ(TLSP_REQ_SUBJECT), 0, BOTH},
	{"issuer", read_issuer, REQ(TLSP_REQ_ISSUER), 0, BOTH},
	{"fingerprints", read_fingerprints, REQ(TLSP_REQ_FINGERPRINT), 0, BOTH},
	{"client_addr", read_client_addr, REQ(TLSP_REQ_CLIENT_ADDR), 0, BOTH},
	{"client_name", read_client_name, REQ(TLSP_REQ_CLIENT_NAME), 0, BOTH},
	{"action", read_action, 0, O_ACTION, BOTH},
	{"mode", read_mode, 0, O_MODE, BOTH},
	{"reply", read_reply, 0, O_REPLY, BOTH},
	{"on_unobservable", read_unobs, 0, O_UNOBS, BOTH},
	{"scope", read_scope, 0, O_SCOPE, BOTH},
	{"compliance", read_compliance, 0, O_COMPLIANCE, BOTH},
	{"profile", read_ref, 0, 0, IN_RULE},
	{"extends", read_ref, 0, 0, IN_PROFILE},
	{"enforce_from", read_enforce_from, 0, O_SCHEDULE, BOTH},
};
#undef BOTH
#define NBODY_KEYS (sizeof(body_keys) / sizeof(body_keys[0]))

static const struct body_key *
find_body_key(const char *name)
{
	size_t i;

	for (i = 0; i < NBODY_KEYS; i++)
		if (strcmp(name, body_keys[i].name) == 0)
			return &body_keys[i];
	return NULL;
}

static void
unknown_key(struct walk *w, const struct tlsp_ynode *k, const char *where,
	    int is_profile)
{
	const char *names[NBODY_KEYS], *near;
	size_t i;

	if (strcmp(k->str, is_profile ? "profile" : "extends") == 0) {
		tlsp_schema_error(
			&w->c, k, where,
			is_profile ? "a profile inherits with 'extends', "
				     "not 'profile'"
				   : "'extends' is for profiles; a rule "
				     "names its profile with 'profile'");
		return;
	}
	for (i = 0; i < NBODY_KEYS; i++)
		names[i] = body_keys[i].name;
	near = tlsp_diag_suggest(k->str, names, NBODY_KEYS);
	tlsp_schema_error(&w->c, k, where, "unknown key '%.64s'%s%s%s", k->str,
			  near ? "; did you mean '" : "", near ? near : "",
			  near ? "'?" : "");
}

/* Reads a rule or profile body: a mapping, or a bare profile name. */
static int
parse_body(struct walk *w, const struct tlsp_ynode *y, const char *where,
	   int is_profile, struct body *b)
{
	size_t i;
	int rc = 0;

	memset(b, 0, sizeof(*b));
	b->node = y;
	if (tlsp_schema_is_empty(y))
		return 0;
	if (y->type == TLSP_YNODE_SCALAR && !is_profile) {
		b->ref = y;
		b->only_ref = 1;
		return 0;
	}
	if (y->type != TLSP_YNODE_MAP) {
		tlsp_schema_error(&w->c, y, where,
				  "expected a mapping of requirements%s, "
				  "found %s",
				  is_profile ? "" : " or a profile name",
				  tlsp_ytree_kind(y));
		return -1;
	}
	for (i = 0; i < y->n; i++) {
		const struct tlsp_ynode *k = y->kids[2 * i],
					*v = y->kids[2 * i + 1];
		const struct body_key *key;

		key = k->type == TLSP_YNODE_SCALAR ? find_body_key(k->str)
						   : NULL;
		if (key == NULL ||
		    !(key->in & (is_profile ? IN_PROFILE : IN_RULE))) {
			if (k->type == TLSP_YNODE_SCALAR)
				unknown_key(w, k, where, is_profile);
			else
				tlsp_schema_error(&w->c, k, where,
						  "a key must be a string");
			rc = -1;
			continue;
		}
		if (key->read(w, key, v, where, b) < 0)
			rc = -1;
		b->stated |= key->stated;
		b->other |= key->other;
	}
	b->only_ref = b->ref && !b->stated && !b->other;
	return rc;
}

/* Layers what a body states over an inherited spec. An empty value
 * (client_cert: none, subject: [], min_cipher_bits: 0) lifts an
 * inherited requirement. */
static int
apply(struct walk *w, struct rstate *rs, const struct body *b)
{
	struct tlsp_reqs *q = &rs->spec.req;
	const struct tlsp_reqs *s = &b->req;
	unsigned st = b->stated, on = 0, off = 0;

#define BIT(r) (1u << (r))
#define TAKE(r, cond)                                                          \
	((st & BIT(r)) ? ((cond) ? (on |= BIT(r)) : (off |= BIT(r))) : 0)
	if (st & BIT(TLSP_REQ_TLS)) {
		q->tls_required = s->tls_required;
		rs->tls_stated = 1;
	}
	TAKE(TLSP_REQ_TLS, s->tls_required);
	if (st & BIT(TLSP_REQ_MIN_VERSION))
		q->min_version = s->min_version;
	TAKE(TLSP_REQ_MIN_VERSION, 1);
	if (st & BIT(TLSP_REQ_MAX_VERSION))
		q->max_version = s->max_version;
	TAKE(TLSP_REQ_MAX_VERSION, 1);
	if (st & BIT(TLSP_REQ_MIN_CIPHER_BITS))
		q->min_cipher_bits = s->min_cipher_bits;
	TAKE(TLSP_REQ_MIN_CIPHER_BITS, s->min_cipher_bits > 0);
	if (st & BIT(TLSP_REQ_CIPHER_ALLOW)) {
		q->allow_names = s->allow_names;
		q->nallow = s->nallow;
		q->allow_families = s->allow_families;
	}
	TAKE(TLSP_REQ_CIPHER_ALLOW, s->nallow || s->allow_families);
	if (st & BIT(TLSP_REQ_CIPHER_DENY)) {
		q->deny_names = s->deny_names;
		q->ndeny = s->ndeny;
		q->deny_families = s->deny_families;
	}
	TAKE(TLSP_REQ_CIPHER_DENY, s->ndeny || s->deny_families);
	if (st & BIT(TLSP_REQ_FORWARD_SECRECY))
		q->forward_secrecy = s->forward_secrecy;
	TAKE(TLSP_REQ_FORWARD_SECRECY, s->forward_secrecy);
	if (st & BIT(TLSP_REQ_CLIENT_CERT))
		q->client_cert = s->client_cert;
	TAKE(TLSP_REQ_CLIENT_CERT, s->client_cert != TLSP_CERT_NONE);
	if (st & BIT(TLSP_REQ_SUBJECT)) {
		q->subject = s->subject;
		q->nsubject = s->nsubject;
	}
	TAKE(TLSP_REQ_SUBJECT, s->nsubject > 0);
	if (st & BIT(TLSP_REQ_ISSUER)) {
		q->issuer = s->issuer;
		q->nissuer = s->nissuer;
	}
	TAKE(TLSP_REQ_ISSUER, s->nissuer > 0);
	if (st & BIT(TLSP_REQ_FINGERPRINT)) {
		q->fingerprints = s->fingerprints;
		q->nfp = s->nfp;
	}
	TAKE(TLSP_REQ_FINGERPRINT, s->nfp > 0);
	if (st & BIT(TLSP_REQ_CLIENT_ADDR))
		q->client_addrs = s->client_addrs;
	TAKE(TLSP_REQ_CLIENT_ADDR, s->client_addrs.n > 0);
	if (st & BIT(TLSP_REQ_CLIENT_NAME)) {
		q->hosts = s->hosts;
		q->nhosts = s->nhosts;
	}
	TAKE(TLSP_REQ_CLIENT_NAME, s->nhosts > 0);
#undef TAKE
	q->set = (q->set | on) & ~off;

	if (b->other & O_ACTION)
		rs->spec.action = (enum tlsp_action)b->action;
	if (b->other & O_MODE) {
		rs->spec.mode = (enum tlsp_mode)b->mode;
		rs->spec.enforce_from = 0; /* a mode stated is the whole mode */
	}
	if (b->other & O_SCHEDULE) {
		rs->spec.mode = TLSP_MODE_MONITOR;
		rs->spec.enforce_from = b->enforce_from;
	}
	if (b->other & O_UNOBS)
		rs->spec.on_unobservable_fail = b->unobs_fail;
	if (b->other & O_COMPLIANCE)
		rs->spec.compliance |= b->compliance; /* profiles' and own */
	if (b->other & O_REPLY) {
		rs->reply_node = b->reply;
		rs->spec.reply = tlsp_arena_strndup(w->c.a, b->reply->str,
						    b->reply->len);
		if (rs->spec.reply == NULL)
			return -1;
	}
	if (b->scope_set & TLSP_SCOPE_AUTH)
		rs->scope.exempt_authenticated = b->scope.exempt_authenticated;
	if (b->scope_set & TLSP_SCOPE_DAEMONS) {
		rs->scope.daemons = b->scope.daemons;
		rs->scope.ndaemons = b->scope.ndaemons;
	}
	if (b->scope_set & TLSP_SCOPE_CLIENTS) {
		rs->scope.exempt_clients = b->scope.exempt_clients;
		rs->scope.nclients = b->scope.nclients;
	}
	rs->scope_set |= b->scope_set;
	return 0;
}

/* The requirements on who the client is, not on its TLS session. */
#define CLIENT_REQS (BIT(TLSP_REQ_CLIENT_ADDR) | BIT(TLSP_REQ_CLIENT_NAME))

/* Tells the policy editor which requirements an MTA cannot evidence. */
static void
warn_unobservable(struct walk *w, const struct tlsp_spec *sp,
		  const struct tlsp_ynode *at, const char *where)
{
	const struct tlsp_reqs *q = &sp->req;
	const char *then = sp->on_unobservable_fail ? "fails" : "is ignored";
	size_t i;

	/* Sendmail (8.14 on) honours the macro lists the milter asks for
	 * at MAIL and RCPT: {verify} and the fingerprint come whatever
	 * confMILTER_MACROS_* say (seen with 8.17, tests/e2e/SENDMAIL-NOTES.md).
	 * Which digest comes depends on CertFingerprintAlgorithm. */
	if (w->c.mta == TLSP_MTA_SENDMAIL) {
		/* Sendmail's {client_name} is its PTR lookup, and only
		 * {client_resolve} says whether it was verified. */
		if (q->set & BIT(TLSP_REQ_CLIENT_NAME))
			tlsp_schema_warn(
				&w->c, at, where,
				"on Sendmail, 'client_name' is matched only "
				"when {client_resolve} is OK; the milter asks "
				"for {client_name} and {client_resolve} at MAIL "
				"and RCPT (Sendmail 8.14 and later send them); "
				"for older ones add both to "
				"confMILTER_MACROS_ENVFROM and "
				"confMILTER_MACROS_ENVRCPT (see "
				"contrib/sendmail/tlspolicy.mc.snippet)");
		if (q->set & BIT(TLSP_REQ_FINGERPRINT))
			tlsp_schema_warn(
				&w->c, at, where,
				"on Sendmail, 'fingerprints' are compared "
				"with {cert_fp}, in the digest of "
				"CertFingerprintAlgorithm "
				"(confCERT_FINGERPRINT_ALGORITHM), or without "
				"that option with {cert_md5} (MD5): pin that "
				"digest");
		return;
	}
	if ((q->set & BIT(TLSP_REQ_CLIENT_CERT)) &&
	    q->client_cert == TLSP_CERT_PRESENTED)
		tlsp_schema_warn(
			&w->c, at, where,
			"on Postfix, 'client_cert: presented' "
			"can only be seen as 'verified' (Postfix shows no "
			"untrusted certificate); otherwise it %s",
			then);
	for (i = 0; (q->set & BIT(TLSP_REQ_SUBJECT)) && i < q->nsubject; i++)
		if (q->subject[i].full_dn)
			tlsp_schema_warn(
				&w->c, at, where,
				"on Postfix, subject '%.80s' "
				"cannot be checked (Postfix sends only the CN); "
				"it %s",
				q->subject[i].text, then);
	for (i = 0; (q->set & BIT(TLSP_REQ_ISSUER)) && i < q->nissuer; i++)
		if (q->issuer[i].full_dn)
			tlsp_schema_warn(
				&w->c, at, where,
				"on Postfix, issuer '%.80s' "
				"cannot be checked (Postfix sends only the CN); "
				"it %s",
				q->issuer[i].text, then);
	if (q->set & BIT(TLSP_REQ_FINGERPRINT))
		tlsp_schema_warn(
			&w->c, at, where,
			"on Postfix, 'fingerprints' cannot be "
			"checked (Postfix sends no fingerprint); it %s",
			then);
}

static int
check_reply(struct walk *w, const struct rstate *rs, const struct body *b,
	    const char *where)
{
	const struct tlsp_ynode *at = b->node;
	enum tlsp_action act = rs->spec.action;
	const struct tlsp_ynode *r = rs->reply_node;
	char want;

	if (r == NULL)
		return 0;
	if (act != TLSP_ACTION_REJECT && act != TLSP_ACTION_DEFER) {
		if (b->other & O_REPLY)
			tlsp_schema_warn(&w->c, at, where,
					 "'reply' is used only with "
					 "reject or defer; action is %s",
					 tlsp_action_name(act));
		return 0;
	}
	want = act == TLSP_ACTION_REJECT ? '5' : '4';
	/* An inherited mismatch was reported where it was made. */
	if (r->str[0] == want || !(b->other & (O_REPLY | O_ACTION)))
		return 0;
	tlsp_schema_error(&w->c, at, where,
			  "action %s needs a %cxx reply, but the "
			  "reply (line %u) is '%.3s'",
			  tlsp_action_name(act), want, r->line, r->str);
	return -1;
}

/* Makes the spec a resolved state describes, checking it as a whole. */
/*
 * Rules whose resolved requirements are plain values (no cipher names,
 * subjects, issuers, fingerprints or reply; the global scope) and equal
 * share one spec: a million "{min_version: TLSv1.2, action: reject}"
 * rules keep one copy, not a million (160 bytes each).
 */
static int
plain_spec(const struct tlsp_spec *s)
{
	const struct tlsp_reqs *q = &s->req;

	return q->nallow == 0 && q->ndeny == 0 && q->nsubject == 0 &&
	       q->nissuer == 0 && q->nfp == 0 && q->client_addrs.n == 0 &&
	       q->nhosts == 0 && s->reply == NULL;
}

static int
same_spec(const struct tlsp_spec *a, const struct tlsp_spec *b)
{
	const struct tlsp_reqs *x = &a->req, *y = &b->req;

	return x->set == y->set && x->tls_required == y->tls_required &&
	       x->min_version == y->min_version &&
	       x->max_version == y->max_version &&
	       x->min_cipher_bits == y->min_cipher_bits &&
	       x->allow_families == y->allow_families &&
	       x->deny_families == y->deny_families &&
	       x->forward_secrecy == y->forward_secrecy &&
	       x->client_cert == y->client_cert && a->scope == b->scope &&
	       a->action == b->action && a->mode == b->mode &&
	       a->on_unobservable_fail == b->on_unobservable_fail &&
	       a->profile == b->profile && a->enforce_from == b->enforce_from;
}

static size_t
spec_hash(const struct tlsp_spec *s)
{
	const struct tlsp_reqs *q = &s->req;
	size_t h = q->set;

	h = h * 31 + (size_t)q->min_version * 7 + (size_t)q->max_version;
	h = h * 31 + (size_t)q->min_cipher_bits + (size_t)q->client_cert;
	h = h * 31 + q->allow_families + q->deny_families * 3u;
	h = h * 31 + (size_t)s->action * 5 + (size_t)s->mode;
	h = h * 31 + (size_t)(uintptr_t)s->profile / 8;
	h = h * 31 + (size_t)s->enforce_from;
	return h * 2654435761u;
}

/* The spec already made that equals s, or NULL. */
static struct tlsp_spec *
share_spec(struct walk *w, const struct tlsp_spec *s)
{
	size_t i;

	if (!plain_spec(s) || w->shared_cap == 0)
		return NULL;
	for (i = spec_hash(s) & (w->shared_cap - 1); w->shared[i];
	     i = (i + 1) & (w->shared_cap - 1))
		if (same_spec(w->shared[i], s))
			return w->shared[i];
	return NULL;
}

static void
remember_spec(struct walk *w, struct tlsp_spec *s)
{
	size_t i;

	if ((w->shared_used + 1) * 2 > w->shared_cap) {
		size_t cap = w->shared_cap ? w->shared_cap * 2 : 64, j;
		struct tlsp_spec **t = calloc(cap, sizeof(*t));

		if (t == NULL)
			return; /* not shared: only memory is lost */
		for (j = 0; j < w->shared_cap; j++) {
			if (w->shared[j] == NULL)
				continue;
			for (i = spec_hash(w->shared[j]) & (cap - 1); t[i];
			     i = (i + 1) & (cap - 1))
				;
			t[i] = w->shared[j];
		}
		free(w->shared);
		w->shared = t;
		w->shared_cap = cap;
	}
	for (i = spec_hash(s) & (w->shared_cap - 1); w->shared[i];
	     i = (i + 1) & (w->shared_cap - 1))
		;
	w->shared[i] = s;
	w->shared_used++;
}

static struct tlsp_spec *
finalize(struct walk *w, struct rstate *rs, const struct body *b,
	 const char *where)
{
	const struct tlsp_ynode *at = b->node;
	struct tlsp_reqs *q = &rs->spec.req;
	struct tlsp_spec *sp;
	int bad = 0;

	/* Any TLS requirement implies TLS; who the client is does not. */
	if (!rs->tls_stated && (q->set & ~(BIT(TLSP_REQ_TLS) | CLIENT_REQS))) {
		q->tls_required = 1;
		q->set |= BIT(TLSP_REQ_TLS);
	}
	if ((q->set & BIT(TLSP_REQ_MIN_VERSION)) &&
	    (q->set & BIT(TLSP_REQ_MAX_VERSION)) &&
	    q->min_version > q->max_version) {
		tlsp_schema_error(&w->c, at, where,
				  "min_version %s is above max_version "
				  "%s",
				  tlsp_version_name(q->min_version),
				  tlsp_version_name(q->max_version));
		bad = 1;
	}
	if (check_reply(w, rs, b, where) < 0)
		bad = 1;
	if ((b->other & O_SCHEDULE) && (b->other & O_MODE) &&
	    b->mode == TLSP_MODE_ENFORCE) {
		tlsp_schema_error(&w->c, b->sched, where,
				  "'enforce_from' schedules a monitored rule; "
				  "this one says 'mode: enforce'");
		bad = 1;
	}
	if (rs->scope_set == 0) {
		struct tlsp_spec cand = rs->spec, *same;

		cand.scope = w->global;
		if ((same = share_spec(w, &cand)) != NULL) {
			if (!bad)
				warn_unobservable(w, same, at, where);
			return bad ? NULL : same;
		}
	}
	sp = tlsp_arena_alloc(w->c.a, sizeof(*sp));
	if (sp == NULL) {
		w->c.oom = 1;
		return NULL;
	}
	*sp = rs->spec;
	if (rs->scope_set == 0) {
		sp->scope = w->global;
		if (plain_spec(sp))
			remember_spec(w, sp);
	} else {
		struct tlsp_scope *s = tlsp_arena_alloc(w->c.a, sizeof(*s));

		if (s == NULL) {
			w->c.oom = 1;
			return NULL;
		}
		*s = rs->scope;
		sp->scope = s;
	}
	w->c.pol->nspecs++;
	if (!bad)
		warn_unobservable(w, sp, at, where);
	return bad ? NULL : sp;
}
#undef BIT

static struct profile *resolve_profile(struct walk *, struct profile *);

/* Starts a state from the profile a body names, or from the defaults. */
static int
inherit(struct walk *w, const struct body *b, const char *where,
	struct rstate *rs)
{
	struct profile *p;
	const char *near;

	*rs = w->defaults;
	if (b->ref == NULL)
		return 0;
	p = find_profile(w, b->ref->str);
	if (p == NULL) {
		const char **names = malloc((w->nprofs + 1) * sizeof(*names));
		size_t i;

		for (i = 0; names && i < w->nprofs; i++)
			names[i] = w->profs[i].name;
		near = names ? tlsp_diag_suggest(b->ref->str, names, w->nprofs)
			     : NULL;
		tlsp_schema_error(&w->c, b->ref, where,
				  "unknown profile '%.64s'%s%s%s", b->ref->str,
				  near ? "; did you mean '" : "",
				  near ? near : "", near ? "'?" : "");
		free(names);
		return -1;
	}
	if (resolve_profile(w, p) == NULL)
		return -1;
	*rs = p->rs;
	rs->spec.profile = p->name;
	return 0;
}

static struct profile *
resolve_profile(struct walk *w, struct profile *p)
{
	char where[160], b[100];

	if (p->state == 2)
		return p;
	if (p->state == 3)
		return NULL;
	snprintf(where, sizeof(where), "profiles: %s",
		 printable(p->name, b, sizeof(b)));
	if (p->state == 1) {
		tlsp_schema_error(
			&w->c, p->body.ref ? p->body.ref : p->key, where,
			"profile '%s' extends itself (a cycle through "
			"'extends')",
			b);
		p->state = 3;
		return NULL;
	}
	p->state = 1;
	if (inherit(w, &p->body, where, &p->rs) < 0 ||
	    apply(w, &p->rs, &p->body) < 0) {
		p->state = 3;
		return NULL;
	}
	/* Named before finalize: a finished spec may be shared, and is
	 * never written again. */
	p->rs.spec.profile = p->name;
	if ((p->spec = finalize(w, &p->rs, &p->body, where)) == NULL) {
		p->state = 3;
		return NULL;
	}
	p->state = 2;
	return p;
}

static int
read_profiles(struct walk *w, const struct tlsp_ynode *y)
{
	size_t i;
	int rc = 0;

	if (tlsp_schema_is_empty(y))
		return 0;
	if (y->type != TLSP_YNODE_MAP) {
		tlsp_schema_error(&w->c, y, NULL,
				  "'profiles' expects a mapping of "
				  "profile names, found %s",
				  tlsp_ytree_kind(y));
		return -1;
	}
	w->profs = tlsp_arena_alloc(w->c.a,
				    (y->n ? y->n : 1) * sizeof(*w->profs));
	if (w->profs == NULL)
		return w->c.oom = 1, -1;
	for (i = 0; i < y->n; i++) {
		const struct tlsp_ynode *k = y->kids[2 * i];
		struct profile *p = &w->profs[w->nprofs];
		char where[160], b[100];

		if (k->type != TLSP_YNODE_SCALAR || k->len == 0 ||
		    k->len > 64 ||
		    strspn(k->str, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
				   "RSTUVWXYZ0123456789_.-") != k->len) {
			tlsp_schema_error(&w->c, k, "profiles",
					  "a profile name is 1 to 64 "
					  "letters, digits, '_', '.' or '-'");
			rc = -1;
			continue;
		}
		snprintf(where, sizeof(where), "profiles: %s",
			 printable(k->str, b, sizeof(b)));
		p->name = tlsp_arena_strndup(w->c.a, k->str, k->len);
		p->key = k;
		if (p->name == NULL)
			return w->c.oom = 1, -1;
		if (parse_body(w, y->kids[2 * i + 1], where, 1, &p->body) < 0) {
			p->state = 3;
			rc = -1;
		}
		if (p->body.node->type != TLSP_YNODE_MAP)
			p->body.node = k;
		w->nprofs++;
	}
	for (i = 0; i < w->nprofs; i++)
		if (resolve_profile(w, &w->profs[i]) == NULL)
			rc = -1;
	w->c.pol->nprofiles = w->nprofs;
	return rc;
}

enum pat_kind { PAT_EXACT, PAT_SUB, PAT_DEFAULT, PAT_NULL };

/* Normalises a rule's pattern into `out`; returns its kind or -1. */
static int
parse_pattern(struct walk *w, const struct tlsp_ynode *k,
	      enum tlsp_direction dir, char *out, size_t outsz)
{
	const char *s = k->str, *why = NULL;
	struct tlsp_addr addr;
	char tmp[TLSP_DOMAIN_MAX + 8];
	int kind = PAT_EXACT;

	if (k->type == TLSP_YNODE_SEQ) {
		tlsp_schema_error(&w->c, k, NULL,
				  "a rule's key must be a domain pattern; "
				  "quote address literals: \"[192.0.2.1]\"");
		return -1;
	}
	if (k->type != TLSP_YNODE_SCALAR || k->len == 0) {
		tlsp_schema_error(&w->c, k, NULL,
				  "a rule's key must be a domain pattern");
		return -1;
	}
	if (strcasecmp(s, "default") == 0)
		return PAT_DEFAULT;
	if (strcmp(s, "<>") == 0) {
		if (dir == TLSP_DIR_SENDER)
			return PAT_NULL;
		tlsp_schema_error(&w->c, k, "recipients",
				  "'<>' is the null sender; it "
				  "belongs under 'senders'");
		return -1;
	}
	if (s[0] == '[') {
		if (k->len < sizeof(tmp) - 3) {
			snprintf(tmp, sizeof(tmp), "x@%s", s);
			if (tlsp_addr_parse(tmp, &addr) == TLSP_ADDR_LITERAL) {
				snprintf(out, outsz, "%s", addr.domain);
				return PAT_EXACT;
			}
		}
		why = "not an address literal like [192.0.2.1] or "
		      "[IPv6:2001:db8::1]";
	} else {
		if (s[0] == '*' && s[1] == '.')
			s += 2, kind = PAT_SUB;
		else if (s[0] == '.')
			s += 1, kind = PAT_SUB;
		if (tlsp_domain_normalize(s, out, outsz, &why) == 0)
			return kind;
	}
	{
		char b[100];

		tlsp_schema_error(&w->c, k,
				  dir == TLSP_DIR_SENDER ? "senders"
							 : "recipients",
				  "'%s' is not a domain pattern: %s",
				  printable(k->str, b, sizeof(b)),
				  why ? why : "invalid");
	}
	return -1;
}

/* Files a rule under its pattern, refusing a second rule for the same
 * normalised pattern ("Example.COM." and "example.com" are one). */
static int
index_rule(struct walk *w, struct tlsp_ruleset *set, struct tlsp_rule *r,
	   int kind, const struct tlsp_ynode *k)
{
	const struct tlsp_rule **slot;
	struct tlsp_domtab_entry *e;

	if (kind == PAT_DEFAULT) {
		slot = &set->deflt;
	} else if (kind == PAT_NULL) {
		slot = &set->null_sender;
	} else {
		e = tlsp_domtab_upsert(&set->tab, kind == PAT_SUB
							  ? r->pattern + 1
							  : r->pattern);
		if (e == NULL)
			return w->c.oom = 1, -1;
		slot = kind == PAT_SUB ? &e->sub : &e->exact;
	}
	if (*slot && (*slot)->file != r->file) {
		tlsp_schema_error(&w->c, k, NULL,
				  "duplicate pattern '%s' (the same as "
				  "%s:%u:%u)",
				  r->pattern,
				  w->c.pol->files[(*slot)->file].path,
				  (*slot)->line, (*slot)->col);
		return -1;
	}
	if (*slot) {
		tlsp_schema_error(&w->c, k, NULL,
				  "duplicate pattern '%s' (the same as "
				  "line %u, column %u)",
				  r->pattern, (*slot)->line, (*slot)->col);
		return -1;
	}
	*slot = r;
	return 0;
}

/* Reply texts with %{rule} vary per rule: check each rendering fits. */
static int
check_rule_reply(struct walk *w, const struct tlsp_rule *r,
		 const struct tlsp_ynode *k)
{
	char buf[1024];
	int len, pct = 0, i;

	if (r->spec->reply == NULL)
		return 0;
	len = tlsp_reply_render(r, 0, buf, sizeof(buf));
	for (i = 0; len > 0 && i < len; i++)
		pct += buf[i] == '%';
	/* libmilter takes the text as a format: each '%' goes out as "%%". */
	if (len < 0 || len + pct > 980) {
		tlsp_schema_error(&w->c, k, r->name,
				  "the reply is longer than 980 "
				  "characters");
		return -1;
	}
	return 0;
}

static int make_spec(struct walk *, const struct tlsp_ynode *,
		     const struct tlsp_ynode *, struct tlsp_rule *);

static int
read_rule(struct walk *w, const struct tlsp_ynode *k,
	  const struct tlsp_ynode *v, enum tlsp_direction dir,
	  struct tlsp_ruleset *set)
{
	const char *prefix = dir == TLSP_DIR_SENDER ? "sender:" : "recipient:";
	char norm[TLSP_DOMAIN_MAX + 8], name[TLSP_DOMAIN_MAX + 32];
	struct tlsp_rule *r = &w->c.pol->rules[w->c.pol->nrules];
	int kind;

	kind = parse_pattern(w, k, dir, norm, sizeof(norm));
	if (kind < 0)
		return -1;
	{ /* "recipient:" ["."] pattern, without snprintf: a million rules */
		const char *pat = kind == PAT_DEFAULT ? "default"
				  : kind == PAT_NULL  ? "<>"
						      : norm;
		size_t pl = strlen(prefix), dl = kind == PAT_SUB,
		       nl = strlen(pat);

		memcpy(name, prefix, pl);
		memcpy(name + pl, ".", dl);
		memcpy(name + pl + dl, pat, nl + 1);
		r->name = tlsp_arena_strndup(w->c.a, name, pl + dl + nl);
		if (r->name == NULL)
			return w->c.oom = 1, -1;
		r->pattern = r->name + pl;
	}
	r->line = k->line;
	r->col = k->col;
	r->file = (uint16_t)w->file_index;
	r->dir = (uint8_t)dir;
	r->is_default = kind == PAT_DEFAULT;
	if (make_spec(w, k, v, r) < 0)
		return -1;
	w->c.pol->nrules++;
	if (index_rule(w, set, r, kind, k) < 0)
		return -1;
	return check_rule_reply(w, r, k);
}

/* Reads a rule's body into r->spec (named and placed by the caller). */
static int
make_spec(struct walk *w, const struct tlsp_ynode *k,
	  const struct tlsp_ynode *v, struct tlsp_rule *r)
{
	struct body b;
	struct rstate rs;

	if (parse_body(w, v, r->name, 0, &b) < 0)
		return -1;
	if (b.node->type != TLSP_YNODE_MAP)
		b.node = k;
	if (b.ref == NULL && !b.stated && !b.other) {
		r->spec = w->empty_spec;
	} else if (b.only_ref) {
		struct profile *p;

		if (inherit(w, &b, r->name, &rs) < 0)
			return -1;
		p = find_profile(w, b.ref->str);
		if (p == NULL) /* cannot be: inherit() found it */
			return -1;
		r->spec = p->spec;
	} else if (inherit(w, &b, r->name, &rs) < 0 || apply(w, &rs, &b) < 0 ||
		   (r->spec = finalize(w, &rs, &b, r->name)) == NULL) {
		return -1;
	}
	return 0;
}

static int
read_rules(struct walk *w, const struct tlsp_ynode *y, enum tlsp_direction dir,
	   struct tlsp_ruleset *set)
{
	const char *what = dir == TLSP_DIR_SENDER ? "senders" : "recipients";
	size_t i;
	int rc = 0;

	if (tlsp_schema_is_empty(y))
		return 0;
	if (y->type != TLSP_YNODE_MAP) {
		tlsp_schema_error(&w->c, y, NULL,
				  "'%s' expects a mapping of domain "
				  "patterns to rules, found %s",
				  what, tlsp_ytree_kind(y));
		return -1;
	}
	for (i = 0; i < y->n && !w->c.oom; i++) {
		if (read_rule(w, y->kids[2 * i], y->kids[2 * i + 1], dir, set) <
		    0)
			rc = -1;
		/* A million bad rules need not be reported a million times. */
		if (w->c.d->truncated)
			return -1;
	}
	return rc;
}

/* ---------------------------------------------------------------- pairs */

/* A pair's side: a domain or subdomain pattern, never default or <>. */
static int
pair_side(struct walk *w, const struct tlsp_ynode *k, enum tlsp_direction dir,
	  char *out, size_t outsz)
{
	int kind;

	if (k->type == TLSP_YNODE_SCALAR && strcmp(k->str, "<>") == 0) {
		tlsp_schema_error(&w->c, k, "pairs",
				  "a pair names domain patterns; '<>' (the "
				  "null sender) has its rule under 'senders'");
		return -1;
	}
	kind = parse_pattern(w, k, dir, out, outsz);
	if (kind == PAT_DEFAULT) {
		tlsp_schema_error(&w->c, k, "pairs",
				  "a pair names a %s domain pattern; "
				  "'default' belongs under '%s'",
				  dir == TLSP_DIR_SENDER ? "sender"
							 : "recipient",
				  dir == TLSP_DIR_SENDER ? "senders"
							 : "recipients");
		return -1;
	}
	return kind;
}

/* The pair set of one sender pattern, made on first use. */
static struct tlsp_pairset *
pair_sender(struct walk *w, const struct tlsp_ynode *k, const char *norm,
	    int kind, size_t nrcpts)
{
	struct tlsp_domtab_entry *e;
	struct tlsp_pairset *ps;
	const struct tlsp_rule **slot;
	char *key = tlsp_arena_strndup(w->c.a, norm, strlen(norm));

	if (key == NULL ||
	    (e = tlsp_domtab_upsert(&w->c.pol->pairs, key)) == NULL)
		return w->c.oom = 1, NULL;
	slot = kind == PAT_SUB ? &e->sub : &e->exact;
	if (*slot != NULL) {
		tlsp_schema_error(&w->c, k, "pairs",
				  "duplicate sender pattern '%s%s' (the same "
				  "as line %u, column %u)",
				  kind == PAT_SUB ? "." : "", norm,
				  (*slot)->line, (*slot)->col);
		return NULL;
	}
	ps = tlsp_arena_alloc(w->c.a, sizeof(*ps));
	if (ps == NULL || tlsp_domtab_init(&ps->rcpts, nrcpts) < 0)
		return w->c.oom = 1, NULL;
	ps->hdr.line = k->line;
	ps->hdr.col = k->col;
	*slot = &ps->hdr;
	return ps;
}

/* One pair rule: "pair:" SENDER ">" RECIPIENT, each with its dot. */
static int
read_pair(struct walk *w, struct tlsp_pairset *ps, const char *sname,
	  const struct tlsp_ynode *k, const struct tlsp_ynode *v)
{
	struct tlsp_rule *r = &w->c.pol->rules[w->c.pol->nrules];
	char norm[TLSP_DOMAIN_MAX + 8], name[2 * TLSP_DOMAIN_MAX + 32];
	struct tlsp_domtab_entry *e;
	const struct tlsp_rule **slot;
	int kind, n;

	if ((kind = pair_side(w, k, TLSP_DIR_RECIPIENT, norm, sizeof(norm))) <
	    0)
		return -1;
	n = snprintf(name, sizeof(name), "pair:%s>%s%s", sname,
		     kind == PAT_SUB ? "." : "", norm);
	r->name = tlsp_arena_strndup(w->c.a, name, (size_t)n);
	if (r->name == NULL)
		return w->c.oom = 1, -1;
	r->pattern = r->name + 5; /* "sender>recipient", for %{rule} */
	r->line = k->line;
	r->col = k->col;
	r->dir = TLSP_DIR_PAIR;
	if (make_spec(w, k, v, r) < 0)
		return -1;
	w->c.pol->nrules++;
	w->c.pol->npairs++;
	/* the recipient's side, the table's key */
	if ((e = tlsp_domtab_upsert(&ps->rcpts, strrchr(r->name, '>') + 1 +
							(kind == PAT_SUB))) ==
	    NULL)
		return w->c.oom = 1, -1;
	slot = kind == PAT_SUB ? &e->sub : &e->exact;
	if (*slot) {
		tlsp_schema_error(&w->c, k, r->name,
				  "duplicate pair (the same as line %u, "
				  "column %u)",
				  (*slot)->line, (*slot)->col);
		return -1;
	}
	*slot = r;
	return check_rule_reply(w, r, k);
}

/* The number of pair rules the section holds, for the rules array. */
static size_t
count_pairs(const struct tlsp_ynode *y)
{
	size_t i, n = 0;

	for (i = 0; y && y->type == TLSP_YNODE_MAP && i < y->n; i++)
		if (y->kids[2 * i + 1]->type == TLSP_YNODE_MAP)
			n += y->kids[2 * i + 1]->n;
	return n;
}

/* pairs: {SENDER: {RECIPIENT: rule}}: the rule for mail from SENDER to
 * RECIPIENT, which replaces both directions' rules (evaluate.c). */
static int
read_pairs(struct walk *w, const struct tlsp_ynode *y)
{
	size_t i, j;
	int rc = 0;

	if (tlsp_domtab_init(&w->c.pol->pairs, y ? y->n : 0) < 0)
		return w->c.oom = 1, -1;
	if (tlsp_schema_is_empty(y))
		return 0;
	if (y->type != TLSP_YNODE_MAP) {
		tlsp_schema_error(&w->c, y, NULL,
				  "'pairs' expects a mapping of sender domain "
				  "patterns, found %s",
				  tlsp_ytree_kind(y));
		return -1;
	}
	for (i = 0; i < y->n && !w->c.oom; i++) {
		const struct tlsp_ynode *k = y->kids[2 * i],
					*v = y->kids[2 * i + 1];
		char norm[TLSP_DOMAIN_MAX + 8], sname[TLSP_DOMAIN_MAX + 8];
		struct tlsp_pairset *ps;
		int kind = pair_side(w, k, TLSP_DIR_SENDER, norm, sizeof(norm));

		if (kind < 0) {
			rc = -1;
			continue;
		}
		if (v->type != TLSP_YNODE_MAP) {
			tlsp_schema_error(&w->c, v, "pairs",
					  "a sender in 'pairs' maps recipient "
					  "domain patterns to rules, found %s",
					  tlsp_ytree_kind(v));
			rc = -1;
			continue;
		}
		if ((ps = pair_sender(w, k, norm, kind, v->n)) == NULL) {
			rc = -1;
			continue;
		}
		snprintf(sname, sizeof(sname), "%s%s",
			 kind == PAT_SUB ? "." : "", norm);
		for (j = 0; j < v->n && !w->c.oom; j++)
			if (read_pair(w, ps, sname, v->kids[2 * j],
				      v->kids[2 * j + 1]) < 0)
				rc = -1;
		if (w->c.d->truncated)
			return -1;
	}
	return rc;
}

/* The top-level keys; each is read by its own code, so no handler here.
 * The code says where a key may be: TOP_IN_INCLUDED, in an included
 * file too; 0, in the main file only. */
#define TOP_IN_INCLUDED 1
static const struct tlsp_name_code top_keys[] = {
	{"version", 0},
	{"on_unobservable", 0},
	{"scope", 0},
	{"profiles", 0},
	{"recipients", TOP_IN_INCLUDED},
	{"senders", TOP_IN_INCLUDED},
	{"milter", 0},
	{"audit", 0},
	{"include", TOP_IN_INCLUDED},
	{"timezone", 0},
	{"exceptions", 0},
	{"pairs", 0},
	{NULL, -1},
};

/* Reads the keys that shape every rule: version, on_unobservable, scope. */
static int
read_globals(struct walk *w, const struct tlsp_ynode *root)
{
	const struct tlsp_ynode *v = tlsp_ytree_get(root, "version");
	unsigned set = 0;
	int rc = 0;

	if (v == NULL) {
		tlsp_diags_add(w->c.d, 0, w->c.file, 1, 1,
			       "missing 'version: 1' at the top of the file");
		rc = -1;
	} else if (v->type != TLSP_YNODE_SCALAR || strcmp(v->str, "1") != 0) {
		tlsp_schema_error(&w->c, v, NULL,
				  "unsupported 'version' %s; this "
				  "tlspolicy reads version 1",
				  v->type == TLSP_YNODE_SCALAR
					  ? v->str
					  : tlsp_ytree_kind(v));
		rc = -1;
	}
	w->unobs_fail = 1;
	v = tlsp_ytree_get(root, "on_unobservable");
	if (v && tlsp_schema_word(&w->c, v, NULL, "on_unobservable",
				  unobs_words, &w->unobs_fail) < 0)
		rc = -1;
	w->global = tlsp_arena_alloc(w->c.a, sizeof(*w->global));
	if (w->global == NULL)
		return w->c.oom = 1, -1;
	w->global->exempt_authenticated = 1;
	v = tlsp_ytree_get(root, "scope");
	if (v && !tlsp_schema_is_empty(v) &&
	    tlsp_schema_scope(&w->c, v, "scope", w->global, &set) < 0)
		rc = -1;
	w->c.pol->global_scope = w->global;

	memset(&w->defaults, 0, sizeof(w->defaults));
	w->defaults.spec.action = TLSP_ACTION_REJECT;
	w->defaults.spec.mode = TLSP_MODE_ENFORCE;
	w->defaults.spec.on_unobservable_fail = w->unobs_fail;
	w->defaults.spec.scope = w->global;
	w->defaults.scope = *w->global;
	w->empty_spec = tlsp_arena_alloc(w->c.a, sizeof(*w->empty_spec));
	if (w->empty_spec == NULL)
		return w->c.oom = 1, -1;
	*w->empty_spec = w->defaults.spec;
	return rc;
}

/* timezone: an IANA name, read from the tz database once, here. */
static int
read_timezone(struct walk *w, const struct tlsp_ynode *v)
{
	const char *why;

	if (v == NULL)
		return 0;
	if (v->type != TLSP_YNODE_SCALAR || tlsp_schema_is_empty(v)) {
		tlsp_schema_error(&w->c, v, NULL,
				  "'timezone' expects a zone name like "
				  "Europe/Berlin, found %s",
				  tlsp_ytree_kind(v));
		return -1;
	}
	w->c.pol->tz = tlsp_tz_load(v->str, &why);
	if (w->c.pol->tz != NULL)
		return 0;
	{
		char b[100], n[128];
		const char *near;

		tlsp_tz_suggest(v->str, n, sizeof(n));
		near = n[0] ? n : NULL;
		tlsp_schema_error(&w->c, v, NULL, "'timezone: %s': %s%s%s%s",
				  printable(v->str, b, sizeof(b)), why,
				  near ? "; did you mean '" : "",
				  near ? near : "", near ? "'?" : "");
	}
	return -1;
}

static int
check_top_keys(struct walk *w, const struct tlsp_ynode *root, int included)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < root->n; i++) {
		const struct tlsp_ynode *k = root->kids[2 * i];
		const char *near;
		int code = k->type == TLSP_YNODE_SCALAR
				   ? tlsp_name_code(top_keys, k->str)
				   : -1;

		if (code >= 0 && included && !(code & TOP_IN_INCLUDED)) {
			tlsp_schema_error(&w->c, k, NULL,
					  "'%s' belongs in the main policy "
					  "file (%s); an included file holds "
					  "rules and include only",
					  k->str, w->c.pol->files[0].path);
			rc = -1;
			continue;
		}
		if (code >= 0)
			continue;
		near = k->type == TLSP_YNODE_SCALAR
			       ? tlsp_diag_suggest_name(k->str, top_keys)
			       : NULL;
		tlsp_schema_error(&w->c, k, NULL,
				  "unknown top-level key '%.64s'%s%s%s",
				  k->type == TLSP_YNODE_SCALAR ? k->str : "?",
				  near ? "; did you mean '" : "",
				  near ? near : "", near ? "'?" : "");
		rc = -1;
	}
	return rc;
}

/* The rules of one direction in every file, in load order. */
static int
read_all_rules(struct walk *w, const struct tlsp_source *src, size_t nsrc,
	       enum tlsp_direction dir, struct tlsp_ruleset *set)
{
	const char *key = dir == TLSP_DIR_SENDER ? "senders" : "recipients";
	const struct tlsp_ynode *y;
	size_t i, n = 0;
	int rc = 0;

	for (i = 0; i < nsrc; i++)
		if (src[i].root->type == TLSP_YNODE_MAP &&
		    (y = tlsp_ytree_get(src[i].root, key)) != NULL)
			n += y->n;
	if (tlsp_domtab_init(&set->tab, n) < 0)
		return w->c.oom = 1, -1;
	for (i = 0; i < nsrc && !w->c.oom && !w->c.d->truncated; i++) {
		if (src[i].root->type != TLSP_YNODE_MAP)
			continue;
		w->c.file = src[i].path;
		w->file_index = i;
		rc |= read_rules(w, tlsp_ytree_get(src[i].root, key), dir, set);
	}
	w->c.file = src[0].path;
	w->file_index = 0;
	return rc;
}

/* Counts the rules of every file (a mapping's pairs). */
static size_t
count_rules(const struct tlsp_source *src, size_t nsrc)
{
	static const char *const keys[] = {"recipients", "senders"};
	const struct tlsp_ynode *y;
	size_t i, k, n = 0;

	for (i = 0; i < nsrc; i++)
		for (k = 0; k < 2; k++)
			if (src[i].root->type == TLSP_YNODE_MAP &&
			    (y = tlsp_ytree_get(src[i].root, keys[k])) &&
			    y->type == TLSP_YNODE_MAP)
				n += y->n;
	return n;
}


static int
ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (const void *const *)a;
	uintptr_t y = (uintptr_t) * (const void *const *)b;

	return (x > y) - (x < y);
}

/* The specs that name clients (client_addr, client_name), each once: a
 * report asks, per client, whether a rule names it. 0, or -1 (memory). */
static int
client_specs(struct tlsp_policy *pol, struct tlsp_arena *a)
{
	const struct tlsp_spec **v = NULL, *sp;
	size_t i, n = 0, k = 0;

	for (i = 0; i < pol->nrules; i++) {
		sp = pol->rules[i].spec;
		n += sp->req.client_addrs.n > 0 || sp->req.nhosts > 0;
	}
	if (n == 0)
		return 0;
	if ((v = malloc(n * sizeof(*v))) == NULL)
		return -1;
	for (i = 0, n = 0; i < pol->nrules; i++) {
		sp = pol->rules[i].spec;
		if (sp->req.client_addrs.n > 0 || sp->req.nhosts > 0)
			v[n++] = sp;
	}
	qsort(v, n, sizeof(*v), ptr_cmp);
	for (i = 0; i < n; i++)
		if (k == 0 || v[k - 1] != v[i])
			v[k++] = v[i];
	pol->client_specs = tlsp_arena_alloc(a, k * sizeof(*v));
	if (pol->client_specs != NULL) {
		memcpy(pol->client_specs, v, k * sizeof(*v));
		pol->nclient_specs = k;
	}
	free(v);
	return pol->client_specs != NULL ? 0 : -1;
}

/* An included file: a mapping of known keys; rules are read later. */
static int
check_included(struct walk *w, const struct tlsp_source *s)
{
	int rc;

	w->c.file = s->path;
	if (s->root->type != TLSP_YNODE_MAP) {
		tlsp_schema_error(&w->c, s->root, NULL,
				  "expected a mapping at the top of the "
				  "file, found %s",
				  tlsp_ytree_kind(s->root));
		rc = -1;
	} else {
		rc = check_top_keys(w, s->root, 1);
	}
	return rc;
}

int
tlsp_compile(struct tlsp_policy *pol, const struct tlsp_source *src,
	     size_t nsrc, enum tlsp_mta mta, struct tlsp_diags *diags)
{
	const struct tlsp_ynode *root = src[0].root;
	const char *file = src[0].path;
	struct walk w;
	const struct tlsp_ynode *pairs = tlsp_ytree_get(root, "pairs");
	size_t n;
	int rc = 0;

	memset(&w, 0, sizeof(w));
	w.c.pol = pol;
	w.c.a = pol->arena;
	w.c.file = file;
	w.c.d = diags;
	w.c.mta = mta;
	if (root->type != TLSP_YNODE_MAP) {
		tlsp_schema_error(&w.c, root, NULL,
				  "expected a mapping at the top of the "
				  "file, found %s",
				  tlsp_ytree_kind(root));
		return -1;
	}
	rc |= check_top_keys(&w, root, 0);
	for (n = 1; n < nsrc; n++)
		rc |= check_included(&w, &src[n]);
	w.c.file = file;
	rc |= read_globals(&w, root);
	rc |= tlsp_settings_read(&w.c, tlsp_ytree_get(root, "milter"),
				 tlsp_ytree_get(root, "audit"), &pol->settings);
	if (w.c.oom)
		goto oom;
	/* before anything with a date */
	rc |= read_timezone(&w, tlsp_ytree_get(root, "timezone"));
	rc |= tlsp_exception_read(&w.c, tlsp_ytree_get(root, "exceptions"));
	if (w.c.oom)
		goto oom;
	rc |= read_profiles(&w, tlsp_ytree_get(root, "profiles"));
	n = count_rules(src, nsrc) + count_pairs(pairs);
	pol->rules = tlsp_arena_alloc(pol->arena,
				      (n ? n : 1) * sizeof(*pol->rules));
	if (pol->rules == NULL || w.c.oom)
		goto oom;
	rc |= read_all_rules(&w, src, nsrc, TLSP_DIR_RECIPIENT,
			     &pol->recipients);
	rc |= read_all_rules(&w, src, nsrc, TLSP_DIR_SENDER, &pol->senders);
	w.c.file = file; /* pairs: the main file only */
	rc |= read_pairs(&w, pairs);
	if (w.c.oom)
		goto oom;
	/* a scheduled rule will enforce without a reload: count it now */
	for (n = 0; n < pol->nrules; n++) {
		const struct tlsp_spec *sp = pol->rules[n].spec;

		if (sp->mode == TLSP_MODE_ENFORCE || sp->enforce_from)
			pol->actions |= 1u << sp->action;
		pol->nscheduled += sp->enforce_from != 0;
	}
	if (client_specs(pol, w.c.a) < 0)
		goto oom;
	if (rc == 0 && pol->nrules == 0)
		tlsp_diags_add(diags, 1, file, 0, 0,
			       "the policy has no rules: "
			       "every message is accepted");
	free(w.shared);
	return rc ? -1 : 0;
oom:
	free(w.shared);
	tlsp_diags_add(diags, 0, file, 0, 0, "out of memory");
	return -1;
}
