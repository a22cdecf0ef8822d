/*
 * query.c - the query mode (see query.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

/* One row per argument: its name, and where it goes (a string of the
 * query, one more recipient, or the MTA's shape). */
enum arg_kind { ARG_STRING, ARG_RCPT, ARG_MTA };

static const struct arg {
	const char *name;
	enum arg_kind kind;
	size_t at; /* ARG_STRING: offset of the const char * in the query */
} args[] = {
	{"mail_addr", ARG_STRING, offsetof(struct tlspm_query, sender)},
	{"rcpt_addr", ARG_RCPT, 0},
	{"tls_version", ARG_STRING,
	 offsetof(struct tlspm_query, m.tls_version)},
	{"cipher", ARG_STRING, offsetof(struct tlspm_query, m.cipher)},
	{"cipher_bits", ARG_STRING,
	 offsetof(struct tlspm_query, m.cipher_bits)},
	{"cert_subject", ARG_STRING,
	 offsetof(struct tlspm_query, m.cert_subject)},
	{"cert_issuer", ARG_STRING,
	 offsetof(struct tlspm_query, m.cert_issuer)},
	{"verify", ARG_STRING, offsetof(struct tlspm_query, m.verify)},
	{"cert_fp", ARG_STRING, offsetof(struct tlspm_query, m.cert_fp)},
	{"auth_authen", ARG_STRING,
	 offsetof(struct tlspm_query, m.auth_authen)},
	{"daemon_name", ARG_STRING,
	 offsetof(struct tlspm_query, m.daemon_name)},
	{"client_addr", ARG_STRING,
	 offsetof(struct tlspm_query, m.client_addr)},
	{"client_name", ARG_STRING,
	 offsetof(struct tlspm_query, m.client_name)},
	{"client_resolve", ARG_STRING,
	 offsetof(struct tlspm_query, m.client_resolve)},
	{"mta", ARG_MTA, 0},
	{"v", ARG_STRING, offsetof(struct tlspm_query, m.mta_version)},
};
#define NARGS (sizeof(args) / sizeof(args[0]))

static int
set_arg(struct tlspm_query *q, const struct arg *a, const char *val, char *err,
	size_t errsz)
{
	const char **slot;
	int mta;

	switch (a->kind) {
	case ARG_RCPT:
		if (q->nrcpt == TLSPM_QUERY_MAX_RCPT) {
			snprintf(err, errsz, "at most %d rcpt_addr arguments",
				 TLSPM_QUERY_MAX_RCPT);
			return -1;
		}
		q->rcpt[q->nrcpt++] = val;
		return 0;
	case ARG_MTA:
		mta = tlsp_mta_lookup(val);
		if (mta < 0) {
			snprintf(err, errsz,
				 "mta=%.40s: expected postfix or sendmail",
				 val);
			return -1;
		}
		q->m.mta = (enum tlsp_mta)mta;
		return 0;
	case ARG_STRING:
		break;
	}
	slot = (const char **)(void *)((char *)q + a->at);
	if (*slot != NULL) {
		snprintf(err, errsz, "%s given twice", a->name);
		return -1;
	}
	*slot = val;
	return 0;
}

/* The argument named `key`, or NULL with "did you mean" in err. */
static const struct arg *
find_arg(const char *key, char *err, size_t errsz)
{
	const char *names[NARGS], *near;
	size_t k;

	for (k = 0; k < NARGS; k++) {
		if (strcmp(key, args[k].name) == 0)
			return &args[k];
		names[k] = args[k].name;
	}
	near = tlsp_diag_suggest(key, names, NARGS);
	snprintf(err, errsz, "unknown key '%s'%s%s%s", key,
		 near ? "; did you mean '" : "", near ? near : "",
		 near ? "'?" : "");
	return NULL;
}

int
tlspm_query_parse(int argc, char *const argv[], struct tlspm_query *q,
		  char *err, size_t errsz)
{
	int i;

	memset(q, 0, sizeof(*q));
	for (i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		const struct arg *a;
		char key[32];
		size_t klen;

		klen = eq ? (size_t)(eq - argv[i]) : 0;
		if (eq == NULL || klen == 0 || klen >= sizeof(key)) {
			snprintf(err, errsz, "'%.40s': expected key=value",
				 argv[i]);
			return -1;
		}
		memcpy(key, argv[i], klen);
		key[klen] = '\0';
		/* Accept the macro spelling too: {tls_version}=TLSv1.2. */
		if (key[0] == '{' && key[klen - 1] == '}') {
			memmove(key, key + 1, klen - 2);
			key[klen - 2] = '\0';
		}
		a = find_arg(key, err, errsz);
		if (a == NULL || set_arg(q, a, eq + 1, err, errsz) < 0)
			return -1;
	}
	if (q->nrcpt == 0) {
		snprintf(err, errsz, "give at least one rcpt_addr=ADDRESS");
		return -1;
	}
	return 0;
}

/* The evidence of client_addr and client_name rules. */
static void
print_client(const struct tlsp_facts *f, FILE *out)
{
	char addr[4 * sizeof(f->client_addr)],
		res[4 * sizeof(f->client_resolve)];

	if (!(f->sent & (TLSP_SENT_CLIENT_ADDR | TLSP_SENT_CLIENT_NAME |
			 TLSP_SENT_CLIENT_RESOLVE)))
		return;
	tlsp_escape_log(f->client_addr, strlen(f->client_addr), addr,
			sizeof(addr));
	tlsp_escape_log(f->client_resolve, strlen(f->client_resolve), res,
			sizeof(res));
	fprintf(out, "client: addr=%s name=%s (%s", addr[0] ? addr : "(absent)",
		f->client_name[0] ? f->client_name : "-",
		tlsp_code_name(tlsp_name_state_names, f->client_name_state));
	if (f->sent & TLSP_SENT_CLIENT_RESOLVE)
		fprintf(out, ", client_resolve=%s", res);
	fprintf(out, ")\n");
}

static void
print_facts(const struct tlsp_facts *f, FILE *out)
{
	const struct tlsp_cipher_info *ci = &f->cipher_info;
	char ver[4 * sizeof(f->version_raw)], cipher[4 * sizeof(f->cipher)];

	/* the facts are as the MTA sent them: escaped once, here */
	tlsp_escape_log(f->version_raw, strlen(f->version_raw), ver,
			sizeof(ver));
	tlsp_escape_log(f->cipher, strlen(f->cipher), cipher, sizeof(cipher));
	fprintf(out, "session: mta=%s tls=%s", tlsp_mta_name(f->mta),
		f->version == TLSP_VER_NONE ? "none" : ver);
	if (f->version != TLSP_VER_NONE) {
		fprintf(out, " cipher=%s", f->cipher[0] ? cipher : "(absent)");
		if (f->cipher_bits >= 0)
			fprintf(out, " bits=%d", f->cipher_bits);
		else if (ci->bits >= 0)
			fprintf(out, " bits=%d(from cipher)", ci->bits);
		fprintf(out, " fs=%s",
			ci->forward_secrecy > 0	   ? "yes"
			: ci->forward_secrecy == 0 ? "no"
						   : "unknown");
		fprintf(out, " client_cert=\"%s\"",
			tlsp_cert_state_name(f->cert));
	}
	if (f->authenticated)
		fprintf(out, " authenticated=yes");
	fputc('\n', out);
	print_client(f, out);
	if (f->flags)
		fprintf(out,
			"note: some macro values were malformed and are "
			"treated as absent (flags 0x%x)\n",
			f->flags);
}

static void
print_result(const struct tlsp_rule_result *r, FILE *out)
{
	size_t i;

	fprintf(out, "  rule %s: %s", tlsp_rule_name(r->rule),
		r->exempt		 ? "exempt (out of scope)"
		: r->status == TLSP_PASS ? "pass"
					 : "FAIL");
	if (!r->exempt && r->status != TLSP_PASS)
		fprintf(out, " -> %s%s",
			r->mode == TLSP_MODE_MONITOR ? "would " : "",
			tlsp_action_name(tlsp_rule_action(r->rule)));
	fputc('\n', out);
	for (i = 0; i < r->nfail; i++) {
		const struct tlsp_failure *x = &r->fail[i];
		char seen[4 * sizeof(x->observed)];

		tlsp_escape_log(x->observed, strlen(x->observed), seen,
				sizeof(seen));
		fprintf(out, "    %s %s: required %s, observed %s\n",
			x->status == TLSP_UNKNOWN ? "unknown" : "failed",
			tlsp_req_name(x->req), x->required,
			seen[0] ? seen : "the client above");
	}
}

static void
print_verdict(const char *who, const struct tlsp_verdict *v, FILE *out)
{
	size_t i;
	char shown[600];

	tlsp_escape_log(who, strlen(who), shown, sizeof(shown));
	fprintf(out, "%s\n", shown);
	if (v->flags & TLSP_V_SENDER_UNPARSABLE)
		fprintf(out,
			"  note: sender address unparsable; sender default "
			"rules only\n");
	if (v->flags & TLSP_V_RCPT_UNPARSABLE)
		fprintf(out, "  note: recipient address unparsable; recipient "
			     "default rule only\n");
	if (v->flags & TLSP_V_NO_RULE)
		fprintf(out, "  no rule applies\n");
	if (v->nrules == 1 &&
	    strncmp(tlsp_rule_name(v->r[0].rule), "pair:", 5) == 0)
		fprintf(out, "  note: a pair rule replaces the sender and "
			     "recipient rules for this recipient\n");
	for (i = 0; i < v->nrules; i++)
		print_result(&v->r[i], out);
	fprintf(out, "  verdict: %s", tlsp_action_name(v->action));
	if (v->would_action != v->action)
		fprintf(out, " (monitor: would %s)",
			tlsp_action_name(v->would_action));
	if (v->reply[0])
		fprintf(out, " \"%s\"", v->reply);
	fputc('\n', out);
}

enum tlsp_action
tlspm_query_run(const struct tlsp_policy *p, const struct tlspm_query *q,
		FILE *out)
{
	enum tlsp_action worst = TLSP_ACTION_ACCEPT;
	struct tlsp_verdict *v = malloc(sizeof(*v));
	struct tlsp_facts f;
	char who[600];
	size_t i;

	if (v == NULL) {
		fprintf(out, "out of memory\n");
		return TLSP_ACTION_DEFER;
	}
	tlsp_facts_from_macros(&q->m, &f);
	fprintf(out, "policy: %s (sha256 %s)\n", tlsp_policy_path(p),
		tlsp_policy_hash(p));
	print_facts(&f, out);
	if (q->sender && tlsp_evaluate_sender(p, &f, q->sender, v)) {
		snprintf(who, sizeof(who), "MAIL FROM:%s%s%s",
			 q->sender[0] == '<' ? "" : "<", q->sender,
			 q->sender[0] == '<' ? "" : ">");
		print_verdict(who, v, out);
		worst = v->action;
	}
	for (i = 0; i < q->nrcpt; i++) {
		tlsp_evaluate(p, &f, q->sender, q->rcpt[i], v);
		snprintf(who, sizeof(who), "RCPT TO:%s%s%s",
			 q->rcpt[i][0] == '<' ? "" : "<", q->rcpt[i],
			 q->rcpt[i][0] == '<' ? "" : ">");
		print_verdict(who, v, out);
		worst = tlsp_action_max(worst, v->action);
	}
	free(v);
	return worst;
}
