/*
 * mtbench.c - a bounded milter load generator: the MTA side of the milter
 * protocol (version 6, through client.c) shaped like Postfix's.
 *
 * C connections run in parallel, one thread each. A connection is one
 * SMTP session to the milter: negotiation, CONNECT, HELO before STARTTLS
 * (no TLS macros), HELO again after it, then transactions: MAIL, one to
 * N RCPTs, DATA, headers, end of headers, body, end of message, with the
 * macros Postfix sends at each stage (its default lists, or the milter's
 * own list where it named one). What the milter negotiated is honoured
 * by client.c: skipped events are not sent, no-reply events are not
 * waited for. Like Postfix, a refused recipient is dropped, a
 * transaction without recipients is aborted, and an accept ends the
 * message's events.
 *
 * The TLS facts (per session: -k sets how many transactions a session
 * carries, default 5; -k 0 keeps one session, and one milter connection,
 * for the whole run), senders and recipients come from a built-in mix that
 * makes every action happen against the policy `mtbench -P RULES` prints
 * (reject, defer, tag, quarantine, accept, monitor, subdomain and default
 * rules); with -e every reply is checked against what that policy must
 * answer. Every reply is counted by stage and kind. The run ends after
 * -n transactions per connection or -t seconds or SIGINT/SIGTERM,
 * whichever comes first; it prints one line of key=value results
 * (transactions/s, p50/p99/max latency in microseconds, where the slowest
 * transaction waited) and one line of reply counts.
 *
 *   mtbench -s SOCKET [-c conns] [-n tx_per_conn] [-t secs] [-k tx_per_session]
 *           [-r max_rcpts] [-H headers] [-b body_bytes] [-D rule_domains]
 *           [-e] [-S seed] [-W hold_secs -F ready_file]
 *   mtbench -P RULES      print the policy that matches the mix
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../bench/benchpolicy.h"
#include "../bench/clock.h"
#include "client.h"

#define MAX_RCPTS 50
#define MAX_HDRS 200
#define THREAD_STACK (256u * 1024)
#define SETUP_TIMEOUT_S 120 /* -W: longest wait for every connection */

struct opts {
	const char *spec;
	int conns, ntx, per_session, max_rcpt, nhdr, body, domains, expect;
	double secs, hold;
	unsigned long seed;
	const char *ready_file;
	int timeout_ms;
};

/* ------------------------------------------------------------ the mix */

/*
 * TLS facts of a transaction. ver orders them: 0 plaintext, 1 TLSv1,
 * 2 TLSv1.2, 3 TLSv1.3. Weights are percent.
 */
struct tls_kind {
	int weight, ver;
	const char *version, *cipher, *bits, *subject, *issuer;
};

static const struct tls_kind tls_mix[] = {
	{45, 3, "TLSv1.3", "TLS_AES_256_GCM_SHA384", "256", NULL, NULL},
	{30, 2, "TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", "256", NULL, NULL},
	{5, 2, "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", "128",
	 "mx1.client.example", "Example Issuing CA"},
	{10, 1, "TLSv1", "ECDHE-RSA-AES128-SHA", "128", NULL, NULL},
	{10, 0, NULL, NULL, NULL, NULL, NULL},
};
#define NTLS (sizeof(tls_mix) / sizeof(tls_mix[0]))

/*
 * The policy's rules and their kinds are in tests/bench/benchpolicy.h.
 * 5% of recipients go to domains no rule names (the default rule), 5% of
 * senders to partner.example, which has a sender rule.
 */
enum act { ACT_ACCEPT, ACT_TAG, ACT_QUARANTINE, ACT_DEFER, ACT_REJECT };

/* What the printed policy answers for a recipient of kind k at TLS ver. */
static enum act
expected(enum kind k, int ver)
{
	switch (k) {
	case KIND_REJECT:
	case KIND_MODERN:
	case KIND_SUB:
		return ver < 2 ? ACT_REJECT : ACT_ACCEPT;
	case KIND_DEFER:
		return ver < 2 ? ACT_DEFER : ACT_ACCEPT;
	case KIND_TAG:
		return ver < 3 ? ACT_TAG : ACT_ACCEPT;
	case KIND_QUARANTINE:
		return ver < 3 ? ACT_QUARANTINE : ACT_ACCEPT;
	default:
		return ACT_ACCEPT;
	}
}

static void
print_policy(long n)
{
	printf("# mtbench -P %ld: %ld recipient rules matching mtbench's mix\n",
	       n, n);
	bench_policy_write(stdout, n);
}

/* xorshift64*: per thread, seeded from -S and the connection number. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static int
pct(uint64_t *s)
{
	return (int)(rnd(s) % 100);
}

/* ------------------------------------------------------------- counts */

enum stage {
	ST_MAIL,
	ST_RCPT,
	ST_DATA,
	ST_HDR,
	ST_EOH,
	ST_BODY,
	ST_EOM,
	ST_NSTAGES
};
static const char *const stage_name[ST_NSTAGES] = {
	"mail", "rcpt", "data", "header", "eoh", "body", "eom"};

enum rk {
	RK_CONTINUE,
	RK_ACCEPT,
	RK_REJECT,
	RK_TEMPFAIL,
	RK_REPLY4,
	RK_REPLY5,
	RK_DISCARD,
	RK_NOREPLY,
	RK_SKIPPED,
	RK_OTHER,
	RK_N
};
static const char *const rk_name[RK_N] = {
	"continue", "accept",  "reject",  "tempfail", "reply4xx",
	"reply5xx", "discard", "noreply", "notsent",  "other"};

enum mk { MK_INS, MK_ADD, MK_CHG, MK_QUAR, MK_OTHER, MK_N };
static const char *const mk_name[MK_N] = {"insheader", "addheader", "chgheader",
					  "quarantine", "other"};

enum oc {
	OC_ACCEPT_DATA,
	OC_ACCEPT_EOM,
	OC_TAGGED,
	OC_QUARANTINED,
	OC_MAIL_REFUSED,
	OC_NO_RCPT,
	OC_REFUSED_LATER,
	OC_N
};
static const char *const oc_name[OC_N] = {
	"accepted_at_data", "accepted_at_eom", "tagged",       "quarantined",
	"refused_at_mail",  "no_recipient",    "refused_later"};

struct counts {
	uint64_t reply[ST_NSTAGES][RK_N];
	double secs[ST_NSTAGES]; /* time spent in each stage's steps */
	double open_secs;	 /* and opening sessions */
	uint64_t mod[MK_N];
	uint64_t outcome[OC_N];
	uint64_t rcpts, unexpected, sessions, over_10ms, over_100ms, over_1s;
	/* the wire (client.c's counters): what each milter costs in
	 * packets, system calls and round trips */
	uint64_t round_trips, pkts_out, pkts_in, writes, reads, bytes_out;
};

static enum rk
rk_of(const struct mt_reply *r)
{
	switch (r->code) {
	case SMFIR_CONTINUE:
		return RK_CONTINUE;
	case SMFIR_ACCEPT:
		return RK_ACCEPT;
	case SMFIR_REJECT:
		return RK_REJECT;
	case SMFIR_TEMPFAIL:
		return RK_TEMPFAIL;
	case SMFIR_DISCARD:
		return RK_DISCARD;
	case MT_NOREPLY:
		return RK_NOREPLY;
	case MT_SKIPPED:
		return RK_SKIPPED;
	case SMFIR_REPLYCODE:
		return r->text[0] == '4' ? RK_REPLY4 : RK_REPLY5;
	default:
		return RK_OTHER;
	}
}

/* ------------------------------------------------------------ workers */

struct worker {
	const struct opts *o;
	int id;
	uint64_t rng;
	struct mt_conn *c;
	struct mt_reply *r;
	float *lat; /* seconds per transaction */
	size_t nlat, caplat;
	struct counts n;
	int errors;
	double worst;		/* slowest transaction */
	double worst_step;	/* its slowest step */
	enum stage worst_stage; /* and where that step was */
	char err[256];
	/* the transaction being run */
	const struct tls_kind *tls;
	char qid[16], mail_addr[64], rcpt_addr[64];
	int rcpt_index;
	double step_max;
	enum stage step_stage;
};

static atomic_int stop;
static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cv = PTHREAD_COND_INITIALIZER;
static int hold_ready, hold_released;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop, 1);
}

/* The macros Postfix sends by default at each stage (main.cf
 * milter_*_macros), used where the milter named no list of its own. */
static const char *const postfix_default[SMFIM_LAST + 1] = {
	[SMFIM_CONNECT] = " j {daemon_name} {daemon_addr} v _ ",
	[SMFIM_HELO] = " {tls_version} {cipher} {cipher_bits} {cert_subject} "
		       "{cert_issuer} ",
	[SMFIM_ENVFROM] = " i {auth_type} {auth_authen} {auth_author} "
			  "{mail_addr} {mail_host} {mail_mailer} ",
	[SMFIM_ENVRCPT] = " i {rcpt_addr} {rcpt_host} {rcpt_mailer} ",
	[SMFIM_DATA] = " i ",
	[SMFIM_EOM] = " i ",
	[SMFIM_EOH] = " i ",
};

static int
in_default(int stage, const char *name)
{
	const char *p = postfix_default[stage];
	size_t n = strlen(name);

	for (; p && (p = strstr(p, name)) != NULL; p += n)
		if (p[-1] == ' ' && p[n] == ' ')
			return 1;
	return 0;
}

/* Queues the macros of one stage; tls: whether STARTTLS has happened. */
static int
send_macros(struct worker *w, int cmd, int stage, int tls)
{
	const struct tls_kind *t = tls ? w->tls : &tls_mix[NTLS - 1];
	const char *rhost = strchr(w->rcpt_addr, '@');
	const struct mt_macro all[] = {
		{"j", "mx.bench.example"},
		{"{daemon_name}", "smtpd"},
		{"{daemon_addr}", "192.0.2.25"},
		{"v", "Postfix 3.7.11"},
		{"_", "client.example [192.0.2.7]"},
		{"{client_addr}", "192.0.2.7"},
		{"{client_name}", "client.example"},
		{"{tls_version}", t->version},
		{"{cipher}", t->cipher},
		{"{cipher_bits}", t->bits},
		{"{cert_subject}", t->subject},
		{"{cert_issuer}", t->issuer},
		/* Postfix has no queue id before the message is queued */
		{"i", w->qid[0] ? w->qid : NULL},
		{"{mail_addr}", w->mail_addr[0] ? w->mail_addr : NULL},
		{"{mail_host}", w->mail_addr[0] ? "client.example" : NULL},
		{"{mail_mailer}", w->mail_addr[0] ? "smtp" : NULL},
		{"{rcpt_addr}", w->rcpt_addr[0] ? w->rcpt_addr : NULL},
		{"{rcpt_host}", rhost ? rhost + 1 : NULL},
		{"{rcpt_mailer}", w->rcpt_addr[0] ? "smtp" : NULL},
	};
	struct mt_macro sel[sizeof(all) / sizeof(all[0])];
	size_t i, n = 0;

	if (mt_symlist(w->c, stage) != NULL) /* client.c filters by it */
		return mt_macros(w->c, cmd, all, sizeof(all) / sizeof(all[0]));
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (in_default(stage, all[i].name))
			sel[n++] = all[i];
	return n ? mt_macros(w->c, cmd, sel, n) : 0;
}

/* Times one event; -1 on a protocol or I/O error. */
#define STEP(w, st, call)                                                      \
	do {                                                                   \
		double t_ = tb_now();                                          \
		if ((call) < 0)                                                \
			return -1;                                             \
		t_ = tb_now() - t_;                                            \
		if (t_ > (w)->step_max)                                        \
			(w)->step_max = t_, (w)->step_stage = (st);            \
		(w)->n.reply[st][rk_of((w)->r)]++;                             \
		(w)->n.secs[st] += t_;                                         \
	} while (0)

static void
unexpected(struct worker *w, const char *what, const char *detail)
{
	if (w->n.unexpected++ < 3)
		fprintf(stderr,
			"mtbench: connection %d: unexpected %s (%s) "
			"tls=%s rcpt=%s\n",
			w->id, what, detail,
			w->tls->version ? w->tls->version : "none",
			w->rcpt_addr);
}

static int
ends(const struct mt_reply *r)
{
	return r->code != SMFIR_CONTINUE && r->code != MT_NOREPLY &&
	       r->code != MT_SKIPPED;
}

/* Counts the modifications at end of message; checks them with -e. */
static void
eom_mods(struct worker *w, enum act want)
{
	const struct mt_reply *r = w->r;
	int ins = 0, quar = 0;
	size_t i;

	for (i = 0; i < r->nmods; i++) {
		switch (r->mods[i].cmd) {
		case SMFIR_INSHEADER:
			w->n.mod[MK_INS]++, ins++;
			break;
		case SMFIR_ADDHEADER:
			w->n.mod[MK_ADD]++, ins++;
			break;
		case SMFIR_CHGHEADER:
			w->n.mod[MK_CHG]++;
			break;
		case SMFIR_QUARANTINE:
			w->n.mod[MK_QUAR]++, quar++;
			break;
		default:
			w->n.mod[MK_OTHER]++;
			break;
		}
	}
	if (quar)
		w->n.outcome[OC_QUARANTINED]++;
	else if (ins)
		w->n.outcome[OC_TAGGED]++;
	if (w->o->expect &&
	    (r->code != SMFIR_ACCEPT || ins != (want >= ACT_TAG) ||
	     quar != (want == ACT_QUARANTINE)))
		unexpected(w, "end of message", mt_code_name(r->code));
}

/* The message after DATA: headers, end of headers, body, end of message. */
static int
message(struct worker *w, enum act want)
{
	static const char body_line[] = "The quick brown fox jumps over the "
					"lazy dog, 0123456789 times.\r\n";
	char body[64 * 1024];
	size_t i, blen = (size_t)w->o->body;
	int h;

	for (h = 0; h < w->o->nhdr; h++) {
		char name[32], value[128];

		snprintf(name, sizeof(name), "%s",
			 h == 0	  ? "Received"
			 : h == 1 ? "From"
			 : h == 2 ? "To"
			 : h == 3 ? "Subject"
			 : h == 4 ? "Message-ID"
				  : "X-Bench-Header");
		snprintf(value, sizeof(value),
			 "header %d of a benchmark "
			 "message from client.example (192.0.2.7)",
			 h);
		STEP(w, ST_HDR, mt_header(w->c, name, value, w->r));
		if (ends(w->r))
			return w->r->code == SMFIR_ACCEPT ? 0 : 1;
	}
	STEP(w, ST_EOH, mt_eoh(w->c, w->r));
	if (ends(w->r))
		return w->r->code == SMFIR_ACCEPT ? 0 : 1;
	for (i = 0; i < blen && i < sizeof(body); i++)
		body[i] = body_line[i % (sizeof(body_line) - 1)];
	STEP(w, ST_BODY, mt_body(w->c, body, i, w->r));
	if (ends(w->r))
		return w->r->code == SMFIR_ACCEPT ? 0 : 1;
	if (send_macros(w, SMFIC_BODYEOB, SMFIM_EOM, 1) < 0)
		return -1;
	STEP(w, ST_EOM, mt_eom(w->c, w->r));
	eom_mods(w, want);
	if (w->r->code == SMFIR_ACCEPT || w->r->code == SMFIR_CONTINUE) {
		w->n.outcome[OC_ACCEPT_EOM]++;
		return 0;
	}
	return 1;
}

/* Draws a recipient: its address in w->rcpt_addr; returns its kind. */
static enum kind
draw_rcpt(struct worker *w, int n)
{
	long i;

	if (w->o->domains == 0 || pct(&w->rng) < 5) {
		snprintf(w->rcpt_addr, sizeof(w->rcpt_addr),
			 "<user%d@u%u.example.net>", n,
			 (unsigned)(rnd(&w->rng) % 100000));
		return KIND_DEFAULT;
	}
	i = (long)(rnd(&w->rng) % (uint64_t)w->o->domains);
	snprintf(w->rcpt_addr, sizeof(w->rcpt_addr), "<user%d@%sr%ld.example>",
		 n, kind_of(i) == KIND_SUB ? "mx." : "", i);
	return kind_of(i);
}

/* Checks one RCPT reply against the policy's answer. */
static void
check_rcpt(struct worker *w, enum act want)
{
	int code = w->r->code;
	char t = w->r->text[0];
	int ok = want == ACT_REJECT  ? code == SMFIR_REPLYCODE && t == '5'
		 : want == ACT_DEFER ? code == SMFIR_REPLYCODE && t == '4'
				     : code == SMFIR_CONTINUE;

	if (!ok)
		unexpected(w, "reply at RCPT",
			   code == SMFIR_REPLYCODE ? w->r->text
						   : mt_code_name(code));
}

static int
one_tx(struct worker *w)
{
	const char *arg[1];
	enum act msg = ACT_ACCEPT;
	int i, nrcpt, ok = 0, partner, rc;

	w->qid[0] = w->rcpt_addr[0] = '\0';
	partner = pct(&w->rng) < 5;
	snprintf(w->mail_addr, sizeof(w->mail_addr), "<%s@%s.example>",
		 partner ? "mx" : "news", partner ? "partner" : "sender");
	arg[0] = w->mail_addr;
	if (send_macros(w, SMFIC_MAIL, SMFIM_ENVFROM, 1) < 0)
		return -1;
	STEP(w, ST_MAIL, mt_mail(w->c, arg, 1, w->r));
	if (w->o->expect &&
	    (partner && w->tls->ver < 2) != (w->r->code == SMFIR_REPLYCODE))
		unexpected(w, "reply at MAIL", mt_code_name(w->r->code));
	if (ends(w->r)) {
		w->n.outcome[OC_MAIL_REFUSED]++;
		return 0;
	}
	nrcpt = 1 + (int)(rnd(&w->rng) % (uint64_t)w->o->max_rcpt);
	for (i = 0; i < nrcpt; i++) {
		enum kind kd = draw_rcpt(w, i);
		enum act want = expected(kd, w->tls->ver);

		if (i == 1) /* Postfix: i from the second RCPT on */
			snprintf(w->qid, sizeof(w->qid), "4Q%08X",
				 (unsigned)rnd(&w->rng));
		arg[0] = w->rcpt_addr;
		if (send_macros(w, SMFIC_RCPT, SMFIM_ENVRCPT, 1) < 0)
			return -1;
		STEP(w, ST_RCPT, mt_rcpt(w->c, arg, 1, w->r));
		w->n.rcpts++;
		if (w->o->expect)
			check_rcpt(w, want);
		if (!ends(w->r)) {
			ok++;
			if (want < ACT_DEFER && want > msg)
				msg = want;
		}
	}
	if (ok == 0) {
		w->n.outcome[OC_NO_RCPT]++;
		return mt_abort(w->c);
	}
	if (!w->qid[0])
		snprintf(w->qid, sizeof(w->qid), "4Q%08X",
			 (unsigned)rnd(&w->rng));
	if (send_macros(w, SMFIC_DATA, SMFIM_DATA, 1) < 0)
		return -1;
	STEP(w, ST_DATA, mt_data(w->c, w->r));
	if (w->o->expect) {
		/* Early accept only when there is nothing to do at EOM:
		 * nothing to mark and no headers asked for (no removal). */
		int early = msg == ACT_ACCEPT &&
			    (mt_protocol(w->c) & SMFIP_NOHDRS) != 0;

		if (w->r->code != (early ? SMFIR_ACCEPT : SMFIR_CONTINUE))
			unexpected(w, "reply at DATA",
				   mt_code_name(w->r->code));
	}
	if (w->r->code == SMFIR_ACCEPT) {
		w->n.outcome[OC_ACCEPT_DATA]++;
		return 0;
	}
	if (ends(w->r))
		rc = 1;
	else if ((rc = message(w, msg)) < 0)
		return -1;
	if (rc == 1) { /* refused after DATA: the MTA aborts */
		w->n.outcome[OC_REFUSED_LATER]++;
		return mt_abort(w->c);
	}
	return 0;
}

/* A new milter connection, as Postfix opens one per SMTP session. */
static int
session_open(struct worker *w)
{
	int rc;
	int p = pct(&w->rng);
	size_t k;

	w->c = mt_open(w->o->spec, w->o->timeout_ms, w->err, sizeof(w->err));
	if (w->c == NULL)
		return -1;
	/* The session's TLS facts: they hold for all its transactions. */
	for (k = 0; k < NTLS - 1 && p >= tls_mix[k].weight; k++)
		p -= tls_mix[k].weight;
	w->tls = &tls_mix[k];
	w->qid[0] = w->mail_addr[0] = w->rcpt_addr[0] = '\0';
	rc = mt_negotiate(w->c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL) < 0 ||
	     send_macros(w, SMFIC_CONNECT, SMFIM_CONNECT, 0) < 0 ||
	     mt_connect(w->c, "client.example", SMFIA_INET, 46123, "192.0.2.7",
			w->r) < 0 ||
	     send_macros(w, SMFIC_HELO, SMFIM_HELO, 0) < 0 ||
	     mt_helo(w->c, "client.example", w->r) < 0;
	/* STARTTLS, then EHLO again, now with the TLS macros */
	if (!rc && w->tls->version != NULL)
		rc = send_macros(w, SMFIC_HELO, SMFIM_HELO, 1) < 0 ||
		     mt_helo(w->c, "client.example", w->r) < 0;
	if (rc)
		return -1;
	if (ends(w->r)) {
		snprintf(w->err, sizeof(w->err),
			 "the milter answered %s at "
			 "HELO",
			 mt_code_name(w->r->code));
		return -1;
	}
	w->n.sessions++;
	return 0;
}

static void
session_close(struct worker *w)
{
	if (w->c) {
		const struct mt_stats *st;

		(void)mt_quit(w->c);
		st = mt_stats(w->c);
		w->n.round_trips += st->round_trips;
		w->n.pkts_out += st->commands + st->macro_packets;
		w->n.pkts_in += st->replies;
		w->n.writes += st->writes;
		w->n.reads += st->reads;
		w->n.bytes_out += st->bytes_out;
	}
	mt_close(w->c);
	w->c = NULL;
}

static int
keep_latency(struct worker *w, double secs)
{
	if (w->nlat == w->caplat) {
		size_t cap = w->caplat ? w->caplat * 2 : 1024;
		float *p = realloc(w->lat, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		w->lat = p;
		w->caplat = cap;
	}
	w->lat[w->nlat++] = (float)secs;
	if (secs > 0.01)
		w->n.over_10ms++;
	if (secs > 0.1)
		w->n.over_100ms++;
	if (secs > 1)
		w->n.over_1s++;
	return 0;
}

static void
hold(void)
{
	pthread_mutex_lock(&hold_mu);
	hold_ready++;
	pthread_cond_broadcast(&hold_cv);
	while (!hold_released)
		pthread_cond_wait(&hold_cv, &hold_mu);
	pthread_mutex_unlock(&hold_mu);
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	double deadline;
	int i, in_session = 0, failed;

	w->r = calloc(1, sizeof(*w->r));
	failed = w->r == NULL || session_open(w) < 0;
	if (o->hold > 0)
		hold();
	deadline = tb_now() + o->secs;
	if (failed)
		goto fail;
	for (i = 0; i < o->ntx && !atomic_load(&stop) && tb_now() < deadline;
	     i++) {
		double t0;

		if (w->c == NULL) {
			double t1 = tb_now();

			if (session_open(w) < 0)
				goto fail;
			w->n.open_secs += tb_now() - t1;
		}
		w->step_max = 0;
		t0 = tb_now();
		if (one_tx(w) < 0)
			goto fail;
		t0 = tb_now() - t0;
		if (keep_latency(w, t0) < 0)
			goto fail;
		if (t0 > w->worst)
			w->worst = t0, w->worst_step = w->step_max,
			w->worst_stage = w->step_stage;
		if (o->per_session > 0 && ++in_session == o->per_session) {
			session_close(w);
			in_session = 0;
		}
	}
	session_close(w);
	free(w->r);
	return NULL;
fail:
	if (w->c && mt_error(w->c)[0])
		snprintf(w->err, sizeof(w->err), "%s", mt_error(w->c));
	w->errors++;
	mt_close(w->c);
	w->c = NULL;
	free(w->r);
	return NULL;
}

/* -W: once every connection is set up, say so, wait, then go. */
static void
hold_all(const struct opts *o)
{
	double until = tb_now() + SETUP_TIMEOUT_S;
	struct timespec ts;
	FILE *f;

	pthread_mutex_lock(&hold_mu);
	while (hold_ready < o->conns && tb_now() < until &&
	       !atomic_load(&stop)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000;
		if (ts.tv_nsec >= 1000000000)
			ts.tv_sec++, ts.tv_nsec -= 1000000000;
		pthread_cond_timedwait(&hold_cv, &hold_mu, &ts);
	}
	pthread_mutex_unlock(&hold_mu);
	fprintf(stderr, "mtbench: %d connections set up; holding %.1f s\n",
		hold_ready, o->hold);
	if (o->ready_file && (f = fopen(o->ready_file, "w")) != NULL) {
		fprintf(f, "%d\n", hold_ready);
		fclose(f);
	}
	for (until = tb_now() + o->hold;
	     tb_now() < until && !atomic_load(&stop);)
		nanosleep(&(struct timespec){0, 50000000}, NULL);
	pthread_mutex_lock(&hold_mu);
	hold_released = 1;
	pthread_cond_broadcast(&hold_cv);
	pthread_mutex_unlock(&hold_mu);
}

static int
cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

static void
add_counts(struct counts *a, const struct counts *b)
{
	int i, j;

	for (i = 0; i < ST_NSTAGES; i++) {
		for (j = 0; j < RK_N; j++)
			a->reply[i][j] += b->reply[i][j];
		a->secs[i] += b->secs[i];
	}
	a->open_secs += b->open_secs;
	for (i = 0; i < MK_N; i++)
		a->mod[i] += b->mod[i];
	for (i = 0; i < OC_N; i++)
		a->outcome[i] += b->outcome[i];
	a->rcpts += b->rcpts;
	a->unexpected += b->unexpected;
	a->sessions += b->sessions;
	a->over_10ms += b->over_10ms;
	a->over_100ms += b->over_100ms;
	a->over_1s += b->over_1s;
	a->round_trips += b->round_trips;
	a->pkts_out += b->pkts_out;
	a->pkts_in += b->pkts_in;
	a->writes += b->writes;
	a->reads += b->reads;
	a->bytes_out += b->bytes_out;
}

/* A wire counter per transaction; sessions and negotiation included. */
static double
per_tx(uint64_t count, size_t tx)
{
	return tx ? (double)count / (double)tx : 0;
}

static void
report(const struct opts *o, struct worker *w, double secs)
{
	struct counts t;
	float *all;
	size_t n = 0, i;
	int errors = 0, j, worst = -1;

	memset(&t, 0, sizeof(t));
	for (j = 0; j < o->conns; j++)
		n += w[j].nlat;
	all = malloc((n ? n : 1) * sizeof(*all));
	if (all == NULL) {
		fprintf(stderr, "mtbench: out of memory\n");
		exit(1);
	}
	for (n = 0, j = 0; j < o->conns; j++) {
		memcpy(all + n, w[j].lat, w[j].nlat * sizeof(*all));
		n += w[j].nlat;
		errors += w[j].errors;
		add_counts(&t, &w[j].n);
		if (w[j].errors)
			fprintf(stderr, "mtbench: connection %d: %s\n", j,
				w[j].err);
		if (w[j].nlat && (worst < 0 || w[j].worst > w[worst].worst))
			worst = j;
	}
	qsort(all, n, sizeof(*all), cmp);
	printf("tx=%zu errors=%d unexpected=%llu secs=%.3f tps=%.1f "
	       "p50_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f "
	       "max_stage=%s max_step_us=%.0f over_10ms=%llu over_100ms=%llu "
	       "over_1s=%llu conns=%d sessions=%llu rcpts=%llu "
	       "rt_per_tx=%.2f pkts_out_per_tx=%.2f pkts_in_per_tx=%.2f "
	       "writes_per_tx=%.2f reads_per_tx=%.2f bytes_out_per_tx=%.0f\n",
	       n, errors, (unsigned long long)t.unexpected, secs, n / secs,
	       n ? all[n / 2] * 1e6 : 0, n ? all[(size_t)(n * 0.99)] * 1e6 : 0,
	       n ? all[(size_t)(n * 0.999)] * 1e6 : 0, n ? all[n - 1] * 1e6 : 0,
	       worst >= 0 ? stage_name[w[worst].worst_stage] : "-",
	       worst >= 0 ? w[worst].worst_step * 1e6 : 0,
	       (unsigned long long)t.over_10ms,
	       (unsigned long long)t.over_100ms, (unsigned long long)t.over_1s,
	       o->conns, (unsigned long long)t.sessions,
	       (unsigned long long)t.rcpts, per_tx(t.round_trips, n),
	       per_tx(t.pkts_out, n), per_tx(t.pkts_in, n), per_tx(t.writes, n),
	       per_tx(t.reads, n), per_tx(t.bytes_out, n));
	printf("replies");
	for (i = 0; i < ST_NSTAGES; i++)
		for (j = 0; j < RK_N; j++)
			if (t.reply[i][j])
				printf(" %s.%s=%llu", stage_name[i], rk_name[j],
				       (unsigned long long)t.reply[i][j]);
	for (j = 0; j < MK_N; j++)
		if (t.mod[j])
			printf(" mod.%s=%llu", mk_name[j],
			       (unsigned long long)t.mod[j]);
	for (j = 0; j < OC_N; j++)
		printf(" %s=%llu", oc_name[j],
		       (unsigned long long)t.outcome[j]);
	/* where a transaction's time goes: microseconds per transaction */
	printf("\nstage_us_per_tx open=%.1f", n ? t.open_secs * 1e6 / n : 0);
	for (i = 0; i < ST_NSTAGES; i++)
		printf(" %s=%.1f", stage_name[i], n ? t.secs[i] * 1e6 / n : 0);
	printf("\n");
	free(all);
}

static int
usage(void)
{
	fprintf(stderr,
		"usage: mtbench -s SOCKET [-c conns] [-n tx_per_conn] [-t secs]\n"
		"               [-k tx_per_session] [-r max_rcpts] [-H headers]\n"
		"               [-b body_bytes] [-D rule_domains] [-e] [-S seed]\n"
		"               [-T timeout_ms] [-W hold_secs [-F ready_file]]\n"
		"       mtbench -P RULES\n");
	return 64;
}

int
main(int argc, char **argv)
{
	struct opts o = {NULL,	8, 1000, 5, 2, 10,   2000,
			 10000, 0, 3600, 0, 1, NULL, 10000};
	struct sigaction sa;
	pthread_attr_t attr;
	struct worker *w;
	pthread_t *t;
	double t0;
	int ch, i, errors = 0;

	while ((ch = getopt(argc, argv, "s:c:n:t:k:r:H:b:D:eS:T:W:F:P:")) !=
	       -1) {
		switch (ch) {
		case 's':
			o.spec = optarg;
			break;
		case 'c':
			o.conns = atoi(optarg);
			break;
		case 'n':
			o.ntx = atoi(optarg);
			break;
		case 't':
			o.secs = atof(optarg);
			break;
		case 'k':
			o.per_session = atoi(optarg);
			break;
		case 'r':
			o.max_rcpt = atoi(optarg);
			break;
		case 'H':
			o.nhdr = atoi(optarg);
			break;
		case 'b':
			o.body = atoi(optarg);
			break;
		case 'D':
			o.domains = atoi(optarg);
			break;
		case 'e':
			o.expect = 1;
			break;
		case 'S':
			o.seed = strtoul(optarg, NULL, 10);
			break;
		case 'T':
			o.timeout_ms = atoi(optarg);
			break;
		case 'W':
			o.hold = atof(optarg);
			break;
		case 'F':
			o.ready_file = optarg;
			break;
		case 'P':
			print_policy(atol(optarg));
			return 0;
		default:
			return usage();
		}
	}
	if (o.spec == NULL || optind != argc || o.conns < 1 || o.conns > 5000 ||
	    o.ntx < 1 || o.ntx > 100000000 || o.secs <= 0 || o.secs > 86400 ||
	    o.max_rcpt < 1 || o.max_rcpt > MAX_RCPTS || o.nhdr < 0 ||
	    o.nhdr > MAX_HDRS || o.body < 1 || o.body > 64 * 1024 ||
	    o.domains < 0 || o.per_session < 0 || o.timeout_ms < 1 ||
	    o.hold < 0 || o.hold > 3600)
		return usage();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	w = calloc((size_t)o.conns, sizeof(*w));
	t = calloc((size_t)o.conns, sizeof(*t));
	if (w == NULL || t == NULL)
		return 1;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	t0 = tb_now();
	for (i = 0; i < o.conns; i++) {
		w[i].o = &o;
		w[i].id = i;
		w[i].rng = (o.seed * 1000003ULL + (uint64_t)i) *
				   0x9E3779B97F4A7C15ULL |
			   1;
		if ((errno = pthread_create(&t[i], &attr, work, &w[i])) != 0) {
			perror("mtbench: pthread_create");
			atomic_store(&stop, 1);
			o.conns = i;
			hold_released = 1;
			break;
		}
	}
	if (o.hold > 0 && !hold_released)
		hold_all(&o);
	else if (o.hold > 0) {
		pthread_mutex_lock(&hold_mu);
		pthread_cond_broadcast(&hold_cv);
		pthread_mutex_unlock(&hold_mu);
	}
	if (o.hold > 0)
		t0 = tb_now();
	for (i = 0; i < o.conns; i++)
		pthread_join(t[i], NULL);
	report(&o, w, tb_now() - t0);
	for (i = 0; i < o.conns; i++) {
		errors += w[i].errors;
		free(w[i].lat);
	}
	free(w);
	free(t);
	return errors ? 1 : 0;
}
