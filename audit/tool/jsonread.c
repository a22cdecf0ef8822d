/*
 * jsonread.c - a JSON parser good enough for audit records (the daemon's
 * JSON builder is audit/json.c).
 *
 * A recursive-descent parser over one line, strict RFC 8259, with
 * values allocated from an arena that is reset for each line. Strings
 * are decoded, the writer's \udcHH surrogate escapes becoming the raw
 * bytes they stand for; each string also keeps its token as written,
 * which is what the hash chain covers.
 */
#include <stdlib.h>
#include <string.h>

#include "jsonread.h"

/* ============================================================= arena */

#define ARENA_MIN ((size_t)256 << 10)
#define ALIGN 16

struct tlspa_json_block {
	struct tlspa_json_block *next;
	size_t used, cap;
	_Alignas(ALIGN) unsigned char data[];
};

static void *
arena_alloc(struct tlspa_json *jp, size_t n)
{
	struct tlspa_json_block *b = jp->blocks;
	size_t cap;

	n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (b == NULL || b->cap - b->used < n) {
		cap = n > ARENA_MIN ? n : ARENA_MIN;
		if ((b = malloc(sizeof(*b) + cap)) == NULL)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = jp->blocks;
		jp->blocks = b;
	}
	b->used += n;
	return b->data + b->used - n;
}

/* Keeps the oldest block (the common case needs no more) and empties it. */
static void
arena_reset(struct tlspa_json *jp)
{
	struct tlspa_json_block *b = jp->blocks, *nx;

	while (b != NULL && b->next != NULL) {
		nx = b->next;
		free(b);
		b = nx;
	}
	jp->blocks = b;
	if (b != NULL)
		b->used = 0;
}

void
tlspa_json_free(struct tlspa_json *jp)
{
	arena_reset(jp);
	free(jp->blocks);
	jp->blocks = NULL;
}

/* ======================================================== the parser */

static const void *
fail_at(struct tlspa_json *jp, const char *p, const char *why)
{
	if (jp->err == NULL) {
		jp->err = why;
		jp->errpos = (size_t)(p - jp->line);
	}
	return NULL;
}

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int
hex4(const char *s, unsigned *u)
{
	unsigned v = 0;
	int i, d;

	for (i = 0; i < 4; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | (unsigned)d;
	}
	*u = v;
	return 0;
}

static size_t
put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decodes the \u escape at raw[i] (just after "\u"), with room for 4
 * hex digits checked by the caller. A surrogate pair is one character;
 * a lone \udc80..\udcff is the byte it escapes; any other lone
 * surrogate becomes U+FFFD. Returns the bytes written, or 0 on bad hex;
 * *used gets the input consumed after the "\u".
 */
static size_t
unescape_u(const char *raw, size_t avail, char *out, size_t *used)
{
	unsigned u, lo;

	if (avail < 4 || hex4(raw, &u) < 0)
		return 0;
	*used = 4;
	if (u >= 0xd800 && u <= 0xdbff && avail >= 10 && raw[4] == '\\' &&
	    raw[5] == 'u' && hex4(raw + 6, &lo) == 0 && lo >= 0xdc00 &&
	    lo <= 0xdfff) {
		*used = 10;
		return put_utf8(out,
				0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00));
	}
	if (u >= 0xdc80 && u <= 0xdcff) {
		out[0] = (char)(u & 0xff);
		return 1;
	}
	if (u >= 0xd800 && u <= 0xdfff)
		return put_utf8(out, 0xfffd);
	return put_utf8(out, u);
}

static char
short_unescape(char c)
{
	switch (c) {
	case '"':
		return '"';
	case '\\':
		return '\\';
	case '/':
		return '/';
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	}
	return 0;
}

long
tlspa_json_unescape(const char *raw, size_t len, char *out)
{
	size_t i = 0, j = 0, used, k;
	unsigned char c;
	char e;

	while (i < len) {
		c = (unsigned char)raw[i];
		if (c == '"' || c < 0x20)
			return -1;
		if (c != '\\') {
			out[j++] = (char)c;
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -1;
		if (raw[i + 1] == 'u') {
			if ((k = unescape_u(raw + i + 2, len - i - 2, out + j,
					    &used)) == 0)
				return -1;
			j += k;
			i += 2 + used;
		} else if ((e = short_unescape(raw[i + 1])) != 0) {
			out[j++] = e;
			i += 2;
		} else {
			return -1;
		}
	}
	out[j] = '\0';
	return (long)j;
}

/* Bytes that end the fast scan of a string: '"', '\\' and controls. */
static const unsigned char str_stop[256] = {
	[0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1,
	[0x06] = 1, [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1,
	[0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1,
	[0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
	[0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1,
	[0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1,
};

/* Scans the string token at *pp ('"'), decodes it into the arena and
 * sets its fields; *pp moves past the closing quote. */
static int
parse_string(struct tlspa_json *jp, const char **pp, const char **s,
	     size_t *len, const char **raw, size_t *rawlen)
{
	const unsigned char *p = (const unsigned char *)*pp + 1;
	const unsigned char *end = (const unsigned char *)jp->end;
	int esc = 0;
	char *out;
	long n;

	for (;;) {
		while (p < end && !str_stop[*p])
			p++;
		if (p >= end || *p == '"')
			break;
		if (*p != '\\')
			return fail_at(jp, (const char *)p,
				       "control character in a string"),
			       -1;
		esc = 1;
		p += 2;
	}
	if (p >= end)
		return fail_at(jp, *pp, "unterminated string"), -1;
	*raw = *pp + 1;
	*rawlen = (size_t)((const char *)p - *raw);
	if ((out = arena_alloc(jp, *rawlen + 1)) == NULL)
		return fail_at(jp, *pp, "out of memory"), -1;
	if (!esc) {
		memcpy(out, *raw, *rawlen);
		out[*rawlen] = '\0';
		n = (long)*rawlen;
	} else if ((n = tlspa_json_unescape(*raw, *rawlen, out)) < 0) {
		return fail_at(jp, *pp, "bad escape in a string"), -1;
	}
	*s = out;
	*len = (size_t)n;
	*pp = (const char *)p + 1;
	return 0;
}

static const char *
scan_digits(const char *p, const char *end)
{
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p;
}

static int
parse_number(struct tlspa_json *jp, const char **pp, struct tlspa_jv *v)
{
	const char *p = *pp, *end = jp->end, *d;
	int neg = 0, integral = 1;
	unsigned long long u = 0;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p == end || *p < '0' || *p > '9')
		return fail_at(jp, p, "bad number"), -1;
	d = p;
	p = *p == '0' ? p + 1 : scan_digits(p, end);
	v->is_int = 1;
	for (; d < p; d++) {
		if (u > (9223372036854775807ULL - (unsigned)(*d - '0')) / 10)
			v->is_int = 0;
		u = u * 10 + (unsigned)(*d - '0');
	}
	if (p < end && *p == '.') {
		integral = 0;
		if ((d = scan_digits(p + 1, end)) == p + 1)
			return fail_at(jp, p, "bad number"), -1;
		p = d;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		integral = 0;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if ((d = scan_digits(p, end)) == p)
			return fail_at(jp, p, "bad number"), -1;
		p = d;
	}
	v->type = TLSPA_J_NUM;
	v->is_int = v->is_int && integral;
	v->i = v->is_int ? (neg ? -(long long)u : (long long)u) : 0;
	v->s = *pp;
	v->len = (size_t)(p - *pp);
	*pp = p;
	return 0;
}

static int parse_value(struct tlspa_json *, const char **, struct tlspa_jv *);

static struct tlspa_jv *
new_value(struct tlspa_json *jp, const char *p)
{
	struct tlspa_jv *v;

	if (++jp->nvalues > TLSPA_JSON_VALUES)
		return fail_at(jp, p, "too many values"), NULL;
	if ((v = arena_alloc(jp, sizeof(*v))) == NULL)
		return fail_at(jp, p, "out of memory"), NULL;
	memset(v, 0, sizeof(*v));
	return v;
}

/* Parses the members or elements of the container opened at *pp. */
static int
parse_container(struct tlspa_json *jp, const char **pp, struct tlspa_jv *c)
{
	const char *p = *pp + 1, *end = jp->end;
	char close = **pp == '{' ? '}' : ']';
	struct tlspa_jv **tail = &c->kids, *kid;
	const char *k = NULL, *kraw;
	size_t klen = 0, krawlen;

	c->type = close == '}' ? TLSPA_J_OBJ : TLSPA_J_ARR;
	if (++jp->depth > TLSPA_JSON_DEPTH)
		return fail_at(jp, *pp, "nested too deeply"), -1;
	p = skip_ws(p, end);
	if (p < end && *p == close) {
		*pp = p + 1;
		jp->depth--;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (p == end || *p != '"')
				return fail_at(jp, p, "expected a member name"),
				       -1;
			if (parse_string(jp, &p, &k, &klen, &kraw, &krawlen) <
			    0)
				return -1;
			p = skip_ws(p, end);
			if (p == end || *p != ':')
				return fail_at(jp, p, "expected ':'"), -1;
			p = skip_ws(p + 1, end);
		}
		if ((kid = new_value(jp, p)) == NULL)
			return -1;
		kid->key = k;
		kid->keylen = klen;
		if (parse_value(jp, &p, kid) < 0)
			return -1;
		*tail = kid;
		tail = &kid->next;
		c->len++;
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p = skip_ws(p + 1, end);
			continue;
		}
		if (p < end && *p == close)
			break;
		return fail_at(jp, p,
			       close == '}' ? "expected ',' or '}'"
					    : "expected ',' or ']'"),
		       -1;
	}
	*pp = p + 1;
	jp->depth--;
	return 0;
}

static int
parse_word(struct tlspa_json *jp, const char **pp, const char *w,
	   enum tlspa_jtype t, struct tlspa_jv *v)
{
	size_t n = strlen(w);

	if ((size_t)(jp->end - *pp) < n || memcmp(*pp, w, n) != 0)
		return fail_at(jp, *pp, "unexpected character"), -1;
	v->type = t;
	*pp += n;
	return 0;
}

static int
parse_value(struct tlspa_json *jp, const char **pp, struct tlspa_jv *v)
{
	if (*pp == jp->end)
		return fail_at(jp, *pp, "unexpected end"), -1;
	switch (**pp) {
	case '{':
	case '[':
		return parse_container(jp, pp, v);
	case '"':
		v->type = TLSPA_J_STR;
		return parse_string(jp, pp, &v->s, &v->len, &v->raw,
				    &v->rawlen);
	case 't':
		return parse_word(jp, pp, "true", TLSPA_J_TRUE, v);
	case 'f':
		return parse_word(jp, pp, "false", TLSPA_J_FALSE, v);
	case 'n':
		return parse_word(jp, pp, "null", TLSPA_J_NULL, v);
	case '-':
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
	case '8':
	case '9':
		return parse_number(jp, pp, v);
	default:
		return fail_at(jp, *pp, "unexpected character"), -1;
	}
}

const struct tlspa_jv *
tlspa_json_parse(struct tlspa_json *jp, const char *p, size_t len)
{
	struct tlspa_jv *root;
	const char *q = p;

	arena_reset(jp);
	jp->nvalues = 0;
	jp->depth = 0;
	jp->err = NULL;
	jp->errpos = 0;
	jp->line = p;
	jp->end = p + len;
	q = skip_ws(q, jp->end);
	if ((root = new_value(jp, q)) == NULL || parse_value(jp, &q, root) < 0)
		return NULL;
	q = skip_ws(q, jp->end);
	if (q != jp->end)
		return fail_at(jp, q, "bytes after the value");
	return root;
}

/* ========================================================= accessors */

const struct tlspa_jv *
tlspa_jv_get(const struct tlspa_jv *obj, const char *key)
{
	const struct tlspa_jv *v;
	size_t n = strlen(key);

	if (obj == NULL || obj->type != TLSPA_J_OBJ)
		return NULL;
	/* The first byte before memcmp: most members differ there, and
	 * report looks up a dozen per record. */
	for (v = obj->kids; v != NULL; v = v->next)
		if (v->keylen == n && (n == 0 || v->key[0] == key[0]) &&
		    memcmp(v->key, key, n) == 0)
			return v;
	return NULL;
}

const char *
tlspa_jv_str(const struct tlspa_jv *v)
{
	return v != NULL && v->type == TLSPA_J_STR ? v->s : NULL;
}

const char *
tlspa_jv_digest(const struct tlspa_jv *v)
{
	const struct tlspa_jv *d;
	size_t i;

	if (v == NULL || v->type != TLSPA_J_OBJ || v->len != 1)
		return NULL;
	d = tlspa_jv_get(v, "sha256");
	if (d == NULL || d->type != TLSPA_J_STR || d->len != 64)
		return NULL;
	for (i = 0; i < 64; i++)
		if (!((d->s[i] >= '0' && d->s[i] <= '9') ||
		      (d->s[i] >= 'a' && d->s[i] <= 'f')))
			return NULL;
	return d->s;
}

int
tlspa_jv_is(const struct tlspa_jv *v, const char *s)
{
	size_t n = strlen(s);

	return v != NULL && v->type == TLSPA_J_STR && v->len == n &&
	       (n == 0 || v->s[0] == s[0]) && memcmp(v->s, s, n) == 0;
}
