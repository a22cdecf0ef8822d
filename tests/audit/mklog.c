/*
 * mklog.c - writes hash-chained audit logs for the tests of
 * tlspolicy-audit, with the hash of audit/chain.c.
 *
 *   mklog [-k KEY] [-s SEQ -p PREV] < bodies > log
 *	Each input line is a record body {"time":...,...} without seq,
 *	prev and hash; it is numbered and chained. "#genesis" restarts the
 *	chain (seq 1, genesis prev); "#raw TEXT" writes TEXT as it is (a
 *	torn line); "#seq N" sets the next sequence number without
 *	touching prev. The last "SEQ HASH" goes to standard error.
 *
 *   mklog -n COUNT [-S SEED] [-D SENDERS] [-H HOST] [-k KEY]
 *	COUNT synthetic but realistic records (messages to many domains,
 *	refusals, monitor rules, checkpoints), deterministic for a seed:
 *	what the report tests and the throughput measurement read. Each
 *	names HOST (mx1.example.net): one host of a fleet (--host).
 *
 *   mklog -w LOG [-k KEY]
 *	Writes a few events through the daemon's own writer
 *	(tlsp_audit_submit), hostile strings included, renaming LOG to
 *	LOG.1 and reopening half way (a rotate record links the files);
 *	the writer's syslog lines (the checkpoint of the last record) go
 *	to standard error.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "tlspolicy/audit.h"

struct gen {
	struct tlsp_chain_key key;
	struct tlsp_jbuf line, scratch, body;
	uint64_t seq;
	char prev[TLSP_HASH_HEX + 1];
	uint64_t rng;
	unsigned senders; /* -D: sender domains drawn from this many; 0: the
			     client's own */
	const char *host; /* -H: the host every record names */
};

/* ============================================================ chaining */

/* Writes body (a JSON object) as the next record of the chain. */
static int
emit(struct gen *g, const char *body, size_t len)
{
	char num[32], hash[TLSP_HASH_HEX + 1];

	if (len < 2 || body[0] != '{' || body[len - 1] != '}')
		return -1;
	snprintf(num, sizeof(num), "{\"seq\":%llu",
		 (unsigned long long)++g->seq);
	tlsp_jb_reset(&g->line);
	tlsp_jb_raw(&g->line, num, strlen(num));
	if (len > 2)
		tlsp_jb_raw(&g->line, ",", 1);
	tlsp_jb_raw(&g->line, body + 1, len - 2);
	tlsp_jb_raw(&g->line, ",\"prev\":\"", 9);
	tlsp_jb_raw(&g->line, g->prev, TLSP_HASH_HEX);
	tlsp_jb_raw(&g->line, "\"}", 2);
	if (g->line.oom || tlsp_chain_hash(g->line.p, g->line.len, &g->key,
					   &g->scratch, hash) < 0)
		return -1;
	g->line.len--; /* the final '}' */
	tlsp_jb_raw(&g->line, ",\"hash\":\"", 9);
	tlsp_jb_raw(&g->line, hash, TLSP_HASH_HEX);
	tlsp_jb_raw(&g->line, "\"}\n", 3);
	if (g->line.oom)
		return -1;
	fwrite(g->line.p, 1, g->line.len, stdout);
	memcpy(g->prev, hash, sizeof(g->prev));
	return 0;
}

static int
from_stdin(struct gen *g)
{
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	while (rc == 0 && (n = getline(&buf, &cap, stdin)) > 0) {
		if (buf[n - 1] == '\n')
			buf[--n] = '\0';
		if (strcmp(buf, "#genesis") == 0) {
			g->seq = 0;
			memcpy(g->prev, tlsp_chain_genesis, sizeof(g->prev));
		} else if (strncmp(buf, "#raw ", 5) == 0) {
			printf("%s\n", buf + 5);
		} else if (strncmp(buf, "#seq ", 5) == 0) {
			g->seq = strtoull(buf + 5, NULL, 10) - 1;
		} else if (n > 0 && emit(g, buf, (size_t)n) < 0) {
			fprintf(stderr, "mklog: bad body: %s\n", buf);
			rc = EX_DATAERR;
		}
	}
	free(buf);
	return rc;
}

/* ========================================================== synthesis */

static uint64_t
rnd(struct gen *g)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return g->rng;
}

static unsigned
pick(struct gen *g, unsigned n)
{
	return (unsigned)(rnd(g) % n);
}

static void kfmt(struct tlsp_jbuf *b, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
kfmt(struct tlsp_jbuf *b, const char *key, const char *fmt, ...)
{
	char buf[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	tlsp_jb_kstr(b, key, buf);
}

/* What Postfix shows (and the daemon records): a TLS session without a
 * trusted client certificate is "not verified" and sends no subject; a
 * verified one sends the CN of the subject and of the issuer. The
 * replay benchmark needs records whose facts rebuild. */
struct tls {
	const char *version, *cipher, *cert, *subject, *issuer;
	int bits, fs;
};

static const struct tls tls_mix[] = {
	{"TLSv1.3", "TLS_AES_256_GCM_SHA384", "not verified", NULL, NULL, 256,
	 1},
	{"TLSv1.3", "TLS_AES_128_GCM_SHA256", "verified", "mx.partner.example",
	 "Partner CA", 128, 1},
	{"TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", "not verified", NULL, NULL,
	 256, 1},
	{"TLSv1.2", "AES128-SHA", "not verified", NULL, NULL, 128, 0},
	{"TLSv1", "ECDHE-RSA-AES256-SHA", "not verified", NULL, NULL, 256, 1},
	{NULL, NULL, "none", NULL, NULL, -1, -1},
};
static const unsigned tls_weight[] = {50, 15, 20, 5, 6, 4};

static const struct tls *
pick_tls(struct gen *g)
{
	unsigned r = pick(g, 100), i;

	for (i = 0; r >= tls_weight[i]; i++)
		r -= tls_weight[i];
	return &tls_mix[i];
}

static void
gen_tls(struct gen *g, struct tlsp_jbuf *b, const struct tls *t)
{
	tlsp_jb_kstr(b, "mta", "postfix");
	tlsp_jb_key(b, "tls");
	tlsp_jb_open(b, '{');
	tlsp_jb_kstr(b, "version", t->version);
	tlsp_jb_kstr(b, "cipher", t->cipher);
	tlsp_jb_key(b, "bits");
	if (t->bits >= 0)
		tlsp_jb_int(b, t->bits);
	else
		tlsp_jb_null(b);
	tlsp_jb_key(b, "forward_secrecy");
	if (t->fs >= 0)
		tlsp_jb_bool(b, t->fs);
	else
		tlsp_jb_null(b);
	tlsp_jb_kstr(b, "cert", t->cert);
	tlsp_jb_kstr(b, "subject", t->subject);
	tlsp_jb_kstr(b, "issuer", t->issuer);
	tlsp_jb_kstr(b, "verify", NULL);
	tlsp_jb_kstr(b, "fingerprint", NULL);
	tlsp_jb_key(b, "observed");
	tlsp_jb_open(b, '[');
	if (t->version != NULL) {
		tlsp_jb_str(b, "{tls_version}");
		tlsp_jb_str(b, "{cipher}");
		tlsp_jb_str(b, "{cipher_bits}");
	}
	if (t->subject != NULL) {
		tlsp_jb_str(b, "{cert_subject}");
		tlsp_jb_str(b, "{cert_issuer}");
	}
	tlsp_jb_str(b, "{client_addr}");
	tlsp_jb_close(b, ']');
	tlsp_jb_close(b, '}');
	(void)g;
}

/* A verdict: the domain's rule requires TLSv1.2; monitor for some. */
static const char *
gen_verdict(struct gen *g, struct tlsp_jbuf *b, const struct tls *t,
	    unsigned dom, const char **would)
{
	int ok = t->version != NULL && strcmp(t->version, "TLSv1") != 0;
	int monitor = dom % 5 == 0;
	const char *act = ok || monitor ? "accept"
			  : dom % 2	? "reject"
					: "defer";
	char rule[32];

	snprintf(rule, sizeof(rule), "d%u.example", dom % 40);
	*would = ok ? "accept" : dom % 2 ? "reject" : "defer";
	tlsp_jb_open(b, '{');
	tlsp_jb_kstr(b, "action", act);
	tlsp_jb_kstr(b, "would_action", *would);
	tlsp_jb_kstr(b, "decided_by", ok ? NULL : rule);
	tlsp_jb_key(b, "flags");
	tlsp_jb_open(b, '[');
	tlsp_jb_close(b, ']');
	tlsp_jb_key(b, "rules");
	tlsp_jb_open(b, '[');
	tlsp_jb_open(b, '{');
	tlsp_jb_kstr(b, "rule", rule);
	tlsp_jb_kbool(b, "exempt", 0);
	tlsp_jb_kstr(b, "status", ok ? "pass" : "fail");
	tlsp_jb_kstr(b, "action", ok ? "accept" : *would);
	tlsp_jb_kstr(b, "mode", monitor ? "monitor" : "enforce");
	tlsp_jb_key(b, "failures");
	tlsp_jb_open(b, '[');
	if (!ok) {
		tlsp_jb_open(b, '{');
		tlsp_jb_kstr(b, "requirement",
			     t->version ? "min_version" : "tls");
		tlsp_jb_kstr(b, "status", "fail");
		tlsp_jb_kstr(b, "required", t->version ? "TLSv1.2" : "yes");
		tlsp_jb_kstr(b, "observed", t->version ? t->version : "none");
		tlsp_jb_close(b, '}');
	}
	tlsp_jb_close(b, ']');
	tlsp_jb_close(b, '}');
	tlsp_jb_close(b, ']');
	tlsp_jb_close(b, '}');
	(void)g;
	return act;
}

static void
gen_salt(struct gen *g, struct tlsp_jbuf *b)
{
	unsigned char s[16];
	char hex[33];
	unsigned i;

	for (i = 0; i < 16; i++)
		s[i] = (unsigned char)rnd(g);
	tlsp_chain_hex(s, 16, hex);
	tlsp_jb_kstr(b, "salt", hex);
}

static void
gen_time(struct tlsp_jbuf *b, uint64_t n)
{
	time_t t = (time_t)(1790812800 + n * 3); /* 2026-10-01T00:00:00Z */
	struct tm tm;
	char buf[40];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	tlsp_jb_kstr(b, "time", buf);
}

static void
gen_envelope(struct gen *g, struct tlsp_jbuf *b, const char *type,
	     unsigned client)
{
	tlsp_jb_kstr(b, "host", g->host);
	tlsp_jb_kstr(b, "type", type);
	kfmt(b, "txid", "%08x.%u", client * 7919u, 1 + pick(g, 3));
	kfmt(b, "queue_id", "4Q%05X%04X", (unsigned)(g->seq & 0xfffff), client);
	tlsp_jb_key(b, "client");
	tlsp_jb_open(b, '{');
	kfmt(b, "addr", "192.0.%u.%u", client / 250, client % 250 + 1);
	kfmt(b, "name", "mail%u.sender%u.example", client % 3, client);
	tlsp_jb_close(b, '}');
	kfmt(b, "helo", "mail%u.sender%u.example", client % 3, client);
	kfmt(b, "sender", "<bounce-%u@sender%u.example>", pick(g, 1000),
	     g->senders ? pick(g, g->senders) : client);
}

/* One decision record: a message to 1..3 recipients, or a refusal. */
static void
gen_decision(struct gen *g, struct tlsp_jbuf *b)
{
	unsigned client = pick(g, 2000), n = 1 + pick(g, 3), i, dom;
	const struct tls *t = pick_tls(g);
	const char *act = "accept", *would = "accept", *w, *a;
	int refused = 0;

	gen_envelope(g, b, "message", client);
	gen_tls(g, b, t);
	tlsp_jb_key(b, "recipients");
	tlsp_jb_open(b, '[');
	for (i = 0; i < n; i++) {
		dom = pick(g, 5000);
		tlsp_jb_open(b, '{');
		kfmt(b, "addr", "<user%u@d%u.example>", pick(g, 100), dom);
		tlsp_jb_key(b, "verdict");
		a = gen_verdict(g, b, t, dom, &w);
		tlsp_jb_kstr(b, "reply", NULL);
		tlsp_jb_close(b, '}');
		if (strcmp(a, "accept") != 0) {
			refused = 1;
			act = a;
		}
		if (strcmp(w, "accept") != 0)
			would = w;
	}
	tlsp_jb_close(b, ']');
	tlsp_jb_kstr(b, "action", refused ? act : "accept");
	tlsp_jb_kstr(b, "mode", strcmp(act, would) ? "monitor" : "enforce");
	tlsp_jb_kstr(b, "would_action", would);
	tlsp_jb_kstr(b, "policy", "5d41402abc4b2a76b9719d911017c592");
}

/* A recipient refused at RCPT (a plaintext session to a strict domain). */
static void
gen_rcpt(struct gen *g, struct tlsp_jbuf *b)
{
	static const struct tls none = {NULL, NULL, "none", NULL, NULL, -1, -1};
	unsigned client = pick(g, 2000), dom = 1 + 2 * pick(g, 2000);
	const char *w;

	if (dom % 5 == 0)
		dom += 2; /* not a monitor domain */
	gen_envelope(g, b, "rcpt", client);
	gen_tls(g, b, &none);
	tlsp_jb_key(b, "recipients");
	tlsp_jb_open(b, '[');
	tlsp_jb_open(b, '{');
	kfmt(b, "addr", "<user%u@d%u.example>", pick(g, 100), dom);
	tlsp_jb_key(b, "verdict");
	gen_verdict(g, b, &none, dom, &w);
	tlsp_jb_kstr(b, "reply",
		     "530 5.7.0 Must issue a STARTTLS command first");
	tlsp_jb_close(b, '}');
	tlsp_jb_close(b, ']');
	tlsp_jb_kstr(b, "action", "reject");
	tlsp_jb_kstr(b, "mode", "enforce");
	tlsp_jb_kstr(b, "would_action", "reject");
	tlsp_jb_kstr(b, "reply",
		     "530 5.7.0 Must issue a STARTTLS command first");
}

/* A sender refused at MAIL, or a transaction that ended without mail. */
static void
gen_mail(struct gen *g, struct tlsp_jbuf *b, int abort)
{
	static const struct tls old = {
		"TLSv1", "AES256-SHA", "not verified", NULL, NULL, 256, 0};
	unsigned client = pick(g, 2000);
	const char *w;

	gen_envelope(g, b, abort ? "abort" : "mail", client);
	gen_tls(g, b, &old);
	if (!abort) {
		tlsp_jb_key(b, "sender_verdict");
		gen_verdict(g, b, &old, 1, &w);
	}
	tlsp_jb_kstr(b, "action", abort ? "accept" : "reject");
	tlsp_jb_kstr(b, "mode", "enforce");
	tlsp_jb_kstr(b, "would_action", abort ? "accept" : "reject");
	if (!abort)
		tlsp_jb_kstr(b, "reply",
			     "550 5.7.1 TLS policy: TLSv1.2 required");
}

static int
synth(struct gen *g, unsigned long long count)
{
	struct tlsp_jbuf *b = &g->body;
	uint64_t n;

	for (n = 0; n < count; n++) {
		tlsp_jb_reset(b);
		tlsp_jb_open(b, '{');
		gen_time(b, n);
		if (n == 0) {
			tlsp_jb_kstr(b, "host", g->host);
			tlsp_jb_kstr(b, "type", "start");
			tlsp_jb_kstr(b, "detail", "tlspolicy 0.1.0");
		} else if (n % 1000 == 0) {
			tlsp_jb_kstr(b, "host", g->host);
			tlsp_jb_kstr(b, "type", "checkpoint");
		} else {
			gen_salt(g, b);
			if (n % 50 == 7)
				gen_rcpt(g, b);
			else if (n % 200 == 11)
				gen_mail(g, b, 0);
			else if (n % 200 == 13)
				gen_mail(g, b, 1);
			else
				gen_decision(g, b);
		}
		tlsp_jb_close(b, '}');
		if (b->oom || emit(g, b->p, b->len) < 0)
			return EX_SOFTWARE;
	}
	return 0;
}

/* ===================================================== the real writer */

static void
say(void *arg, int pri, const char *msg)
{
	(void)arg;
	(void)pri;
	fprintf(stderr, "%s\n", msg);
}

static int
submit(struct tlsp_audit *a, const struct tlsp_audit_event *ev)
{
	char err[512];

	if (tlsp_audit_submit(a, ev, 1) == 0)
		return 0;
	fprintf(stderr, "mklog: %s\n",
		tlsp_audit_last_error(a, err, sizeof(err)));
	return -1;
}

static int
via_writer(const char *path, const char *key)
{
	struct tlsp_audit_options o = {.host = "mx.test",
				       .sync = TLSP_SYNC_ALWAYS,
				       .key_file = key,
				       .notify = say};
	struct tlsp_event_rcpt r[2] = {{"<a@example.com>", NULL, NULL},
				       {"<b\xff@example.org>", NULL, NULL}};
	struct tlsp_audit_event ev = {.type = TLSP_EV_START, .detail = "mklog"};
	char err[512], old[4096];
	struct tlsp_audit *a;
	int i, rc = 0;

	if ((a = tlsp_audit_open_with(path, &o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mklog: %s\n", err);
		return EX_CANTCREAT;
	}
	rc |= submit(a, &ev);
	for (i = 0; i < 6 && rc == 0; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.type = TLSP_EV_MESSAGE;
		ev.txid = "c0ffee.1";
		ev.queue_id = "QW1";
		ev.client_addr = "192.0.2.1";
		ev.client_name = "bad\xffname\x1b[31m";
		ev.helo = "x\",\"sender\":\"forged\u2028";
		ev.sender = "<s@sender.example>";
		ev.rcpts = r;
		ev.nrcpts = 2;
		rc |= submit(a, &ev);
		if (i == 2) {
			snprintf(old, sizeof(old), "%s.1", path);
			if (rename(path, old) < 0 || tlsp_audit_reopen(a) < 0)
				rc = -1;
		}
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = TLSP_EV_STOP;
	ev.detail = "done";
	rc |= submit(a, &ev);
	tlsp_audit_close(a);
	return rc == 0 ? 0 : EX_IOERR;
}

int
main(int argc, char **argv)
{
	struct gen g;
	unsigned long long count = 0;
	char err[512];
	const char *wpath = NULL, *kpath = NULL;
	int c, rc;

	memset(&g, 0, sizeof(g));
	memcpy(g.prev, tlsp_chain_genesis, sizeof(g.prev));
	g.rng = 88172645463325252ULL;
	g.host = "mx1.example.net";
	while ((c = getopt(argc, argv, "k:s:p:n:S:w:D:H:")) != -1) {
		switch (c) {
		case 'H':
			g.host = optarg;
			break;
		case 'w':
			wpath = optarg;
			break;
		case 'k':
			kpath = optarg;
			if (tlsp_chain_key_load(optarg, &g.key, err,
						sizeof(err)) < 0) {
				fprintf(stderr, "mklog: %s\n", err);
				return EX_NOINPUT;
			}
			break;
		case 's':
			g.seq = strtoull(optarg, NULL, 10) - 1;
			break;
		case 'p':
			if (strlen(optarg) != TLSP_HASH_HEX)
				return EX_USAGE;
			memcpy(g.prev, optarg, sizeof(g.prev));
			break;
		case 'n':
			count = strtoull(optarg, NULL, 10);
			break;
		case 'S':
			g.rng = strtoull(optarg, NULL, 10) | 1;
			break;
		case 'D':
			g.senders = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr,
				"usage: mklog [-k key] [-s seq -p prev] "
				"< bodies | mklog -n count [-S seed] "
				"[-D senders] [-H host] | "
				"mklog -w log [-k key]\n");
			return EX_USAGE;
		}
	}
	if (wpath != NULL) {
		tlsp_chain_key_free(&g.key);
		return via_writer(wpath, kpath);
	}
	rc = count > 0 ? synth(&g, count) : from_stdin(&g);
	fprintf(stderr, "%llu %s\n", (unsigned long long)g.seq, g.prev);
	tlsp_jb_free(&g.line);
	tlsp_jb_free(&g.scratch);
	tlsp_jb_free(&g.body);
	tlsp_chain_key_free(&g.key);
	if (fflush(stdout) == EOF)
		rc = EX_IOERR;
	return rc;
}
