/*
 * session.c - per-connection and per-transaction state.
 *
 * Everything a connection needs lives here and is reached only through
 * smfi_getpriv(): libmilter may run each callback of one connection on a
 * different thread, so nothing per-connection may be thread-local.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "holder.h"
#include "metrics.h"
#include "session.h"
#include "state.h"

/* A random 48-bit start, drawn once per process (after the daemon forks:
 * the first connection draws it). */
static pthread_once_t id_once = PTHREAD_ONCE_INIT;
static uint64_t id_base;

static void
id_init(void)
{
	unsigned char r[6] = {0};
	size_t i;

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		memset(r, 0, sizeof(r));
	for (i = 0; i < sizeof(r); i++)
		id_base = id_base << 8 | r[i];
}

struct tlspm_session *
tlspm_session_new(void)
{
	struct tlspm_session *s = calloc(1, sizeof(*s));
	uint64_t n, x;

	if (s == NULL)
		return NULL;
	s->policy = tlspm_holder_get();
	if (s->policy == NULL) {
		free(s);
		return NULL;
	}
	s->st = tlsp_policy_settings(s->policy);
	/* Random, so ids from two daemons or two runs never collide, and
	 * unique within this run: an odd multiplier maps the counter one
	 * to one onto 48 bits, with no system call per connection. */
	(void)pthread_once(&id_once, id_init);
	n = atomic_fetch_add(&tlspm.conn_seq, 1) + 1;
	x = (id_base + n * 0x9e3779b97f4a7c15ULL) & 0xffffffffffffULL;
	snprintf(s->conn_id, sizeof(s->conn_id), "%012llx%llx",
		 (unsigned long long)x, (unsigned long long)(n & 0xfff));
	tlspm_metrics_connection(1);
	return s;
}

void
tlspm_session_reset_tx(struct tlspm_session *s)
{
	size_t i;

	for (i = 0; i < s->nrcpts; i++)
		free(s->rcpts[i].addr);
	free(s->rcpts);
	free(s->sender);
	s->rcpts = NULL;
	s->nrcpts = s->cap = 0;
	s->sender = NULL;
	s->in_tx = 0;
	s->txid[0] = '\0';
	s->queue_id[0] = '\0';
	s->queue_id_log[0] = '\0';
	s->forged = 0;
	s->nmail_params = 0;
	s->tls_required = TLSPM_TLSREQ_ABSENT;
	memset(&s->facts, 0, sizeof(s->facts));
}

void
tlspm_session_free(struct tlspm_session *s)
{
	if (s == NULL)
		return;
	tlspm_session_reset_tx(s);
	tlsp_policy_unref(s->policy);
	free(s);
	tlspm_metrics_connection(-1);
}

void
tlspm_session_begin_tx(struct tlspm_session *s)
{
	tlspm_session_reset_tx(s);
	s->in_tx = 1;
	s->tx_time = time(NULL);
	snprintf(s->txid, sizeof(s->txid), "%s.%u", s->conn_id, ++s->ntx);
}

void
tlspm_session_mail_params(struct tlspm_session *s, char *const *argv)
{
	size_t i;

	s->nmail_params = 0;
	for (i = 0; argv && argv[i] && i < TLSPM_MAIL_PARAMS_MAX; i++) {
		(void)tlsp_text_copy(s->mail_params[i], TLSPM_MAIL_PARAM_LEN,
				     argv[i]);
		s->mail_param[i] = s->mail_params[i];
		s->nmail_params++;
	}
}

int
tlspm_session_add_rcpt(struct tlspm_session *s, const char *addr,
		       const struct tlsp_verdict *v)
{
	struct tlspm_rcpt *r;

	if (s->nrcpts == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;

		r = realloc(s->rcpts, cap * sizeof(*r));
		if (r == NULL)
			return -1;
		s->rcpts = r;
		s->cap = cap;
	}
	r = &s->rcpts[s->nrcpts];
	r->addr = strdup(addr);
	if (r->addr == NULL)
		return -1;
	r->action = v->action;
	r->would = v->would_action;
	r->decided_by = v->decided_by;
	s->nrcpts++;
	return 0;
}

const char *
tlspm_session_logid(const struct tlspm_session *s)
{
	if (s->queue_id_log[0])
		return s->queue_id_log;
	return s->txid[0] ? s->txid : s->conn_id;
}
