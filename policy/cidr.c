/*
 * cidr.c - IP addresses and client networks for rule scopes.
 *
 * Policies exempt client networks ("exempt_clients: [192.0.2.0/24]") and the
 * MTA reports the client as {client_addr}; address literals in envelopes
 * ("user@[192.0.2.1]") are parsed here too. Everything lives in IPv6 space,
 * IPv4 mapped to ::ffff:a.b.c.d, so one comparison serves both families.
 *
 * A rule's `client_addr:` list is a struct tlsp_cidrset: runs of one
 * prefix length each, each with a hash table of its networks, so a
 * lookup costs one probe per distinct prefix length however long the
 * list (bisection cost twice as much at 100,000 networks as at 10: the
 * cache misses of the deeper levels).
 *
 * Inputs may come from the network: every parser works on a bounded length,
 * copies at most a short address into a local buffer, and never allocates.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Longest text inet_pton(AF_INET6) can accept, plus the NUL. */
#define IP6_TEXT_MAX 46

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
					     0, 0, 0, 0, 0xff, 0xff};

static int
prefix_is_ipv6_tag(const char *s, size_t len)
{
	/* RFC 5321 spells the tag "IPv6", but tags compare case-insensitively
	 * and MTAs pass through whatever the client sent. */
	return len >= 5 && strncasecmp(s, "IPv6:", 5) == 0;
}

/*
 * Strict dotted quad: four decimal parts of one to three digits, each at
 * most 255. Leading zeros are read as decimal (RFC 5321's Snum allows
 * them), never as octal the way inet_aton() would: "010" is ten, so the
 * same text always means the same address here and in the MTA's logs.
 */
static int
ipv4_parse(const char *s, size_t len, uint8_t out[4])
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;

		if (part > 0) {
			if (i >= len || s[i] != '.')
				return -1;
			i++;
		}
		while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 3) {
			v = v * 10 + (unsigned)(s[i] - '0');
			digits++;
			i++;
		}
		if (digits == 0 || v > 255)
			return -1;
		out[part] = (uint8_t)v;
	}
	return i == len ? 0 : -1;
}

static int
ipv6_parse(const char *s, size_t len, uint8_t out[16])
{
	char buf[IP6_TEXT_MAX];

	/* The length bound keeps hostile megabyte inputs out of the copy;
	 * the NUL check keeps inet_pton from seeing a shorter string than
	 * the caller meant. */
	if (len == 0 || len >= sizeof buf || memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

/*
 * The common parser: s[0..len) is "a.b.c.d", an IPv6 address, "IPv6:..."
 * or either of those in brackets. *is_v4 tells the caller which prefix
 * range applies to a following "/n".
 */
static int
ip_parse_n(const char *s, size_t len, uint8_t out[16], int *is_v4)
{
	uint8_t v4[4];

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (prefix_is_ipv6_tag(s, len)) {
		*is_v4 = 0;
		return ipv6_parse(s + 5, len - 5, out);
	}
	if (memchr(s, ':', len) != NULL) {
		*is_v4 = 0;
		return ipv6_parse(s, len, out);
	}
	if (ipv4_parse(s, len, v4) < 0)
		return -1;
	memcpy(out, v4_mapped_prefix, sizeof v4_mapped_prefix);
	memcpy(out + 12, v4, sizeof v4);
	*is_v4 = 1;
	return 0;
}

int
tlsp_cidr_parse_ip(const char *s, uint8_t out16[16])
{
	int is_v4;

	if (s == NULL)
		return -1;
	return ip_parse_n(s, strlen(s), out16, &is_v4);
}

/* "/n": one to three digits and nothing after them. */
static int
prefix_parse(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0, digits = 0;

	for (; *s >= '0' && *s <= '9' && digits < 3; s++, digits++)
		v = v * 10 + (unsigned)(*s - '0');
	if (digits == 0 || *s != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The top `bits` (0..7) bits of a byte. */
static uint8_t
high_bits(unsigned bits)
{
	return (uint8_t)(0xff00u >> bits);
}

/* Clears every bit past `prefix`, so that equal networks compare equal. */
static void
mask_host_bits(uint8_t addr[16], unsigned prefix)
{
	for (unsigned byte = 0; byte < 16; byte++) {
		unsigned first_bit = byte * 8;

		if (first_bit >= prefix)
			addr[byte] = 0;
		else if (prefix - first_bit < 8)
			addr[byte] &= high_bits(prefix - first_bit);
	}
}

/*
 * Host bits set below the prefix ("192.0.2.1/24") are accepted and cleared:
 * Postfix only warns about them, and refusing a policy over them would be
 * harsher than useful.
 */
int
tlsp_cidr_parse(const char *s, struct tlsp_cidr *out)
{
	const char *slash;
	size_t alen;
	unsigned prefix;
	int is_v4;

	if (s == NULL || out == NULL)
		return -1;
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (ip_parse_n(s, alen, out->addr, &is_v4) < 0)
		return -1;
	if (slash == NULL)
		prefix = is_v4 ? 32 : 128;
	else if (prefix_parse(slash + 1, is_v4 ? 32 : 128, &prefix) < 0)
		return -1;
	out->prefix = is_v4 ? prefix + 96 : prefix;
	mask_host_bits(out->addr, out->prefix);
	return 0;
}

int
tlsp_cidr_match(const struct tlsp_cidr *net, const uint8_t addr16[16])
{
	unsigned whole, rest;

	/* A prefix past 128 can only come from a caller bug; match nothing
	 * rather than read past the address. */
	if (net == NULL || addr16 == NULL || net->prefix > 128)
		return 0;
	whole = net->prefix / 8;
	rest = net->prefix % 8;
	if (memcmp(net->addr, addr16, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((net->addr[whole] ^ addr16[whole]) & high_bits(rest)) == 0;
}

/* "192.0.2.0/24" or "2001:db8::/32": the policy's spelling of a network. */
void
tlsp_cidr_format(const struct tlsp_cidr *net, char *buf, size_t bufsz)
{
	char ip[INET6_ADDRSTRLEN];
	int v4 = net->prefix >= 96 && memcmp(net->addr, v4_mapped_prefix,
					     sizeof v4_mapped_prefix) == 0;

	if (inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? net->addr + 12 : net->addr,
		      ip, sizeof ip) == NULL)
		snprintf(ip, sizeof ip, "?");
	snprintf(buf, bufsz, "%s/%u", ip, v4 ? net->prefix - 96 : net->prefix);
}

/* FNV-1a over the 16 bytes, then mixed: the low bits index the table. */
static size_t
addr_hash(const uint8_t a[16])
{
	uint64_t h = 14695981039346656037ULL;

	for (int i = 0; i < 16; i++)
		h = (h ^ a[i]) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29));
}

static int
cidr_order(const void *a, const void *b)
{
	const struct tlsp_cidr *x = a, *y = b;

	if (x->prefix != y->prefix)
		return x->prefix < y->prefix ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof x->addr);
}

int
tlsp_cidrset_build(struct tlsp_arena *a, struct tlsp_cidr *v, size_t n,
		   struct tlsp_cidrset *out)
{
	size_t i, runs = 0,
		  shown = n < TLSP_CIDRSET_SHOWN ? n : TLSP_CIDRSET_SHOWN;

	memset(out, 0, sizeof(*out));
	out->shown = tlsp_arena_alloc(a, (shown ? shown : 1) * sizeof(*v));
	if (out->shown == NULL)
		return -1;
	memcpy(out->shown, v, shown * sizeof(*v));
	qsort(v, n, sizeof(*v), cidr_order);
	for (i = 0; i < n; i++)
		runs += i == 0 || v[i].prefix != v[i - 1].prefix;
	out->runs = tlsp_arena_alloc(a, (runs ? runs : 1) * sizeof(*out->runs));
	if (out->runs == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (i == 0 || v[i].prefix != v[i - 1].prefix) {
			out->runs[out->nruns].prefix = v[i].prefix;
			out->runs[out->nruns++].start = i;
		}
		out->runs[out->nruns - 1].count++;
	}
	if (n > UINT32_MAX - 1)
		return -1;
	for (i = 0; i < out->nruns; i++) {
		struct tlsp_cidr_run *r = &out->runs[i];
		size_t cap = 8, j, k;

		while (cap < 2 * r->count)
			cap *= 2;
		r->mask = cap - 1;
		r->slots = tlsp_arena_alloc(a, cap * sizeof(*r->slots));
		if (r->slots == NULL)
			return -1;
		for (j = r->start; j < r->start + r->count; j++) {
			for (k = addr_hash(v[j].addr) & r->mask; r->slots[k];
			     k = (k + 1) & r->mask)
				;
			r->slots[k] = (uint32_t)(j + 1);
		}
	}
	out->v = v;
	out->n = n;
	return 0;
}

int
tlsp_cidrset_match(const struct tlsp_cidrset *s, const uint8_t addr16[16])
{
	size_t r;

	for (r = 0; r < s->nruns; r++) {
		const struct tlsp_cidr_run *run = &s->runs[r];
		uint8_t key[16];
		size_t k;

		memcpy(key, addr16, sizeof key);
		mask_host_bits(key, run->prefix);
		for (k = addr_hash(key) & run->mask; run->slots[k];
		     k = (k + 1) & run->mask)
			if (memcmp(s->v[run->slots[k] - 1].addr, key,
				   sizeof key) == 0)
				return 1;
	}
	return 0;
}
