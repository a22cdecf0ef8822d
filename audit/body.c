/*
 * body.c - the event-dependent part of an audit record.
 *
 * Everything here runs on the submitting thread, without a lock: the
 * envelope, the TLS facts and whether each macro was seen, the verdicts
 * with every failed or unknown requirement, and the action. Addresses
 * pass the privacy setting first (full, pseudonymized with a keyed
 * digest of the local part, or only the domain), and each decision record
 * gets a random salt for the field digests of the hash chain
 * (audit/FORMAT.md section 2).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "body.h"
#include "chain.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Room reserved for a record's body: a message record is about 1 KiB,
 * and about 400 bytes more per recipient. */
#define BODY_TYPICAL 1024
#define BODY_PER_RCPT 512

static const char *const event_names[] = {
	[TLSP_EV_START] = "start",
	[TLSP_EV_RELOAD] = "reload",
	[TLSP_EV_RELOAD_FAILED] = "reload_failed",
	[TLSP_EV_STOP] = "stop",
	[TLSP_EV_MAIL] = "mail",
	[TLSP_EV_RCPT] = "rcpt",
	[TLSP_EV_MESSAGE] = "message",
	[TLSP_EV_ABORT] = "abort",
	[TLSP_EV_ROTATE] = "rotate",
	[TLSP_EV_CHECKPOINT] = "checkpoint",
};

const char *
tlsp_event_type_name(enum tlsp_event_type t)
{
	return (unsigned)t < NELEM(event_names) ? event_names[t] : NULL;
}

/* ======================================================== the record */

static const char *const status_names[] = {
	[TLSP_PASS] = "pass",
	[TLSP_FAIL] = "fail",
	[TLSP_UNKNOWN] = "unknown",
};

const char *
tlsp_body_status_name(enum tlsp_status st)
{
	return (unsigned)st < NELEM(status_names) ? status_names[st] : NULL;
}

static void
record_failure(struct tlsp_jbuf *jb, const struct tlsp_failure *fl)
{
	tlsp_jb_open(jb, '{');
	tlsp_jb_kstr(jb, "requirement", tlsp_req_name(fl->req));
	tlsp_jb_kstr(jb, "status", tlsp_body_status_name(fl->status));
	tlsp_jb_kstr(jb, "required", fl->required);
	/* "" for client_addr and client_name: the client member holds
	 * that evidence, once and redactably. */
	tlsp_jb_kstr(jb, "observed", fl->observed[0] ? fl->observed : NULL);
	tlsp_jb_close(jb, '}');
}

/* An instant as "2027-01-14T23:00:00Z" (UTC, like the record's time). */
static void
utc_text(time_t t, char *buf, size_t bufsz)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, bufsz, "%lld", (long long)t);
}

/* A failure an exception waived: what was let through, and by which
 * exception (its name and end; the policy, by its hash, says the rest). */
static void
record_waived(struct tlsp_jbuf *jb, const struct tlsp_failure *fl)
{
	char until[32];

	utc_text(tlsp_exception_expires(fl->waived_by), until, sizeof(until));
	tlsp_jb_open(jb, '{');
	tlsp_jb_kstr(jb, "requirement", tlsp_req_name(fl->req));
	tlsp_jb_kstr(jb, "status", tlsp_body_status_name(fl->status));
	tlsp_jb_kstr(jb, "required", fl->required);
	/* as in failures: null where the client member holds the evidence */
	tlsp_jb_kstr(jb, "observed", fl->observed[0] ? fl->observed : NULL);
	tlsp_jb_kstr(jb, "exception", tlsp_exception_name(fl->waived_by));
	tlsp_jb_kstr(jb, "expires", until);
	tlsp_jb_close(jb, '}');
}

static void
record_rule(struct tlsp_jbuf *jb, const struct tlsp_rule_result *r)
{
	char from[32];
	size_t i;

	tlsp_jb_open(jb, '{');
	tlsp_jb_kstr(jb, "rule",
		     r->rule != NULL ? tlsp_rule_name(r->rule) : NULL);
	tlsp_jb_kbool(jb, "exempt", r->exempt);
	tlsp_jb_kstr(jb, "status", tlsp_body_status_name(r->status));
	tlsp_jb_kstr(jb, "action", tlsp_action_name(r->action));
	tlsp_jb_kstr(jb, "mode", tlsp_mode_name(r->mode));
	tlsp_jb_key(jb, "failures");
	tlsp_jb_open(jb, '[');
	for (i = 0; i < r->nfail && i < TLSP_MAX_FAILURES; i++)
		record_failure(jb, &r->fail[i]);
	tlsp_jb_close(jb, ']');
	/* format 2 members, only where they say something */
	if (r->rule != NULL && tlsp_rule_enforce_from(r->rule) != 0) {
		utc_text(tlsp_rule_enforce_from(r->rule), from, sizeof(from));
		tlsp_jb_kstr(jb, "enforce_from", from);
	}
	if (r->nwaived > 0) {
		tlsp_jb_key(jb, "waived");
		tlsp_jb_open(jb, '[');
		for (i = r->nfail;
		     i < r->nfail + r->nwaived && i < TLSP_MAX_FAILURES; i++)
			record_waived(jb, &r->fail[i]);
		tlsp_jb_close(jb, ']');
	}
	tlsp_jb_close(jb, '}');
}

static void
record_verdict(struct tlsp_jbuf *jb, const struct tlsp_verdict *v)
{
	static const struct {
		unsigned bit;
		const char *name;
	} flags[] = {
		{TLSP_V_SENDER_UNPARSABLE, "sender_unparsable"},
		{TLSP_V_RCPT_UNPARSABLE, "rcpt_unparsable"},
		{TLSP_V_NO_RULE, "no_rule"},
		{TLSP_V_SESSION_EXEMPT, "session_exempt"},
		{TLSP_V_WAIVED, "waived"},
	};
	size_t i;

	tlsp_jb_open(jb, '{');
	tlsp_jb_kstr(jb, "action", tlsp_action_name(v->action));
	tlsp_jb_kstr(jb, "would_action", tlsp_action_name(v->would_action));
	tlsp_jb_kstr(jb, "decided_by",
		     v->decided_by != NULL ? tlsp_rule_name(v->decided_by)
					   : NULL);
	tlsp_jb_key(jb, "flags");
	tlsp_jb_open(jb, '[');
	for (i = 0; i < NELEM(flags); i++)
		if (v->flags & flags[i].bit)
			tlsp_jb_str(jb, flags[i].name);
	tlsp_jb_close(jb, ']');
	tlsp_jb_key(jb, "rules");
	tlsp_jb_open(jb, '[');
	for (i = 0; i < v->nrules && i < TLSP_MAX_RULES_PER_VERDICT; i++)
		record_rule(jb, &v->r[i]);
	tlsp_jb_close(jb, ']');
	tlsp_jb_close(jb, '}');
}

/*
 * Which macros the MTA sent and which it did not: "observed" lists the
 * ones sent (even empty, or malformed: the facts' flags say so), "absent"
 * the ones it did not send. {cert_fp} stands for {cert_md5} too.
 */
static void
record_observed(struct tlsp_jbuf *jb, const struct tlsp_facts *f)
{
	static const struct {
		unsigned bit;
		const char *name;
	} m[] = {
		{TLSP_SENT_MTA_VERSION, "v"},
		{TLSP_SENT_TLS_VERSION, "{tls_version}"},
		{TLSP_SENT_CIPHER, "{cipher}"},
		{TLSP_SENT_CIPHER_BITS, "{cipher_bits}"},
		{TLSP_SENT_CERT_SUBJECT, "{cert_subject}"},
		{TLSP_SENT_CERT_ISSUER, "{cert_issuer}"},
		{TLSP_SENT_VERIFY, "{verify}"},
		{TLSP_SENT_CERT_FP, "{cert_fp}"},
		{TLSP_SENT_AUTH_AUTHEN, "{auth_authen}"},
		{TLSP_SENT_DAEMON_NAME, "{daemon_name}"},
		{TLSP_SENT_CLIENT_ADDR, "{client_addr}"},
		{TLSP_SENT_CLIENT_NAME, "{client_name}"},
		{TLSP_SENT_CLIENT_RESOLVE, "{client_resolve}"},
	};
	size_t i;
	int sent;

	for (sent = 1; sent >= 0; sent--) {
		tlsp_jb_key(jb, sent ? "observed" : "absent");
		tlsp_jb_open(jb, '[');
		for (i = 0; i < NELEM(m); i++)
			if (((f->sent & m[i].bit) != 0) == sent)
				tlsp_jb_str(jb, m[i].name);
		tlsp_jb_close(jb, ']');
	}
}

/* A certificate name: the full DN (Sendmail) or the CN (Postfix); null
 * when the macro was not sent. */
static const char *
cert_name(int seen, const char *dn, const char *cn)
{
	if (!seen)
		return NULL;
	return dn[0] != '\0' ? dn : cn;
}

static void
record_tls(struct tlsp_jbuf *jb, const struct tlsp_facts *f)
{
	tlsp_jb_key(jb, "tls");
	tlsp_jb_open(jb, '{');
	tlsp_jb_kstr(jb, "version",
		     f->version == TLSP_VER_NONE ? NULL : f->version_raw);
	tlsp_jb_kstr(jb, "cipher", f->cipher[0] != '\0' ? f->cipher : NULL);
	tlsp_jb_key(jb, "bits");
	if (f->cipher_bits >= 0)
		tlsp_jb_int(jb, f->cipher_bits);
	else
		tlsp_jb_null(jb);
	tlsp_jb_key(jb, "forward_secrecy");
	if (f->cipher_info.forward_secrecy >= 0)
		tlsp_jb_bool(jb, f->cipher_info.forward_secrecy);
	else
		tlsp_jb_null(jb);
	tlsp_jb_kstr(jb, "cert", tlsp_cert_state_name(f->cert));
	tlsp_jb_kstr(jb, "subject",
		     cert_name(f->subject_seen, f->subject_dn, f->subject_cn));
	tlsp_jb_kstr(jb, "issuer",
		     cert_name(f->issuer_seen, f->issuer_dn, f->issuer_cn));
	tlsp_jb_kstr(jb, "verify", f->verify_seen ? f->verify : NULL);
	tlsp_jb_kstr(jb, "fingerprint",
		     f->fingerprint[0] != '\0' ? f->fingerprint : NULL);
	record_observed(jb, f);
	tlsp_jb_close(jb, '}');
}

static void
record_rcpts(struct tlsp_jbuf *jb, const struct tlsp_body_opts *o,
	     const struct tlsp_audit_event *ev)
{
	char buf[TLSP_DOMAIN_MAX + 64];
	size_t i;

	tlsp_jb_key(jb, "recipients");
	tlsp_jb_open(jb, '[');
	for (i = 0; i < ev->nrcpts; i++) {
		const struct tlsp_event_rcpt *r = &ev->rcpts[i];

		tlsp_jb_open(jb, '{');
		tlsp_jb_kstr(jb, "addr",
			     r->addr != NULL
				     ? tlsp_body_address(o, r->addr, buf,
							 sizeof(buf))
				     : NULL);
		tlsp_jb_key(jb, "verdict");
		if (r->v != NULL)
			record_verdict(jb, r->v);
		else
			tlsp_jb_null(jb);
		tlsp_jb_kstr(jb, "reply", r->reply);
		tlsp_jb_close(jb, '}');
	}
	tlsp_jb_close(jb, ']');
}

/* Adds "key": s, unless s is NULL. */
static void
record_opt(struct tlsp_jbuf *jb, const char *key, const char *s)
{
	if (s != NULL)
		tlsp_jb_kstr(jb, key, s);
}

/*
 * The MAIL parameters whose values are recorded: their values are
 * protocol facts, never personal data. Any other parameter (AUTH=
 * carries a mailbox, ENVID= an identifier the sender chose, and
 * extensions we do not know) is recorded as its keyword and a bare '=',
 * because mail_params is not a redactable member (FORMAT.md).
 */
static const struct tlsp_name_code mail_param_values[] = {
	{"SIZE", 0},	   {"BODY", 0},	       {"RET", 0}, {"SMTPUTF8", 0},
	{"REQUIRETLS", 0}, {"MT-PRIORITY", 0}, {"BY", 0},  {NULL, -1},
};

static void
record_mail_params(struct tlsp_jbuf *jb, const struct tlsp_audit_event *ev)
{
	char kw[32];
	size_t i;

	if (ev->mail_params == NULL)
		return;
	tlsp_jb_key(jb, "mail_params");
	tlsp_jb_open(jb, '[');
	for (i = 0; i < ev->nmail_params; i++) {
		const char *p = ev->mail_params[i], *eq = strchr(p, '=');
		size_t klen = eq ? (size_t)(eq - p) : strlen(p);

		/* a keyword too long for kw is none of the table's */
		memcpy(kw, p, klen < sizeof(kw) ? klen : 0);
		kw[klen < sizeof(kw) ? klen : 0] = '\0';
		if (eq == NULL ||
		    tlsp_name_code_fold(mail_param_values, kw) >= 0)
			tlsp_jb_str(jb, p);
		else
			tlsp_jb_strn(jb, p, klen + 1);
	}
	tlsp_jb_close(jb, ']');
}

static void
record_envelope(struct tlsp_jbuf *jb, const struct tlsp_body_opts *o,
		const struct tlsp_audit_event *ev)
{
	char buf[TLSP_DOMAIN_MAX + 64];

	record_opt(jb, "txid", ev->txid);
	record_opt(jb, "queue_id", ev->queue_id);
	if (ev->client_addr != NULL || ev->client_name != NULL) {
		tlsp_jb_key(jb, "client");
		tlsp_jb_open(jb, '{');
		tlsp_jb_kstr(jb, "addr", ev->client_addr);
		tlsp_jb_kstr(jb, "name", ev->client_name);
		/* what the MTA said of the name (format 2; for replay) */
		if (ev->facts != NULL &&
		    (ev->facts->sent & TLSP_SENT_CLIENT_RESOLVE))
			tlsp_jb_kstr(jb, "resolve", ev->facts->client_resolve);
		tlsp_jb_close(jb, '}');
	}
	record_opt(jb, "helo", ev->helo);
	if (ev->sender != NULL)
		tlsp_jb_kstr(jb, "sender",
			     tlsp_body_address(o, ev->sender, buf,
					       sizeof(buf)));
	record_mail_params(jb, ev);
}

static int
is_decision(enum tlsp_event_type t)
{
	return t == TLSP_EV_MAIL || t == TLSP_EV_RCPT || t == TLSP_EV_MESSAGE ||
	       t == TLSP_EV_ABORT;
}

/*
 * Random bytes for salts, drawn from OpenSSL 4 KiB at a time: each
 * RAND_bytes() call costs a getpid(2) (OpenSSL's fork check), which is
 * a measurable share of a message's cost on a virtual machine. Bytes
 * are handed out once and wiped as they go; a forked child starts with
 * an empty pool, so that it never repeats its parent's salts.
 */
static pthread_mutex_t salt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t salt_once = PTHREAD_ONCE_INIT;
static unsigned char salt_pool[4096];
static size_t salt_left;

static void
salt_forget(void)
{
	OPENSSL_cleanse(salt_pool, sizeof(salt_pool));
	salt_left = 0;
}

static void
salt_init(void)
{
	(void)pthread_atfork(NULL, NULL, salt_forget);
}

static int
salt_bytes(unsigned char *b, size_t n)
{
	int rc = 0;

	(void)pthread_once(&salt_once, salt_init);
	pthread_mutex_lock(&salt_lock);
	if (salt_left < n) {
		if (RAND_bytes(salt_pool, sizeof(salt_pool)) != 1)
			rc = -1;
		else
			salt_left = sizeof(salt_pool);
	}
	if (rc == 0) {
		salt_left -= n;
		memcpy(b, salt_pool + salt_left, n);
		OPENSSL_cleanse(salt_pool + salt_left, n);
	}
	pthread_mutex_unlock(&salt_lock);
	return rc;
}

/* The salt of a record with redactable fields: 16 random bytes in hex. */
static int
record_salt(struct tlsp_jbuf *jb)
{
	unsigned char b[TLSP_SALT_HEX / 2];
	char hex[TLSP_SALT_HEX + 1];

	if (salt_bytes(b, sizeof(b)) < 0)
		return -1;
	tlsp_chain_hex(b, sizeof(b), hex);
	tlsp_jb_kstr(jb, "salt", hex);
	return 0;
}

/*
 * Fields that are absent from the event are left out; "action", "mode"
 * and "would_action" are written for decision events only, where they
 * mean something.
 */
int
tlsp_body_build(struct tlsp_jbuf *jb, const struct tlsp_body_opts *o,
		const struct tlsp_audit_event *ev)
{
	/* one allocation for a typical message record, not four doublings */
	tlsp_jb_reserve(jb, BODY_TYPICAL + ev->nrcpts * BODY_PER_RCPT);
	tlsp_jb_open(jb, '{');
	tlsp_jb_kstr(jb, "host", o->host);
	tlsp_jb_kstr(jb, "type", tlsp_event_type_name(ev->type));
	/* A reader learns the rules of what follows from the last start or
	 * reload before it (audit/FORMAT.md section 1). */
	if (ev->type == TLSP_EV_START || ev->type == TLSP_EV_RELOAD)
		tlsp_jb_kint(jb, "format", TLSP_AUDIT_FORMAT);
	if (is_decision(ev->type) && record_salt(jb) < 0)
		return -1;
	record_envelope(jb, o, ev);
	if (ev->facts != NULL) {
		tlsp_jb_kstr(jb, "mta", tlsp_mta_name(ev->facts->mta));
		/* what a rule's scope tests, for replay (format 2): the
		 * listener, and whether the client authenticated (never
		 * who: that is personal data) */
		tlsp_jb_kstr(jb, "daemon_name",
			     ev->facts->sent & TLSP_SENT_DAEMON_NAME
				     ? ev->facts->daemon_name
				     : NULL);
		tlsp_jb_kbool(jb, "authenticated", ev->facts->authenticated);
		record_tls(jb, ev->facts);
	}
	if (ev->sender_verdict != NULL) {
		tlsp_jb_key(jb, "sender_verdict");
		record_verdict(jb, ev->sender_verdict);
	}
	if (ev->rcpts != NULL && ev->nrcpts > 0)
		record_rcpts(jb, o, ev);
	if (is_decision(ev->type)) {
		tlsp_jb_kstr(jb, "action", tlsp_action_name(ev->action));
		tlsp_jb_kstr(jb, "mode", tlsp_mode_name(ev->mode));
		tlsp_jb_kstr(jb, "would_action",
			     tlsp_action_name(ev->would_action));
	}
	record_opt(jb, "tls_required", ev->tls_required);
	record_opt(jb, "reply", ev->reply);
	record_opt(jb, "policy", ev->policy_hash);
	record_opt(jb, "detail", ev->detail);
	tlsp_jb_close(jb, '}');
	return jb->oom ? -1 : 0;
}

/* The local part of a bracket-stripped address: up to the last '@'
 * outside quotes, after any source route. */
static void
local_part(const char *a, size_t n, const char **lp, size_t *lplen)
{
	size_t i, at = n;
	int q = 0;

	if (n > 0 && a[0] == '@') {
		const char *colon = memchr(a, ':', n);

		if (colon != NULL) {
			n -= (size_t)(colon + 1 - a);
			a = colon + 1;
			at = n;
		}
	}
	for (i = 0; i < n; i++) {
		if (a[i] == '\\' && q && i + 1 < n)
			i++;
		else if (a[i] == '"')
			q = !q;
		else if (a[i] == '@' && !q)
			at = i;
	}
	*lp = a;
	*lplen = at;
}

/* 16 hex digits of HMAC-SHA-256(key, lowercase(s)). */
static void
pseudonym(const struct tlsp_body_opts *o, const char *s, size_t n, char hex[17])
{
	unsigned char low[512], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t i;

	if (n > sizeof(low))
		n = sizeof(low);
	for (i = 0; i < n; i++)
		low[i] = (unsigned char)(s[i] >= 'A' && s[i] <= 'Z'
						 ? s[i] - 'A' + 'a'
						 : s[i]);
	if (HMAC(EVP_sha256(), o->pkey, (int)o->pkeylen, low, n, md, &mdlen) ==
		    NULL ||
	    mdlen < 8)
		memset(md, 0, 8);
	tlsp_chain_hex(md, 8, hex);
}

const char *
tlsp_body_address(const struct tlsp_body_opts *o, const char *addr, char *out,
		  size_t outsz)
{
	struct tlsp_addr pa;
	const char *a = addr, *lp;
	size_t n = strlen(addr), lplen;
	char hex[17];

	if (o->addresses == TLSP_AUDIT_ADDR_FULL)
		return addr;
	tlsp_addr_parse(addr, &pa);
	if (n >= 2 && a[0] == '<' && a[n - 1] == '>') {
		a++;
		n -= 2;
	}
	local_part(a, n, &lp, &lplen);
	switch (pa.kind) {
	case TLSP_ADDR_NULL:
		snprintf(out, outsz, "%s", "");
		break;
	case TLSP_ADDR_DOMAIN:
	case TLSP_ADDR_LITERAL:
		if (o->addresses == TLSP_AUDIT_ADDR_DOMAIN) {
			snprintf(out, outsz, "@%s", pa.domain);
		} else {
			pseudonym(o, lp, lplen, hex);
			snprintf(out, outsz, "hmac:%s@%s", hex, pa.domain);
		}
		break;
	default: /* no domain, or unparsable: nothing of it is kept */
		if (o->addresses == TLSP_AUDIT_ADDR_DOMAIN) {
			snprintf(out, outsz, "%s", "@");
		} else {
			pseudonym(o, a, n, hex);
			snprintf(out, outsz, "hmac:%s", hex);
		}
		break;
	}
	return out;
}
