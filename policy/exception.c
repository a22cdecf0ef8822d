/*
 * exception.c - the policy's `exceptions:`: reading them, indexing them,
 * and finding the ones that apply to a message.
 *
 * An exception is an agreed, owned and dated hole in the policy: it names
 * what it waives, for which senders, recipients or client networks, why,
 * who answers for it and when it ends. The index keys every selector
 * value (a domain pattern, or a network) to the exceptions stating it, so
 * a lookup costs a few hash probes however many exceptions there are;
 * whether one is still in force is decided at lookup, against the time
 * the caller passes.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"

#define ALL_REQS ((1u << TLSP_REQ_COUNT) - 1)
#define MAX_CANDIDATES 64

struct ex_read {
	struct tlsp_compile_ctx *c;
	struct tlsp_exception *e;
	const struct tlsp_ynode *item;
	char where[100];
	unsigned seen; /* bit per key row */
};

static int read_name(struct ex_read *, const struct tlsp_ynode *);
static int read_senders(struct ex_read *, const struct tlsp_ynode *);
static int read_recipients(struct ex_read *, const struct tlsp_ynode *);
static int read_clients(struct ex_read *, const struct tlsp_ynode *);
static int read_waive(struct ex_read *, const struct tlsp_ynode *);
static int read_reason(struct ex_read *, const struct tlsp_ynode *);
static int read_owner(struct ex_read *, const struct tlsp_ynode *);
static int read_expires(struct ex_read *, const struct tlsp_ynode *);
static int read_ticket(struct ex_read *, const struct tlsp_ynode *);

/* The keys of an exception: name, handler, whether it must be there. */
static const struct ex_key {
	const char *name;
	int (*read)(struct ex_read *, const struct tlsp_ynode *);
	int mandatory;
} ex_keys[] = {
	{"name", read_name, 1},
	{"sender", read_senders, 0},
	{"recipient", read_recipients, 0},
	{"client", read_clients, 0},
	{"waive", read_waive, 1},
	{"reason", read_reason, 1},
	{"owner", read_owner, 1},
	{"expires", read_expires, 1},
	{"ticket", read_ticket, 0},
};
#define NEX_KEYS (sizeof(ex_keys) / sizeof(ex_keys[0]))

static int
oom(struct ex_read *r)
{
	r->c->oom = 1;
	return -1;
}

/* A non-empty string value into the arena. */
static int
text(struct ex_read *r, const struct tlsp_ynode *v, const char *key, char **out)
{
	if (v->type != TLSP_YNODE_SCALAR || tlsp_schema_is_empty(v) ||
	    v->len == 0) {
		tlsp_schema_error(r->c, v, r->where,
				  "'%s' expects a non-empty string, found %s",
				  key, tlsp_ytree_kind(v));
		return -1;
	}
	if ((*out = tlsp_arena_strndup(r->c->a, v->str, v->len)) == NULL)
		return oom(r);
	return 0;
}

static int
read_name(struct ex_read *r, const struct tlsp_ynode *v)
{
	if (v->type != TLSP_YNODE_SCALAR || v->len == 0 || v->len > 64 ||
	    strspn(v->str, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY"
			   "Z0123456789_.-") != v->len) {
		tlsp_schema_error(r->c, v, "exceptions",
				  "an exception's name is 1 to 64 letters, "
				  "digits, '_', '.' or '-'");
		return -1;
	}
	if (text(r, v, "name", &r->e->name) < 0)
		return -1;
	snprintf(r->where, sizeof(r->where), "exception %s", r->e->name);
	return 0;
}

static int
read_reason(struct ex_read *r, const struct tlsp_ynode *v)
{
	return text(r, v, "reason", &r->e->reason);
}

static int
read_owner(struct ex_read *r, const struct tlsp_ynode *v)
{
	return text(r, v, "owner", &r->e->owner);
}

static int
read_ticket(struct ex_read *r, const struct tlsp_ynode *v)
{
	return text(r, v, "ticket", &r->e->ticket);
}

static int
read_expires(struct ex_read *r, const struct tlsp_ynode *v)
{
	int is_date;

	if (tlsp_schema_when(r->c, v, r->where, "expires", 1, &r->e->expires,
			     &is_date) < 0)
		return -1;
	r->e->expires_is_date = (uint8_t)is_date;
	return 0;
}

/* A scalar or a list of scalars: its items, each checked by `one`. */
static int
each(struct ex_read *r, const struct tlsp_ynode *v, const char *key,
     int (*one)(struct ex_read *, const struct tlsp_ynode *, size_t), size_t *n)
{
	size_t i, cnt = v->type == TLSP_YNODE_SEQ ? v->n : 1;
	int rc = 0;

	if (v->type == TLSP_YNODE_MAP || tlsp_schema_is_empty(v) ||
	    (v->type == TLSP_YNODE_SEQ && v->n == 0)) {
		tlsp_schema_error(r->c, v, r->where,
				  "'%s' expects a value or a list of values, "
				  "found %s",
				  key,
				  v->type == TLSP_YNODE_SEQ
					  ? "an empty list"
					  : tlsp_ytree_kind(v));
		return -1;
	}
	*n = 0;
	for (i = 0; i < cnt; i++) {
		const struct tlsp_ynode *x = v->type == TLSP_YNODE_SEQ
						     ? v->kids[i]
						     : v;

		if (x->type != TLSP_YNODE_SCALAR || x->len == 0) {
			tlsp_schema_error(r->c, x, r->where,
					  "'%s' expects strings, found %s", key,
					  tlsp_ytree_kind(x));
			rc = -1;
			continue;
		}
		if (one(r, x, *n) < 0)
			rc = -1;
		else
			(*n)++;
	}
	return rc;
}

/* Domain patterns as the rules write them: "example.com",
 * ".example.com" or "*.example.com" (subdomains only). */
static int
one_domain(struct ex_read *r, const struct tlsp_ynode *x, char **slot)
{
	char norm[TLSP_DOMAIN_MAX + 2];
	const char *s = x->str, *why = "invalid";
	int sub = 0;

	if (s[0] == '*' && s[1] == '.')
		s += 2, sub = 1;
	else if (s[0] == '.')
		s += 1, sub = 1;
	norm[0] = '.';
	if (s[0] == '[' ||
	    tlsp_domain_normalize(s, norm + 1, sizeof(norm) - 1, &why) < 0) {
		tlsp_schema_error(r->c, x, r->where,
				  "'%.80s' is not a domain pattern: %s", x->str,
				  s[0] == '[' ? "address literals are not "
						"supported here"
					      : why);
		return -1;
	}
	*slot = tlsp_arena_strndup(r->c->a, norm + !sub, strlen(norm + !sub));
	return *slot ? 0 : oom(r);
}

static int
one_sender(struct ex_read *r, const struct tlsp_ynode *x, size_t i)
{
	return one_domain(r, x, &r->e->senders[i]);
}

static int
one_recipient(struct ex_read *r, const struct tlsp_ynode *x, size_t i)
{
	return one_domain(r, x, &r->e->recipients[i]);
}

static int
one_client(struct ex_read *r, const struct tlsp_ynode *x, size_t i)
{
	if (tlsp_cidr_parse(x->str, &r->e->clients[i]) == 0)
		return 0;
	tlsp_schema_error(r->c, x, r->where,
			  "'%.80s' is not a network like 192.0.2.0/24 or "
			  "2001:db8::/32",
			  x->str);
	return -1;
}

static size_t
count(const struct tlsp_ynode *v)
{
	return v->type == TLSP_YNODE_SEQ ? (v->n ? v->n : 1) : 1;
}

static int
read_senders(struct ex_read *r, const struct tlsp_ynode *v)
{
	r->e->senders = tlsp_arena_alloc(r->c->a, count(v) * sizeof(char *));
	if (r->e->senders == NULL)
		return oom(r);
	return each(r, v, "sender", one_sender, &r->e->nsenders);
}

static int
read_recipients(struct ex_read *r, const struct tlsp_ynode *v)
{
	r->e->recipients = tlsp_arena_alloc(r->c->a, count(v) * sizeof(char *));
	if (r->e->recipients == NULL)
		return oom(r);
	return each(r, v, "recipient", one_recipient, &r->e->nrecipients);
}

static int
read_clients(struct ex_read *r, const struct tlsp_ynode *v)
{
	r->e->clients = tlsp_arena_alloc(r->c->a,
					 count(v) * sizeof(struct tlsp_cidr));
	if (r->e->clients == NULL)
		return oom(r);
	return each(r, v, "client", one_client, &r->e->nclients);
}

static int
one_req(struct ex_read *r, const struct tlsp_ynode *x, size_t i)
{
	int req = tlsp_req_lookup(x->str);
	const char *near;

	(void)i;
	if (strcmp(x->str, "all") == 0) {
		r->e->waive = ALL_REQS;
		return 0;
	}
	if (req >= 0) {
		r->e->waive |= 1u << req;
		return 0;
	}
	near = tlsp_diag_suggest_name(x->str, tlsp_req_names);
	tlsp_schema_error(r->c, x, r->where,
			  "'waive': unknown requirement '%.64s'%s%s%s (or "
			  "'all')",
			  x->str, near ? "; did you mean '" : "",
			  near ? near : "", near ? "'?" : "");
	return -1;
}

static int
read_waive(struct ex_read *r, const struct tlsp_ynode *v)
{
	size_t n;

	return each(r, v, "waive", one_req, &n);
}

static const struct ex_key *
find_key(const char *name)
{
	size_t i;

	for (i = 0; i < NEX_KEYS; i++)
		if (strcmp(ex_keys[i].name, name) == 0)
			return &ex_keys[i];
	return NULL;
}

static void
unknown(struct ex_read *r, const struct tlsp_ynode *k)
{
	const char *names[NEX_KEYS], *near;
	size_t i;

	for (i = 0; i < NEX_KEYS; i++)
		names[i] = ex_keys[i].name;
	near = k->type == TLSP_YNODE_SCALAR
		       ? tlsp_diag_suggest(k->str, names, NEX_KEYS)
		       : NULL;
	tlsp_schema_error(r->c, k, r->where, "unknown key '%.64s'%s%s%s",
			  k->type == TLSP_YNODE_SCALAR ? k->str : "?",
			  near ? "; did you mean '" : "", near ? near : "",
			  near ? "'?" : "");
}

/* Reads one item of the list into r->e. The name is read first, so the
 * other messages can say which exception they are about. */
static int
read_item(struct ex_read *r)
{
	const struct tlsp_ynode *y = r->item, *name;
	size_t i;
	int rc = 0;

	if (y->type != TLSP_YNODE_MAP) {
		tlsp_schema_error(r->c, y, "exceptions",
				  "an exception is a mapping (name, waive, "
				  "reason, owner, expires, ...), found %s",
				  tlsp_ytree_kind(y));
		return -1;
	}
	snprintf(r->where, sizeof(r->where), "exceptions[%u]", r->e->index);
	name = tlsp_ytree_get(y, "name");
	if (name != NULL && read_name(r, name) < 0)
		rc = -1;
	for (i = 0; i < y->n; i++) {
		const struct tlsp_ynode *k = y->kids[2 * i],
					*v = y->kids[2 * i + 1];
		const struct ex_key *key;

		key = k->type == TLSP_YNODE_SCALAR ? find_key(k->str) : NULL;
		if (key == NULL) {
			unknown(r, k);
			rc = -1;
			continue;
		}
		r->seen |= 1u << (key - ex_keys);
		if (key->read != read_name && key->read(r, v) < 0)
			rc = -1;
	}
	for (i = 0; i < NEX_KEYS; i++)
		if (ex_keys[i].mandatory && !(r->seen & (1u << i))) {
			tlsp_schema_error(r->c, y, r->where, "missing '%s'",
					  ex_keys[i].name);
			rc = -1;
		}
	if (!(r->seen & ((1u << 1) | (1u << 2) | (1u << 3)))) {
		tlsp_schema_error(r->c, y, r->where,
				  "an exception names a 'sender', "
				  "'recipient' or 'client' (or several)");
		rc = -1;
	}
	return rc;
}

/* ---------------------------------------------------------------- index */

static uint32_t
hash(const unsigned char *k, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ k[i]) * 16777619u;
	return h;
}

static int
map_init(struct tlsp_compile_ctx *c, struct tlsp_exmap *m, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	m->slots = tlsp_arena_alloc(c->a, cap * sizeof(*m->slots));
	if (m->slots == NULL)
		return c->oom = 1, -1;
	m->mask = cap - 1;
	m->used = 0;
	return 0;
}

static const struct tlsp_exslot *
map_get(const struct tlsp_exmap *m, const void *key, size_t n)
{
	uint32_t h = hash(key, n);
	size_t i;

	if (m->slots == NULL)
		return NULL;
	for (i = h & m->mask; m->slots[i].key; i = (i + 1) & m->mask)
		if (m->slots[i].hash == h && m->slots[i].len == n &&
		    memcmp(m->slots[i].key, key, n) == 0)
			return &m->slots[i];
	return NULL;
}

static int
map_add(struct tlsp_compile_ctx *c, struct tlsp_exmap *m, const void *key,
	size_t n, const struct tlsp_exception *e)
{
	uint32_t h = hash(key, n);
	struct tlsp_exlink *l = tlsp_arena_alloc(c->a, sizeof(*l)), **tail;
	size_t i;

	if (l == NULL)
		return c->oom = 1, -1;
	l->ex = e;
	for (i = h & m->mask; m->slots[i].key; i = (i + 1) & m->mask)
		if (m->slots[i].hash == h && m->slots[i].len == n &&
		    memcmp(m->slots[i].key, key, n) == 0)
			break;
	if (m->slots[i].key == NULL) {
		unsigned char *k = tlsp_arena_alloc(c->a, n ? n : 1);

		if (k == NULL)
			return c->oom = 1, -1;
		memcpy(k, key, n);
		m->slots[i].key = k;
		m->slots[i].len = (uint32_t)n;
		m->slots[i].hash = h;
		m->used++;
	}
	/* file order, so the first exception to waive a requirement is the
	 * one written first */
	for (tail = &m->slots[i].list; *tail; tail = &(*tail)->next)
		;
	*tail = l;
	return 0;
}

static void
client_key(const struct tlsp_cidr *n, unsigned char key[17])
{
	key[0] = (unsigned char)n->prefix;
	memcpy(key + 1, n->addr, 16);
}

static int
build_index(struct tlsp_compile_ctx *c, struct tlsp_policy *p)
{
	struct tlsp_exindex *x = &p->exidx;
	size_t ns = 0, nr = 0, nc = 0, i, j;
	uint8_t have[129] = {0};
	unsigned char key[17];
	int pl;

	for (i = 0; i < p->nexceptions; i++) {
		ns += p->exceptions[i].nsenders;
		nr += p->exceptions[i].nrecipients;
		nc += p->exceptions[i].nclients;
	}
	if (map_init(c, &x->senders, ns) < 0 ||
	    map_init(c, &x->recipients, nr) < 0 ||
	    map_init(c, &x->clients, nc) < 0)
		return -1;
	for (i = 0; i < p->nexceptions; i++) {
		const struct tlsp_exception *e = &p->exceptions[i];

		for (j = 0; j < e->nsenders; j++)
			if (map_add(c, &x->senders, e->senders[j],
				    strlen(e->senders[j]), e) < 0)
				return -1;
		for (j = 0; j < e->nrecipients; j++)
			if (map_add(c, &x->recipients, e->recipients[j],
				    strlen(e->recipients[j]), e) < 0)
				return -1;
		for (j = 0; e->nrecipients && !e->nsenders && !e->nclients &&
			    j < TLSP_REQ_COUNT;
		     j++)
			if ((e->waive & (1u << j)) &&
			    e->expires > x->rcpt_only_until[j])
				x->rcpt_only_until[j] = e->expires;
		for (j = 0; j < e->nclients; j++) {
			client_key(&e->clients[j], key);
			have[e->clients[j].prefix] = 1;
			if (map_add(c, &x->clients, key, sizeof(key), e) < 0)
				return -1;
		}
	}
	for (pl = 128; pl >= 0; pl--)
		if (have[pl])
			x->prefixes[x->nprefixes++] = (uint8_t)pl;
	return 0;
}

static int
by_expiry(const void *a, const void *b)
{
	const struct tlsp_exception *x =
		*(const struct tlsp_exception *const *)a;
	const struct tlsp_exception *y =
		*(const struct tlsp_exception *const *)b;

	if (x->expires != y->expires)
		return x->expires < y->expires ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Names are unique: a report or record names an exception by it. */
static int
check_names(struct tlsp_compile_ctx *c, struct tlsp_policy *p)
{
	struct tlsp_exmap names;
	size_t i;
	int rc = 0;

	if (map_init(c, &names, p->nexceptions) < 0)
		return -1;
	for (i = 0; i < p->nexceptions; i++) {
		const struct tlsp_exception *e = &p->exceptions[i];
		const struct tlsp_exslot *s;
		struct tlsp_ynode at = {0};

		if (e->name == NULL)
			continue;
		s = map_get(&names, e->name, strlen(e->name));
		if (s != NULL) {
			at.line = e->line;
			at.col = e->col;
			tlsp_schema_error(c, &at, "exceptions",
					  "duplicate exception name '%s' (the "
					  "same as line %u, column %u)",
					  e->name, s->list->ex->line,
					  s->list->ex->col);
			rc = -1;
			continue;
		}
		if (map_add(c, &names, e->name, strlen(e->name), e) < 0)
			return -1;
	}
	return rc;
}

int
tlsp_exception_read(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y)
{
	struct tlsp_policy *p = c->pol;
	size_t i;
	int rc = 0;

	if (tlsp_schema_is_empty(y))
		return 0;
	if (y->type != TLSP_YNODE_SEQ) {
		tlsp_schema_error(c, y, NULL,
				  "'exceptions' expects a list of exceptions, "
				  "found %s",
				  tlsp_ytree_kind(y));
		return -1;
	}
	p->exceptions = tlsp_arena_alloc(c->a, (y->n ? y->n : 1) *
						       sizeof(*p->exceptions));
	p->by_expiry = tlsp_arena_alloc(c->a, (y->n ? y->n : 1) *
						      sizeof(*p->by_expiry));
	if (p->exceptions == NULL || p->by_expiry == NULL)
		return c->oom = 1, -1;
	for (i = 0; i < y->n && !c->oom; i++) {
		struct ex_read r;

		memset(&r, 0, sizeof(r));
		r.c = c;
		r.e = &p->exceptions[p->nexceptions];
		r.item = y->kids[i];
		r.e->index = (uint32_t)i;
		r.e->line = y->kids[i]->line;
		r.e->col = y->kids[i]->col;
		if (read_item(&r) < 0) {
			rc = -1;
			if (c->d->truncated)
				return -1;
			continue;
		}
		p->by_expiry[p->nexceptions++] = r.e;
	}
	if (c->oom)
		return -1;
	if (check_names(c, p) < 0)
		rc = -1;
	qsort(p->by_expiry, p->nexceptions, sizeof(*p->by_expiry), by_expiry);
	if (build_index(c, p) < 0)
		return -1;
	return rc;
}

/* ---------------------------------------------------------------- lookup */

static int
domain_matches(char *const *pats, size_t n, const char *domain)
{
	size_t i, dl = strlen(domain), pl;

	for (i = 0; i < n; i++) {
		const char *p = pats[i];

		if (p[0] != '.') {
			if (strcmp(p, domain) == 0)
				return 1;
			continue;
		}
		pl = strlen(p);
		if (dl > pl && strcmp(domain + dl - pl, p) == 0)
			return 1;
	}
	return 0;
}

static int
client_matches(const struct tlsp_exception *e, const uint8_t *ip)
{
	size_t i;

	for (i = 0; ip && i < e->nclients; i++)
		if (tlsp_cidr_match(&e->clients[i], ip))
			return 1;
	return 0;
}

struct found {
	const char *sender, *recipient; /* normalised domains, or NULL */
	int any_rcpt;
	const uint8_t *ip;
	int64_t now;
	const struct tlsp_exception *v[MAX_CANDIDATES];
	size_t n;
};

/* Keeps an exception that is in force and whose every selector matches
 * (once, however many of its selectors found it). */
static void
consider(struct found *f, const struct tlsp_exception *e)
{
	size_t i;

	if (f->now >= e->expires || f->n == MAX_CANDIDATES)
		return;
	if (e->nsenders &&
	    (f->sender == NULL ||
	     !domain_matches(e->senders, e->nsenders, f->sender)))
		return;
	if (e->nrecipients &&
	    !(f->recipient == NULL
		      ? f->any_rcpt
		      : domain_matches(e->recipients, e->nrecipients,
				       f->recipient)))
		return;
	if (e->nclients && !client_matches(e, f->ip))
		return;
	for (i = 0; i < f->n; i++)
		if (f->v[i] == e)
			return;
	f->v[f->n++] = e;
}

static void
consider_list(struct found *f, const struct tlsp_exslot *s)
{
	const struct tlsp_exlink *l;

	for (l = s ? s->list : NULL; l; l = l->next)
		consider(f, l->ex);
}

/* The domain itself, then ".parent" for each parent: the patterns that
 * can match it. */
static void
lookup_domain(struct found *f, const struct tlsp_exmap *m, const char *d)
{
	const char *p;

	if (d == NULL || m->used == 0)
		return;
	consider_list(f, map_get(m, d, strlen(d)));
	for (p = strchr(d, '.'); p; p = strchr(p + 1, '.'))
		consider_list(f, map_get(m, p, strlen(p)));
}

static void
lookup_client(struct found *f, const struct tlsp_exindex *x)
{
	struct tlsp_cidr net;
	unsigned char key[17];
	size_t i;

	if (f->ip == NULL)
		return;
	for (i = 0; i < x->nprefixes; i++) {
		unsigned pl = x->prefixes[i], b;

		net.prefix = pl;
		for (b = 0; b < 16; b++) {
			unsigned keep = pl > b * 8 ? pl - b * 8 : 0;

			net.addr[b] = keep >= 8 ? f->ip[b]
						: (uint8_t)(f->ip[b] &
							    (0xff00u >> keep));
		}
		client_key(&net, key);
		consider_list(f, map_get(&x->clients, key, sizeof(key)));
	}
}

static int
by_index(const void *a, const void *b)
{
	const struct tlsp_exception *x =
		*(const struct tlsp_exception *const *)a;
	const struct tlsp_exception *y =
		*(const struct tlsp_exception *const *)b;

	return x->index < y->index ? -1 : x->index > y->index;
}

size_t
tlsp_exception_match(const struct tlsp_policy *p, const char *sender,
		     const char *recipient, int any_rcpt,
		     const uint8_t *client16, int64_t now,
		     const struct tlsp_exception **out, size_t max)
{
	struct found f;
	size_t i;

	if (p->nexceptions == 0)
		return 0;
	f.sender = sender;
	f.recipient = recipient;
	f.any_rcpt = any_rcpt;
	f.ip = client16;
	f.now = now;
	f.n = 0;
	lookup_domain(&f, &p->exidx.senders, sender);
	lookup_domain(&f, &p->exidx.recipients, recipient);
	lookup_client(&f, &p->exidx);
	qsort(f.v, f.n, sizeof(f.v[0]), by_index);
	for (i = 0; i < f.n && i < max; i++)
		out[i] = f.v[i];
	return i;
}

/* ------------------------------------------------------------ accessors */

size_t
tlsp_policy_exception_count(const struct tlsp_policy *p)
{
	return p->nexceptions;
}

const struct tlsp_exception *
tlsp_policy_exception(const struct tlsp_policy *p, size_t i)
{
	return i < p->nexceptions ? &p->exceptions[i] : NULL;
}

const struct tlsp_exception *
tlsp_policy_exception_by_expiry(const struct tlsp_policy *p, size_t i)
{
	return i < p->nexceptions ? p->by_expiry[i] : NULL;
}

const char *
tlsp_exception_name(const struct tlsp_exception *e)
{
	return e->name;
}

const char *
tlsp_exception_reason(const struct tlsp_exception *e)
{
	return e->reason;
}

const char *
tlsp_exception_owner(const struct tlsp_exception *e)
{
	return e->owner;
}

const char *
tlsp_exception_ticket(const struct tlsp_exception *e)
{
	return e->ticket;
}

time_t
tlsp_exception_expires(const struct tlsp_exception *e)
{
	return (time_t)e->expires;
}

unsigned
tlsp_exception_waives(const struct tlsp_exception *e)
{
	return e->waive;
}

unsigned
tlsp_exception_line(const struct tlsp_exception *e)
{
	return e->line;
}

/* "192.0.2.0/24" or "2001:db8::/32": IPv4 back out of IPv6 space. */
static void
cidr_format(const struct tlsp_cidr *n, char *buf, size_t bufsz)
{
	static const uint8_t v4[12] = {0, 0, 0, 0, 0,	 0,
				       0, 0, 0, 0, 0xff, 0xff};
	char a[INET6_ADDRSTRLEN];

	if (n->prefix >= 96 && memcmp(n->addr, v4, 12) == 0) {
		inet_ntop(AF_INET, n->addr + 12, a, sizeof(a));
		snprintf(buf, bufsz, "%s/%u", a, n->prefix - 96);
	} else {
		inet_ntop(AF_INET6, n->addr, a, sizeof(a));
		snprintf(buf, bufsz, "%s/%u", a, n->prefix);
	}
}

static void
put(char *buf, size_t bufsz, size_t *len, const char *what, const char *v)
{
	if (*len < bufsz)
		*len += (size_t)snprintf(buf + *len, bufsz - *len, "%s%s %s",
					 *len ? ", " : "", what, v);
}

void
tlsp_exception_describe(const struct tlsp_exception *e, char *buf, size_t bufsz)
{
	char net[64];
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < e->nsenders; i++)
		put(buf, bufsz, &len, "sender", e->senders[i]);
	for (i = 0; i < e->nrecipients; i++)
		put(buf, bufsz, &len, "recipient", e->recipients[i]);
	for (i = 0; i < e->nclients; i++) {
		cidr_format(&e->clients[i], net, sizeof(net));
		put(buf, bufsz, &len, "client", net);
	}
}

void
tlsp_policy_check_expiry(const struct tlsp_policy *p, time_t now, unsigned days,
			 struct tlsp_diags *d)
{
	int64_t t = (int64_t)now, soon = t + (int64_t)days * 86400;
	char when[40];
	size_t i;

	for (i = 0; i < p->nexceptions; i++) {
		const struct tlsp_exception *e = p->by_expiry[i];
		int64_t left = e->expires - t;

		if (e->expires > soon)
			break; /* sorted by expiry */
		tlsp_tz_format(p->tz, e->expires, when, sizeof(when));
		if (left <= 0)
			(void)tlsp_diags_add(d, 1, p->path, e->line, e->col,
					     "exception %s expired at %s and "
					     "is ignored: remove it or give "
					     "it a new date",
					     e->name, when);
		else
			(void)tlsp_diags_add(
				d, 1, p->path, e->line, e->col,
				"exception %s expires in %lld day%s "
				"(%s; owner %s)",
				e->name, (long long)((left + 86399) / 86400),
				(left + 86399) / 86400 == 1 ? "" : "s", when,
				e->owner);
	}
}
