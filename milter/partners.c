/*
 * partners.c - "a partner started failing" (partners.h).
 *
 * The partners live in SHARDS shards, each a hash table with its own
 * mutex and its own least-recently-seen list, so that two decisions
 * contend only when their partners hash alike. A shard holds at most
 * its share of the cap; a new partner in a full shard takes the place
 * of the one seen longest ago. Log lines are formatted under the lock
 * and written after it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "partners.h"

#define SHARDS 16
#define KEY_MAX (TLSP_DOMAIN_MAX + 3) /* a domain, or "[address]" */
#define LINE_MAX 4096

struct partner {
	struct partner *hnext;	     /* hash chain */
	struct partner *prev, *next; /* most recently seen first */
	uint32_t hash;
	unsigned streak; /* decisions passed in a row, up to window */
	int passing;	 /* its last `window` decisions passed */
	int failing;	 /* failed since it was passing; not recovered */
	time_t last_pass, fail_since, last_said;
	unsigned long fails, unsaid; /* while failing; since the last line */
	size_t len;
	char key[KEY_MAX]; /* lower case */
};

struct shard {
	pthread_mutex_t lock;
	struct partner **tab; /* tabsz chains */
	size_t tabsz, n, max;
	struct partner *head, *tail;
};

static struct shard shards[SHARDS];
static unsigned window = 20, summary_secs = 15;
static _Atomic(uint64_t) n_failing, n_tracked, n_warned, n_recovered,
	n_summaries;

static unsigned char
fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* The length and the last 12 bytes (lower case), where domains differ;
 * the comparison confirms a match. */
static uint32_t
hash_fold(const char *s, size_t n)
{
	size_t i = n > 12 ? n - 12 : 0;
	uint32_t h = 2166136261u ^ (uint32_t)n;

	for (; i < n; i++)
		h = (h ^ fold((unsigned char)s[i])) * 16777619u;
	return h;
}

/* Whether s (n bytes, any case) is the lower-case key k (n bytes). Mail
 * comes in lower case mostly: memcmp first. */
static int
same_fold(const char *k, const char *s, size_t n)
{
	size_t i;

	if (memcmp(k, s, n) == 0)
		return 1;
	for (i = 0; i < n; i++)
		if ((unsigned char)k[i] != fold((unsigned char)s[i]))
			return 0;
	return 1;
}

int
tlspm_partners_init(unsigned win, size_t max, unsigned secs)
{
	size_t i, per = max / SHARDS + 1, tabsz = 16;

	window = win ? win : 1;
	summary_secs = secs ? secs : 1;
	atomic_store(&n_failing, 0);
	atomic_store(&n_tracked, 0);
	atomic_store(&n_warned, 0);
	atomic_store(&n_recovered, 0);
	atomic_store(&n_summaries, 0);
	while (tabsz < 2 * per)
		tabsz *= 2;
	for (i = 0; i < SHARDS; i++) {
		shards[i].tab = calloc(tabsz, sizeof(*shards[i].tab));
		if (shards[i].tab == NULL)
			return -1;
		pthread_mutex_init(&shards[i].lock, NULL);
		shards[i].tabsz = tabsz;
		shards[i].max = max / SHARDS + (i < max % SHARDS);
	}
	return 0;
}

void
tlspm_partners_free(void)
{
	struct partner *p, *next;
	size_t i;

	for (i = 0; i < SHARDS; i++) {
		for (p = shards[i].head; p != NULL; p = next) {
			next = p->next;
			free(p);
		}
		free(shards[i].tab);
		if (shards[i].tabsz)
			pthread_mutex_destroy(&shards[i].lock);
		memset(&shards[i], 0, sizeof(shards[i]));
	}
}

/* The partner of a decision, pointed to where it is (no copy: this
 * runs on every decision): the sender's domain without '>' and trailing
 * dots, or "[client address]" made in buf. Its length in *n. */
static const char *
partner_of(const char *sender, const char *client, char *buf, size_t *n)
{
	const char *at = sender ? strrchr(sender, '@') : NULL;
	int k;

	if (at != NULL) {
		*n = strcspn(++at, ">");
		while (*n > 0 && at[*n - 1] == '.')
			(*n)--;
		if (*n > 0) {
			if (*n > KEY_MAX - 1)
				*n = KEY_MAX - 1;
			return at;
		}
	}
	k = snprintf(buf, KEY_MAX, "[%s]", client ? client : "");
	*n = k < 0 ? 0 : (size_t)k < KEY_MAX ? (size_t)k : KEY_MAX - 1;
	return buf;
}

static void
lru_unlink(struct shard *sh, struct partner *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		sh->head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		sh->tail = p->prev;
	p->prev = p->next = NULL;
}

static void
lru_front(struct shard *sh, struct partner *p)
{
	p->next = sh->head;
	if (sh->head)
		sh->head->prev = p;
	sh->head = p;
	if (sh->tail == NULL)
		sh->tail = p;
}

static void
hash_unlink(struct shard *sh, struct partner *p)
{
	struct partner **pp = &sh->tab[p->hash & (sh->tabsz - 1)];

	while (*pp != p)
		pp = &(*pp)->hnext;
	*pp = p->hnext;
}

/* The partner `key`, made (or taking the least recently seen one's
 * place) when new; NULL out of memory or when the shard tracks no one.
 * Lock held. */
static struct partner *
find(struct shard *sh, const char *key, size_t n, uint32_t h)
{
	struct partner *p;

	for (p = sh->tab[h & (sh->tabsz - 1)]; p != NULL; p = p->hnext)
		if (p->hash == h && p->len == n && same_fold(p->key, key, n)) {
			lru_unlink(sh, p);
			lru_front(sh, p);
			return p;
		}
	if (sh->max == 0)
		return NULL;
	if (sh->n >= sh->max) {
		p = sh->tail;
		lru_unlink(sh, p);
		hash_unlink(sh, p);
		if (p->failing)
			atomic_fetch_sub_explicit(&n_failing, 1,
						  memory_order_relaxed);
		memset(p, 0, sizeof(*p));
	} else if ((p = calloc(1, sizeof(*p))) != NULL) {
		sh->n++;
		atomic_fetch_add_explicit(&n_tracked, 1, memory_order_relaxed);
	} else {
		return NULL;
	}
	for (p->len = 0; p->len < n; p->len++)
		p->key[p->len] = (char)fold((unsigned char)key[p->len]);
	p->key[n] = '\0';
	p->hash = h;
	p->hnext = sh->tab[h & (sh->tabsz - 1)];
	sh->tab[h & (sh->tabsz - 1)] = p;
	lru_front(sh, p);
	return p;
}

/* The first rule that did not pass, and its first failure; NULL when
 * every rule that applied passed. *applied: some rule applied. */
static const struct tlsp_rule_result *
first_failure(const struct tlsp_verdict *v, int *applied)
{
	size_t i;

	*applied = 0;
	for (i = 0; i < v->nrules; i++) {
		if (v->r[i].exempt)
			continue;
		*applied = 1;
		if (v->r[i].status != TLSP_PASS && v->r[i].nfail > 0)
			return &v->r[i];
	}
	return NULL;
}

static void
utc(time_t t, char *buf, size_t bufsz)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL)
		snprintf(buf, bufsz, "-");
	else
		strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* What failed, escaped, as "rule=.. requirement=.. required=".."
 * observed=".."". */
static void
what_failed(const struct tlsp_rule_result *r, char *buf, size_t bufsz)
{
	const struct tlsp_failure *f = &r->fail[0];
	const char *rule = tlsp_rule_name(r->rule);
	char erule[4 * 300], ereq[4 * sizeof(f->required)],
		eobs[4 * sizeof(f->observed)];

	tlsp_escape_log(rule, strlen(rule), erule, sizeof(erule));
	tlsp_escape_log(f->required, strlen(f->required), ereq, sizeof(ereq));
	tlsp_escape_log(f->observed, strlen(f->observed), eobs, sizeof(eobs));
	snprintf(buf, bufsz,
		 "rule=%s requirement=%s%s required=\"%s\" observed=\"%s\"",
		 erule, tlsp_req_name(f->req),
		 f->status == TLSP_UNKNOWN ? " status=unknown" : "", ereq,
		 eobs);
}

/* One decision for partner p (lock held); a line to log into line, or
 * "" for none. */
static void
update(struct partner *p, const struct tlsp_rule_result *bad, const char *logid,
       time_t now, char *line)
{
	char what[2560], t1[32], t2[32], elogid[256], ekey[4 * KEY_MAX];

	line[0] = '\0';
	if (bad == NULL) {
		p->last_pass = now;
		if (p->streak < window)
			p->streak++;
		if (p->streak < window)
			return;
		p->passing = 1;
		if (!p->failing)
			return;
		utc(p->fail_since, t1, sizeof(t1));
		tlsp_escape_log(p->key, p->len, ekey, sizeof(ekey));
		snprintf(line, LINE_MAX,
			 "partner recovered: partner=%s failing_since=%s "
			 "failures=%lu passes=%u",
			 ekey, t1, p->fails, window);
		p->failing = 0;
		atomic_fetch_sub_explicit(&n_failing, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&n_recovered, 1,
					  memory_order_relaxed);
		return;
	}
	p->streak = 0;
	if (p->failing) {
		p->fails++;
		p->unsaid++;
		if (now - p->last_said < (time_t)summary_secs)
			return;
		what_failed(bad, what, sizeof(what));
		utc(p->fail_since, t1, sizeof(t1));
		utc(p->last_pass, t2, sizeof(t2));
		tlsp_escape_log(p->key, p->len, ekey, sizeof(ekey));
		snprintf(line, LINE_MAX,
			 "partner still failing: partner=%s since=%s "
			 "failures=%lu new=%lu last_pass=%s %s",
			 ekey, t1, p->fails, p->unsaid, t2, what);
		p->unsaid = 0;
		p->last_said = now;
		atomic_fetch_add_explicit(&n_summaries, 1,
					  memory_order_relaxed);
		return;
	}
	if (!p->passing)
		return; /* never passed its window: nothing started failing */
	p->passing = 0;
	p->failing = 1;
	p->fails = 1;
	p->unsaid = 0;
	p->fail_since = p->last_said = now;
	atomic_fetch_add_explicit(&n_failing, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&n_warned, 1, memory_order_relaxed);
	what_failed(bad, what, sizeof(what));
	utc(p->last_pass, t2, sizeof(t2));
	tlsp_escape_log(logid, strlen(logid), elogid, sizeof(elogid));
	tlsp_escape_log(p->key, p->len, ekey, sizeof(ekey));
	snprintf(line, LINE_MAX,
		 "partner failing: partner=%s %s last_pass=%s passes=%u "
		 "id=%s",
		 ekey, what, t2, window, elogid);
}

void
tlspm_partners_observe(const char *sender, const char *client_addr,
		       const struct tlsp_verdict *v, const char *logid,
		       time_t now)
{
	const struct tlsp_rule_result *bad;
	char buf[KEY_MAX], line[LINE_MAX];
	const char *key;
	size_t n;
	struct partner *p;
	struct shard *sh;
	uint32_t h;
	int applied;

	bad = first_failure(v, &applied);
	if (!applied)
		return;
	key = partner_of(sender, client_addr, buf, &n);
	h = hash_fold(key, n);
	sh = &shards[h % SHARDS];
	if (sh->tab == NULL)
		return; /* not set up */
	pthread_mutex_lock(&sh->lock);
	p = find(sh, key, n, h);
	if (p != NULL)
		update(p, bad, logid ? logid : "-", now, line);
	pthread_mutex_unlock(&sh->lock);
	if (p != NULL && line[0] != '\0')
		tlspm_log(bad ? LOG_WARNING : LOG_NOTICE, "%s", line);
}

void
tlspm_partners_stats(struct tlspm_partners_stats *out)
{
	out->failing = atomic_load_explicit(&n_failing, memory_order_relaxed);
	out->tracked = atomic_load_explicit(&n_tracked, memory_order_relaxed);
	out->warned = atomic_load_explicit(&n_warned, memory_order_relaxed);
	out->recovered = atomic_load_explicit(&n_recovered,
					      memory_order_relaxed);
	out->summaries = atomic_load_explicit(&n_summaries,
					      memory_order_relaxed);
}
