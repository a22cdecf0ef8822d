/*
 * bench_audit.c - what the audit trail costs, measured against baselines
 * in the same run (make bench; never part of make check).
 *
 * 1. Hashing one realistic message record: plain SHA-256 of the line
 *    (the floor) against the chain hash with per-field digests (the
 *    canonical bytes of audit/FORMAT.md), so the price of redactability
 *    is a ratio.
 *    Then the ways to set the digests up per record: set up per record,
 *    kept and re-initialised, copied from prepared contexts.
 * 2. Building a record's body (on the milter's reply path) against a
 *    copy of the same bytes.
 * 3. The writer: records per second for sync none, batch and always,
 *    from 1 and 8 threads, against a naive baseline that does one write
 *    and one fdatasync per record on the same file system, so the gain of
 *    group commit is a ratio too.
 *
 * Every loop is bounded in count and in time.
 *
 *   bench_audit [-d DIR] [-n RECORDS] [-s SETUP_RUNS]
 *
 * BENCH_AUDIT_SETUP_ONLY=1 stops after the set-up comparison (for
 * callgrind: valgrind --tool=callgrind bench_audit -s 2000).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

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
 * The ways to set digests up for one keyed record (issue 22), on the
 * record's real canonical bytes and its five field digests: everything
 * set up per record (what chain.c did: EVP_MD_CTX_new per record,
 * EVP_DigestInit_ex per field, one-shot HMAC()), against contexts kept
 * and re-initialised (what chain.c does now), against contexts copied
 * from prepared ones (EVP_MD_CTX_copy_ex per field, EVP_MAC_CTX_dup per
 * record). Then the whole chain hash, set up per call and prepared.
 */
struct fieldv {
	const char *k, *v;
};

static const struct fieldv fields[] = {
	{"addr", "192.0.2.25"},		  {"name", "mx1.partner.example"},
	{"helo", "mx1.partner.example"},  {"sender", "<ops@partner.example>"},
	{"addr", "<alice@bank.example>"}, {"addr", "<bob@bank.example>"},
};

static const char salt[] = "0123456789abcdef0123456789abcdef";

static void
one_field(EVP_MD_CTX *c, const EVP_MD *md, const struct fieldv *f, int init)
{
	unsigned char out[EVP_MAX_MD_SIZE], z = 0;
	unsigned int n;

	if (init)
		EVP_DigestInit_ex(c, md, NULL);
	EVP_DigestUpdate(c, salt, 32);
	EVP_DigestUpdate(c, &z, 1);
	EVP_DigestUpdate(c, f->k, strlen(f->k));
	EVP_DigestUpdate(c, &z, 1);
	EVP_DigestUpdate(c, f->v, strlen(f->v));
	EVP_DigestFinal_ex(c, out, &n);
}

/* The three ways, one record each (separate functions, so that callgrind
 * counts each one's instructions: callgrind_annotate --inclusive=yes). */
static void __attribute__((noinline))
setup_per_record(const EVP_MD *md, const unsigned char *key, const char *canon,
		 size_t clen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int olen;
	size_t j;

	for (j = 0; j < NELEM(fields); j++)
		one_field(c, md, &fields[j], 1);
	EVP_MD_CTX_free(c);
	HMAC(md, key, 32, (const unsigned char *)canon, clen, out, &olen);
}

static void __attribute__((noinline))
setup_kept(EVP_MD_CTX *keep, const EVP_MD *md, EVP_MAC_CTX *mac,
	   const char *canon, size_t clen)
{
	unsigned char out[EVP_MAX_MD_SIZE];
	size_t j, mlen;

	for (j = 0; j < NELEM(fields); j++)
		one_field(keep, md, &fields[j], 1);
	EVP_MAC_init(mac, NULL, 0, NULL);
	EVP_MAC_update(mac, (const unsigned char *)canon, clen);
	EVP_MAC_final(mac, out, &mlen, sizeof(out));
}

static void __attribute__((noinline))
setup_copied(EVP_MD_CTX *keep, const EVP_MD_CTX *base, const EVP_MD *md,
	     const EVP_MAC_CTX *mbase, const char *canon, size_t clen)
{
	unsigned char out[EVP_MAX_MD_SIZE];
	EVP_MAC_CTX *m;
	size_t j, mlen;

	for (j = 0; j < NELEM(fields); j++) {
		EVP_MD_CTX_copy_ex(keep, base);
		one_field(keep, md, &fields[j], 0);
	}
	m = EVP_MAC_CTX_dup(mbase);
	EVP_MAC_update(m, (const unsigned char *)canon, clen);
	EVP_MAC_final(m, out, &mlen, sizeof(out));
	EVP_MAC_CTX_free(m);
}

static double
per_record(int how, size_t n, const EVP_MD *md, EVP_MAC *hmac,
	   const unsigned char *key, const char *canon, size_t clen)
{
	OSSL_PARAM params[2];
	EVP_MD_CTX *keep = EVP_MD_CTX_new(), *base = EVP_MD_CTX_new();
	EVP_MAC_CTX *mbase = EVP_MAC_CTX_new(hmac);
	size_t i;
	double t0;

	params[0] = OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	EVP_DigestInit_ex(base, md, NULL);
	EVP_MAC_init(mbase, key, 32, params);
	t0 = tb_now();
	for (i = 0; i < n && tb_now() - t0 < MAX_SECS; i++) {
		if (how == 0)
			setup_per_record(md, key, canon, clen);
		else if (how == 1)
			setup_kept(keep, md, mbase, canon, clen);
		else
			setup_copied(keep, base, md, mbase, canon, clen);
	}
	t0 = (tb_now() - t0) / (double)i;
	EVP_MD_CTX_free(keep);
	EVP_MD_CTX_free(base);
	EVP_MAC_CTX_free(mbase);
	return t0;
}

static void
bench_setup(const char *dir, size_t n)
{
	static const char *const names[] = {
		"set up per record (HMAC(), ctx new)",
		"kept, re-initialised (chosen)",
		"copied from prepared (copy_ex, dup)",
	};
	static unsigned char k[32] = "0123456789abcdef0123456789abcde";
	struct tlsp_chain_key key = {k, 32};
	struct tlsp_chain_ctx *cx = tlsp_chain_ctx_new(&key);
	struct tlsp_jbuf canon = {0}, scratch = {0};
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	char hex[TLSP_HASH_HEX + 1];
	size_t len, i;
	char *line = sample_line(dir, &len);
	size_t blen = len - TLSP_CHAIN_SUFFIX + 1;
	double t0, per[3], oneshot, prepared;
	int how;

	line[blen - 1] = '}';
	if (cx == NULL || md == NULL || hmac == NULL ||
	    tlsp_chain_canon(line, blen, &canon) < 0)
		exit(1);
	for (how = 0; how < 3; how++)
		per[how] = per_record(how, n, md, hmac, key.k, canon.p,
				      canon.len);
	printf("digest set-up, one keyed record (%zu canonical bytes, %zu "
	       "field digests)\n",
	       canon.len, NELEM(fields));
	for (how = 0; how < 3; how++)
		printf("  %-36s %6.2f us   %.2fx\n", names[how], per[how] * 1e6,
		       per[how] / per[0]);
	t0 = tb_now();
	for (i = 0; i < n && tb_now() - t0 < MAX_SECS; i++)
		tlsp_chain_hash(line, blen, &key, &scratch, hex);
	oneshot = (tb_now() - t0) / (double)i;
	t0 = tb_now();
	for (i = 0; i < n && tb_now() - t0 < MAX_SECS; i++)
		tlsp_chain_hash_with(cx, line, blen, &scratch, hex);
	prepared = (tb_now() - t0) / (double)i;
	printf("  chain hash, keyed, set up per call  %6.2f us\n",
	       oneshot * 1e6);
	printf("  chain hash, keyed, prepared context %6.2f us   %.2fx\n",
	       prepared * 1e6, prepared / oneshot);
	tlsp_chain_ctx_free(cx);
	tlsp_jb_free(&canon);
	tlsp_jb_free(&scratch);
	EVP_MD_free(md);
	EVP_MAC_free(hmac);
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
	size_t iters = 200000;
	double naive, r;
	size_t m, t;

	while ((c = getopt(argc, argv, "d:n:s:")) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 's')
			iters = (size_t)atol(optarg);
		else if (c == 'n')
			n = atoi(optarg);
		else {
			fprintf(stderr,
				"usage: bench_audit [-d dir] [-n records] "
				"[-s set-up runs]\n");
			return 64;
		}
	}
	if (getenv("BENCH_AUDIT_SETUP_ONLY") != NULL) {
		bench_setup(dir, iters);
		return 0;
	}
	bench_hash(dir);
	bench_setup(dir, iters);
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
