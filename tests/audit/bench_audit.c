/*
 * bench_audit.c - what the audit trail costs, measured against baselines
 * in the same run (make bench; never part of make check).
 *
 * 1. Hashing one realistic message record: plain SHA-256 of the line
 *    (the floor) against the chain hash with per-field digests (the
 *    canonical bytes of audit/FORMAT.md), so the price of redactability
 *    is a ratio.
 * 2. Building a record's body (on the milter's reply path) against a
 *    copy of the same bytes.
 * 3. The writer: records per second for sync none, batch and always,
 *    from 1 and 8 threads, against a naive baseline that does one write
 *    and one fdatasync per record on the same file system, so the gain of
 *    group commit is a ratio too.
 *
 * Every loop is bounded in count and in time.
 *
 *   bench_audit [-d DIR] [-n RECORDS]
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../bench/clock.h"
#include "body.h"
#include "chain.h"
#include "json.h"
#include "tlspolicy/audit.h"

#define MAX_SECS 20.0 /* no single measurement runs longer */

/* A message record shaped like the daemon's, for 2 recipients. */
static void
sample_event(struct tlsp_audit_event *ev, struct tlsp_event_rcpt *r,
	     struct tlsp_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->mta = TLSP_MTA_POSTFIX;
	f->version = TLSP_VER_TLSV1_3;
	snprintf(f->version_raw, sizeof(f->version_raw), "TLSv1.3");
	snprintf(f->cipher, sizeof(f->cipher), "TLS_AES_256_GCM_SHA384");
	f->cipher_bits = 256;
	f->cipher_info.forward_secrecy = 1;
	f->subject_seen = f->issuer_seen = 1;
	snprintf(f->subject_cn, sizeof(f->subject_cn), "mx1.partner.example");
	snprintf(f->issuer_cn, sizeof(f->issuer_cn), "Example Issuing CA 7");
	r[0] = (struct tlsp_event_rcpt){"<alice@bank.example>", NULL, NULL};
	r[1] = (struct tlsp_event_rcpt){"<bob@bank.example>", NULL, NULL};
	*ev = (struct tlsp_audit_event){
		.type = TLSP_EV_MESSAGE,
		.txid = "T00000042",
		.queue_id = "4XyzAbC12D",
		.client_addr = "192.0.2.25",
		.client_name = "mx1.partner.example",
		.helo = "mx1.partner.example",
		.sender = "<ops@partner.example>",
		.facts = f,
		.rcpts = r,
		.nrcpts = 2,
		.action = TLSP_ACTION_ACCEPT,
		.would_action = TLSP_ACTION_ACCEPT,
		.policy_hash =
			"9db2e012dced3d0073184ac973a2f1ea905a10c728c8d3c9"
			"91608e9c950db02f"};
}

/* Writes one record and reads its line back (without the LF). */
static char *
sample_line(const char *dir, size_t *len)
{
	struct tlsp_audit_event ev;
	struct tlsp_event_rcpt r[2];
	struct tlsp_facts f;
	char path[600], err[512], *buf = malloc(65536);
	struct tlsp_audit *a;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/sample.log", dir);
	unlink(path);
	sample_event(&ev, r, &f);
	if (buf == NULL ||
	    (a = tlsp_audit_open(path, "mx.bench", TLSP_SYNC_NONE, err,
				 sizeof(err))) == NULL) {
		fprintf(stderr, "bench_audit: %s\n", err);
		exit(1);
	}
	if (tlsp_audit_submit(a, &ev, 1) < 0)
		exit(1);
	tlsp_audit_close(a);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, 65535);
	if (n <= 1)
		exit(1);
	close(fd);
	*len = (size_t)n - 1;
	return buf;
}

static void
bench_hash(const char *dir)
{
	struct tlsp_jbuf scratch = {0};
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char hex[TLSP_HASH_HEX + 1];
	size_t len, i, n = 200000;
	char *line = sample_line(dir, &len);
	double t0, plain, chain;
	/* the record without ,"hash":"..."}: what the writer hashes */
	size_t blen = len - TLSP_CHAIN_SUFFIX + 1;
	EVP_MD *md256 = EVP_MD_fetch(NULL, "SHA256", NULL); /* as chain.c */

	line[blen - 1] = '}';
	t0 = tb_now();
	for (i = 0; i < n && tb_now() - t0 < MAX_SECS; i++)
		EVP_Digest(line, blen, md, &mdlen, md256, NULL);
	plain = (tb_now() - t0) / (double)i;
	t0 = tb_now();
	for (i = 0; i < n && tb_now() - t0 < MAX_SECS; i++)
		tlsp_chain_hash(line, blen, NULL, &scratch, hex);
	chain = (tb_now() - t0) / (double)i;
	printf("record hash (%zu-byte message record, %zu runs)\n", blen, n);
	printf("  sha256 of the line (floor)        %8.2f us\n", plain * 1e6);
	printf("  chain hash, per-field digests     %8.2f us   %.2fx the floor\n",
	       chain * 1e6, chain / plain);
	tlsp_jb_free(&scratch);
	EVP_MD_free(md256);
	free(line);
}

/*
 * Building one message record's body on the submitting thread (the
 * part of the record on the milter's reply path), against copying the
 * same bytes into a fresh buffer: the floor for producing them.
 */
static void
bench_body(void)
{
	struct tlsp_audit_event ev;
	struct tlsp_event_rcpt r[2];
	struct tlsp_facts f;
	struct tlsp_body_opts o = {.host = "mx.bench"};
	struct tlsp_jbuf jb = {0}, copy = {0};
	size_t i, n = 200000, len;
	double t0, build, floor;

	sample_event(&ev, r, &f);
	if (tlsp_body_build(&jb, &o, &ev) < 0)
		exit(1);
	len = jb.len;
	t0 = tb_now();
	for (i = 0; i < n && tb_now() - t0 < MAX_SECS; i++) {
		tlsp_jb_free(&copy);
		tlsp_jb_raw(&copy, jb.p, jb.len);
	}
	floor = (tb_now() - t0) / (double)i;
	t0 = tb_now();
	for (i = 0; i < n && tb_now() - t0 < MAX_SECS; i++) {
		tlsp_jb_free(&jb);
		if (tlsp_body_build(&jb, &o, &ev) < 0)
			exit(1);
	}
	build = (tb_now() - t0) / (double)i;
	printf("record body (%zu bytes, %zu runs)\n", len, n);
	printf("  copy of the bytes (floor)         %8.2f us\n", floor * 1e6);
	printf("  tlsp_body_build                   %8.2f us   %.2fx the floor\n",
	       build * 1e6, build / floor);
	tlsp_jb_free(&jb);
	tlsp_jb_free(&copy);
}

struct job {
	struct tlsp_audit *a;
	int n, failed;
};

static void *
job_run(void *arg)
{
	struct job *j = arg;
	struct tlsp_audit_event ev;
	struct tlsp_event_rcpt r[2];
	struct tlsp_facts f;
	double t0 = tb_now();
	int i;

	sample_event(&ev, r, &f);
	for (i = 0; i < j->n && tb_now() - t0 < MAX_SECS; i++)
		if (tlsp_audit_submit(j->a, &ev, 0) < 0)
			j->failed++;
	j->n = i;
	return NULL;
}

/* Records per second through the sink with `threads` submitters. */
static double
bench_sink(const char *dir, enum tlsp_audit_sync sync, int threads, int n)
{
	struct job jobs[8];
	pthread_t tid[8];
	char path[600], err[512];
	struct tlsp_audit *a;
	double t0, t;
	int i, total = 0;

	snprintf(path, sizeof(path), "%s/bench.log", dir);
	unlink(path);
	a = tlsp_audit_open(path, "mx.bench", sync, err, sizeof(err));
	if (a == NULL) {
		fprintf(stderr, "bench_audit: %s\n", err);
		exit(1);
	}
	t0 = tb_now();
	for (i = 0; i < threads; i++) {
		jobs[i] = (struct job){a, n / threads, 0};
		pthread_create(&tid[i], NULL, job_run, &jobs[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		total += jobs[i].n;
		if (jobs[i].failed)
			fprintf(stderr, "bench_audit: %d records failed\n",
				jobs[i].failed);
	}
	tlsp_audit_close(a); /* includes the final sync */
	t = tb_now() - t0;
	unlink(path);
	return total / t;
}

/* The naive writer: one write and one fdatasync per record. */
static double
bench_naive(const char *dir, int n)
{
	char path[600];
	size_t len;
	char *line = sample_line(dir, &len);
	double t0 = tb_now();
	int fd, i;

	snprintf(path, sizeof(path), "%s/naive.log", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (fd < 0)
		exit(1);
	line[len] = '\n';
	for (i = 0; i < n && tb_now() - t0 < MAX_SECS; i++)
		if (write(fd, line, len + 1) != (ssize_t)len + 1 ||
		    fdatasync(fd) < 0)
			exit(1);
	close(fd);
	unlink(path);
	free(line);
	return i / (tb_now() - t0);
}

int
main(int argc, char **argv)
{
	static const struct {
		enum tlsp_audit_sync sync;
		const char *name;
	} modes[] = {{TLSP_SYNC_NONE, "none"},
		     {TLSP_SYNC_BATCH, "batch"},
		     {TLSP_SYNC_ALWAYS, "always"}};
	const char *dir = ".";
	int n = 20000, c, threads[] = {1, 8};
	double naive, r;
	size_t m, t;

	while ((c = getopt(argc, argv, "d:n:")) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'n')
			n = atoi(optarg);
		else {
			fprintf(stderr,
				"usage: bench_audit [-d dir] [-n records]\n");
			return 64;
		}
	}
	bench_hash(dir);
	bench_body();
	naive = bench_naive(dir, n / 4);
	printf("\nwriter (%d records, directory %s)\n", n, dir);
	printf("  naive: write + fdatasync per record  %9.0f records/s   1.00x\n",
	       naive);
	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
		for (t = 0; t < 2; t++) {
			r = bench_sink(dir, modes[m].sync, threads[t],
				       modes[m].sync == TLSP_SYNC_ALWAYS ? n / 4
									 : n);
			printf("  sync %-6s %d thread%s               %9.0f "
			       "records/s %6.2fx\n",
			       modes[m].name, threads[t],
			       threads[t] > 1 ? "s" : " ", r, r / naive);
		}
	return 0;
}
