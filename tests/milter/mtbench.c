/*
 * mtbench.c - a bounded milter load generator: C connections, each
 * running N transactions shaped like Postfix's (macros per stage, EHLO
 * twice, MAIL, RCPTs, headers, end of message), honouring what the
 * milter negotiated. Prints transactions per second and latency
 * percentiles; used by tests/milter/bench-strip.sh for A/B ratios.
 *
 *   mtbench -s unix:/path [-c conns] [-n tx_per_conn] [-r rcpts]
 *           [-H headers]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

struct opts {
	const char *spec;
	int conns, ntx, nrcpt, nhdr;
};

struct worker {
	const struct opts *o;
	double *lat; /* seconds per transaction */
	int done, errors;
	char err[256];
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct mt_macro tls[] = {
    {"j", "mx.test.example"},
    {"{daemon_name}", "smtpd"},
    {"v", "Postfix 3.7.11"},
    {"{tls_version}", "TLSv1.2"},
    {"{cipher}", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"{cipher_bits}", "256"},
    {"i", "4QUEUEID"},
    {"{mail_addr}", "a@sender.example"},
    {"{rcpt_addr}", "b@strict.example"},
};
#define NTLS (sizeof(tls) / sizeof(tls[0]))

static int
one_tx(struct mt_conn *c, const struct opts *o, struct mt_reply *r)
{
	const char *from = "<a@sender.example>", *to = "<b@strict.example>";
	int i;

	if (mt_macros(c, SMFIC_MAIL, tls, NTLS) < 0 || mt_mail(c, &from, 1, r) < 0)
		return -1;
	for (i = 0; i < o->nrcpt; i++)
		if (mt_macros(c, SMFIC_RCPT, tls, NTLS) < 0 ||
		    mt_rcpt(c, &to, 1, r) < 0)
			return -1;
	if (mt_macros(c, SMFIC_DATA, tls, NTLS) < 0 || mt_data(c, r) < 0)
		return -1;
	if (r->code == SMFIR_ACCEPT)
		return 0;
	for (i = 0; i < o->nhdr; i++)
		if (mt_header(c, i ? "X-Header" : "Received",
			      "from client.example by mx.test.example", r) < 0)
			return -1;
	if (mt_eoh(c, r) < 0 || mt_body(c, "hello\r\n", 7, r) < 0 ||
	    mt_macros(c, SMFIC_BODYEOB, tls, NTLS) < 0 || mt_eom(c, r) < 0)
		return -1;
	return 0;
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	struct mt_reply *r = calloc(1, sizeof(*r));
	struct mt_conn *c = r ? mt_open(o->spec, 10000, w->err, sizeof(w->err))
			      : NULL;
	int i;

	if (c == NULL || mt_negotiate(c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL) < 0 ||
	    mt_macros(c, SMFIC_CONNECT, tls, NTLS) < 0 ||
	    mt_connect(c, "client.example", SMFIA_INET, 25, "192.0.2.1", r) < 0 ||
	    mt_helo(c, "client.example", r) < 0 ||
	    mt_macros(c, SMFIC_HELO, tls, NTLS) < 0 ||
	    mt_helo(c, "client.example", r) < 0) { /* EHLO after STARTTLS */
		w->errors++;
		goto out;
	}
	for (i = 0; i < o->ntx; i++) {
		double t0 = now();

		if (one_tx(c, o, r) < 0) {
			snprintf(w->err, sizeof(w->err), "%s", mt_error(c));
			w->errors++;
			break;
		}
		w->lat[w->done++] = now() - t0;
	}
	mt_quit(c);
out:
	mt_close(c);
	free(r);
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct opts o = {NULL, 8, 200, 1, 5};
	struct worker *w;
	pthread_t *t;
	double *all, t0, secs;
	int ch, i, n = 0, errors = 0;

	while ((ch = getopt(argc, argv, "s:c:n:r:H:")) != -1) {
		switch (ch) {
		case 's': o.spec = optarg; break;
		case 'c': o.conns = atoi(optarg); break;
		case 'n': o.ntx = atoi(optarg); break;
		case 'r': o.nrcpt = atoi(optarg); break;
		case 'H': o.nhdr = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (o.spec == NULL || o.conns < 1 || o.conns > 2000 || o.ntx < 1 ||
	    o.ntx > 1000000 || o.nrcpt < 1 || o.nhdr < 1)
		goto usage;
	w = calloc((size_t)o.conns, sizeof(*w));
	t = calloc((size_t)o.conns, sizeof(*t));
	all = calloc((size_t)o.conns * (size_t)o.ntx, sizeof(*all));
	if (w == NULL || t == NULL || all == NULL)
		return 1;
	t0 = now();
	for (i = 0; i < o.conns; i++) {
		w[i].o = &o;
		w[i].lat = all + (size_t)i * (size_t)o.ntx;
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (i = 0; i < o.conns; i++)
		pthread_join(t[i], NULL);
	secs = now() - t0;
	for (i = 0; i < o.conns; i++) {
		memmove(all + n, w[i].lat, (size_t)w[i].done * sizeof(*all));
		n += w[i].done;
		errors += w[i].errors;
		if (w[i].errors)
			fprintf(stderr, "mtbench: connection %d: %s\n", i, w[i].err);
	}
	qsort(all, (size_t)n, sizeof(*all), cmp);
	printf("tx=%d errors=%d secs=%.3f tps=%.1f p50_us=%.0f p99_us=%.0f "
	       "max_us=%.0f\n", n, errors, secs, n / secs,
	       n ? all[n / 2] * 1e6 : 0, n ? all[(size_t)(n * 0.99)] * 1e6 : 0,
	       n ? all[n - 1] * 1e6 : 0);
	return errors ? 1 : 0;
usage:
	fprintf(stderr, "usage: mtbench -s SOCKET [-c conns] [-n tx] [-r rcpts] "
			"[-H headers]\n");
	return 64;
}
