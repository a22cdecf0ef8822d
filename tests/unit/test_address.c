/*
 * test_address.c - unit tests for envelope address parsing, domain
 * normalisation (policy/address.c) and IP/CIDR handling (policy/cidr.c).
 *
 * Every table row states one behaviour and the exact result expected. A test
 * runs all rows of its table, reports each row that disagrees by name, and
 * fails at the end if any did, so one run shows every broken behaviour.
 * The megabyte rows are built in exactly-sized heap buffers so that
 * AddressSanitizer catches any read past the end of the input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "tlspolicy/policy.h"

/* Labels and names of exact lengths, for the RFC 1035 limits. */
#define A10 "aaaaaaaaaa"
#define L60 A10 A10 A10 A10 A10 A10
#define L61 L60 "a"
#define L62 L60 "aa"
#define L63 L60 "aaa"
#define L64 L60 "aaaa"
#define N253 L63 "." L63 "." L63 "." L61 /* 3 * 64 + 61 */
#define N254 L63 "." L63 "." L63 "." L62

static const char *
str_or_null(const char *s)
{
	return s != NULL ? s : "(null)";
}

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static const char *
kind_name(enum tlsp_addr_kind k)
{
	switch (k) {
	case TLSP_ADDR_DOMAIN:
		return "DOMAIN";
	case TLSP_ADDR_LITERAL:
		return "LITERAL";
	case TLSP_ADDR_NULL:
		return "NULL";
	case TLSP_ADDR_NODOMAIN:
		return "NODOMAIN";
	case TLSP_ADDR_INVALID:
		return "INVALID";
	}
	return "?";
}

/* --------------------------------------------------------- addresses */

struct addr_case {
	const char *name;
	const char *input;
	enum tlsp_addr_kind kind;
	const char *domain; /* "" unless DOMAIN or LITERAL */
	const char *why;    /* NULL for DOMAIN, LITERAL and NULL */
};

#define OK(n, in, dom)                                                         \
	{                                                                      \
		n, in, TLSP_ADDR_DOMAIN, dom, NULL                             \
	}
#define LIT(n, in, dom)                                                        \
	{                                                                      \
		n, in, TLSP_ADDR_LITERAL, dom, NULL                            \
	}
#define BAD(n, in, why)                                                        \
	{                                                                      \
		n, in, TLSP_ADDR_INVALID, "", why                              \
	}
#define NODOM(n, in)                                                           \
	{                                                                      \
		n, in, TLSP_ADDR_NODOMAIN, "", "no domain"                     \
	}
#define NUL(n, in)                                                             \
	{                                                                      \
		n, in, TLSP_ADDR_NULL, "", NULL                                \
	}

static const struct addr_case addr_cases[] = {
	/* the null sender and absent values */
	NUL("null sender", "<>"),
	NUL("empty string", ""),
	NUL("null sender in blanks", " \t<> "),
	NUL("blanks only", " \t "),
	BAD("absent", NULL, "absent"),

	/* brackets and whitespace */
	OK("bare address", "user@example.com", "example.com"),
	OK("bracketed", "<user@example.com>", "example.com"),
	OK("blanks around brackets", " \t<user@example.com>\t ", "example.com"),
	OK("blanks without brackets", "  user@example.com\t", "example.com"),
	BAD("unclosed bracket", "<user@example.com",
	    "unbalanced angle bracket"),
	BAD("unopened bracket", "user@example.com>",
	    "unbalanced angle bracket"),
	BAD("lone open bracket", "<", "unbalanced angle bracket"),
	BAD("space inside brackets", "< user@example.com>",
	    "space outside quotes"),
	BAD("CR after address", "user@example.com\r", "control character"),

	/* source routes */
	OK("source route one hop", "<@a.example:user@c.example>", "c.example"),
	OK("source route two hops", "<@a.example,@b.example:user@c.example>",
	   "c.example"),
	OK("source route unbracketed", "@a.example:user@c.example",
	   "c.example"),
	NODOM("source route to local part", "<@a.example:postmaster>"),
	BAD("source route to nothing", "<@a.example:>", "bad source route"),

	/* local parts */
	OK("quoted at sign", "\"a@b\"@example.com", "example.com"),
	OK("escaped quote in quotes", "\"a\\\"@x\"@example.com", "example.com"),
	OK("quoted space", "\"john smith\"@example.com", "example.com"),
	OK("empty quoted local part", "\"\"@example.com", "example.com"),
	OK("last at sign wins", "a@b@example.com", "example.com"),
	OK("escaped backslash then at", "a\\\\@example.com", "example.com"),
	NODOM("escaped at outside quotes", "a\\@example.com"),
	NODOM("quoted local part only", "\"a@b\""),
	NODOM("local part only", "postmaster"),
	NODOM("bracketed local part only", "<Postmaster>"),
	BAD("unterminated quote", "\"a@example.com", "unterminated quote"),
	BAD("quote opened in domain", "a@\"example.com", "unterminated quote"),
	BAD("trailing backslash", "user\\", "trailing backslash"),
	OK("UTF-8 local part", "j\xc3\xb6rg@example.com", "example.com"),
	OK("8-bit local part", "\xff\xfe@example.com", "example.com"),
	BAD("tab in local part", "us\ter@example.com", "control character"),
	BAD("control char in quotes", "\"a\x01\"@example.com",
	    "control character"),
	BAD("escaped control char", "\"a\\\x01\"@example.com",
	    "control character"),
	BAD("DEL in domain", "user@exa\x7fmple.com", "control character"),
	BAD("space in local part", "john smith@example.com",
	    "space outside quotes"),
	BAD("at sign only", "@", "empty local part"),
	BAD("empty local part", "@example.com", "empty local part"),
	BAD("empty domain", "user@", "empty domain"),

	/* domains */
	OK("domain lowercased", "User@EXAMPLE.Com", "example.com"),
	OK("trailing dot removed", "user@example.com.", "example.com"),
	BAD("two trailing dots", "user@example.com..", "empty label"),
	BAD("double dot", "user@example..com", "empty label"),
	BAD("leading dot", "user@.example.com", "empty label"),
	BAD("dot only", "user@.", "empty label"),
	BAD("space in domain", "user@exa mple.com", "space outside quotes"),
	BAD("bang in domain", "user@exa!mple.com", "invalid character"),
	BAD("backslash in domain", "user@exa\\mple.com", "invalid character"),
	OK("underscore in domain", "user@mail_gw.example.com",
	   "mail_gw.example.com"),
	BAD("leading hyphen", "user@-example.com",
	    "hyphen at start or end of label"),
	BAD("trailing hyphen", "user@example-.com",
	    "hyphen at start or end of label"),
	OK("63-octet label", "u@" L63 ".example", L63 ".example"),
	BAD("64-octet label", "u@" L64 ".example", "label too long"),
	OK("253-octet name", "u@" N253, N253),
	BAD("254-octet name", "u@" N254, "name too long"),
	OK("U-label to A-label",
	   "user@b\xc3\xbc"
	   "cher.example",
	   "xn--bcher-kva.example"),
	BAD("Latin-1 domain",
	    "user@b\xfc"
	    "cher.example",
	    "invalid UTF-8"),

	/* address literals */
	LIT("IPv4 literal", "user@[192.0.2.1]", "[192.0.2.1]"),
	LIT("IPv4 literal bracketed", "<user@[192.0.2.1]>", "[192.0.2.1]"),
	LIT("IPv4 literal leading zeros", "user@[192.000.002.001]",
	    "[192.0.2.1]"),
	LIT("IPv6 literal", "user@[IPv6:2001:db8::1]", "[ipv6:2001:db8::1]"),
	LIT("IPv6 literal canonicalised", "user@[IPv6:2001:DB8:0::1]",
	    "[ipv6:2001:db8::1]"),
	LIT("IPv6 literal uncompressed",
	    "user@[ipv6:2001:0db8:0000:0000:0000:0000:0000:0001]",
	    "[ipv6:2001:db8::1]"),
	LIT("IPv6 literal mapped IPv4", "user@[IPv6:::FFFF:192.0.2.1]",
	    "[ipv6:::ffff:192.0.2.1]"),
	BAD("IPv4 octet too big", "user@[192.0.2.256]", "bad address literal"),
	BAD("IPv4 three octets", "user@[192.0.2]", "bad address literal"),
	BAD("IPv4 five octets", "user@[1.2.3.4.5]", "bad address literal"),
	BAD("IPv6 without tag", "user@[2001:db8::1]", "bad address literal"),
	BAD("IPv6 tag on IPv4", "user@[IPv6:192.0.2.1]", "bad address literal"),
	BAD("IPv6 bad digit", "user@[IPv6:2001:db8::g]", "bad address literal"),
	BAD("IPv6 zone id", "user@[IPv6:fe80::1%eth0]", "bad address literal"),
	BAD("general literal", "user@[x400:c=de]", "bad address literal"),
	BAD("empty literal", "user@[]", "bad address literal"),
	BAD("unclosed literal", "user@[192.0.2.1", "bad address literal"),
	BAD("junk after literal", "user@[192.0.2.1]x", "bad address literal"),
};

static void
check_addr(const struct addr_case *c, const char *input, int *bad)
{
	struct tlsp_addr a;
	enum tlsp_addr_kind k;

	memset(&a, 0x5a, sizeof a); /* stale garbage must be overwritten */
	k = tlsp_addr_parse(input, &a);
	if (k != c->kind || a.kind != c->kind || strcmp(a.domain, c->domain) ||
	    !same_str(a.why, c->why)) {
		print_error("row \"%s\": got %s/%s \"%.80s\" why=%s, want %s "
			    "\"%.80s\" why=%s\n",
			    c->name, kind_name(k), kind_name(a.kind), a.domain,
			    str_or_null(a.why), kind_name(c->kind), c->domain,
			    str_or_null(c->why));
		(*bad)++;
	}
}

static void
test_addr_parse(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof addr_cases / sizeof addr_cases[0]; i++)
		check_addr(&addr_cases[i], addr_cases[i].input, &bad);
	assert_int_equal(bad, 0);
}

/*
 * Hostile inputs: head + `fill` repeated to exactly 1 MiB + tail, in a
 * buffer of exactly that size plus the NUL.
 */
struct hostile_case {
	struct addr_case want; /* want.input unused */
	const char *head, *fill, *tail;
};

#define MIB (1024u * 1024u)

static char *
build_hostile(const struct hostile_case *c)
{
	size_t hl = strlen(c->head), fl = strlen(c->fill), tl = strlen(c->tail);
	char *s = malloc(hl + MIB + tl + 1);

	assert_non_null(s);
	memcpy(s, c->head, hl);
	for (size_t i = 0; i < MIB; i++)
		s[hl + i] = c->fill[i % fl];
	memcpy(s + hl + MIB, c->tail, tl + 1);
	return s;
}

static const struct hostile_case hostile_cases[] = {
	{BAD("all at signs", NULL, "empty domain"), "", "@", ""},
	{OK("huge local part", NULL, "example.com"), "", "a", "@example.com"},
	{BAD("huge label", NULL, "label too long"), "user@", "a", ""},
	{BAD("huge name of short labels", NULL, "name too long"), "user@", "a.",
	 "com"},
	{BAD("huge unterminated quote", NULL, "unterminated quote"), "\"", "a",
	 "@example.com"},
	{OK("huge run of quotes", NULL, "example.com"), "", "\"",
	 "@example.com"},
	{OK("huge run of escaped backslashes", NULL, "example.com"), "", "\\",
	 "@example.com"},
	{BAD("huge U-label name", NULL, "name too long"), "user@", "\xc3\xbc",
	 ".example"},
	{BAD("huge invalid UTF-8", NULL, "invalid UTF-8"), "user@", "\xfc", ""},
	{OK("huge source route", NULL, "example.com"), "<@", "a",
	 ":user@example.com>"},
	{BAD("huge route without colon", NULL, "empty local part"), "@", "a.",
	 ""},
	{NUL("huge whitespace", NULL), "", " ", "<>"},
	{BAD("huge open brackets", NULL, "unbalanced angle bracket"), "", "<",
	 ""},
	{BAD("huge literal", NULL, "bad address literal"), "user@[", "1", "]"},
	{BAD("huge control chars", NULL, "control character"), "", "\x01",
	 "@example.com"},
};

static void
test_addr_parse_hostile(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof hostile_cases / sizeof hostile_cases[0];
	     i++) {
		char *s = build_hostile(&hostile_cases[i]);

		check_addr(&hostile_cases[i].want, s, &bad);
		free(s);
	}
	assert_int_equal(bad, 0);
}

/* ----------------------------------------------------- domain names */

struct domain_case {
	const char *name;
	const char *input;
	size_t outsz; /* 0: TLSP_DOMAIN_MAX + 1 */
	int rc;
	const char *out; /* "" on failure */
	const char *why; /* NULL on success */
};

#define DOK(n, in, o)                                                          \
	{                                                                      \
		n, in, 0, 0, o, NULL                                           \
	}
#define DBAD(n, in, w)                                                         \
	{                                                                      \
		n, in, 0, -1, "", w                                            \
	}

static const struct domain_case domain_cases[] = {
	DOK("lowercase", "EXAMPLE.Com", "example.com"),
	DOK("already normal", "example.com", "example.com"),
	DOK("single label", "localhost", "localhost"),
	DOK("digits", "123.example", "123.example"),
	DOK("inner hyphen", "a-b.example", "a-b.example"),
	DOK("underscore", "_dmarc.example", "_dmarc.example"),
	DOK("one trailing dot", "example.com.", "example.com"),
	DBAD("two trailing dots", "example.com..", "empty label"),
	DBAD("double dot", "example..com", "empty label"),
	DBAD("leading dot", ".example.com", "empty label"),
	DBAD("dot only", ".", "empty label"),
	DBAD("empty", "", "empty label"),
	DBAD("absent", NULL, "absent"),
	DBAD("leading hyphen", "-a.example", "hyphen at start or end of label"),
	DBAD("trailing hyphen", "a-.example",
	     "hyphen at start or end of label"),
	DBAD("space", "exa mple.com", "invalid character"),
	DBAD("slash", "a/b.example", "invalid character"),
	DBAD("control char",
	     "a\x01"
	     "b.example",
	     "invalid character"),
	DOK("63-octet label", L63 ".example", L63 ".example"),
	DBAD("64-octet label", L64 ".example", "label too long"),
	DOK("253 octets", N253, N253),
	DOK("253 octets and trailing dot", N253 ".", N253),
	DBAD("254 octets", N254, "name too long"),
	{"fits exactly", "example", 8, 0, "example", NULL},
	{"one octet short", "example", 7, -1, "", "name too long"},
	{"no room at all", "example", 1, -1, "", "name too long"},

	/* IDN */
	DOK("U-label",
	    "b\xc3\xbc"
	    "cher.example",
	    "xn--bcher-kva.example"),
	DOK("U-label uppercase",
	    "B\xc3\x9c"
	    "CHER.Example",
	    "xn--bcher-kva.example"),
	DOK("U-label trailing dot",
	    "b\xc3\xbc"
	    "cher.example.",
	    "xn--bcher-kva.example"),
	DOK("non-transitional sharp s", "fa\xc3\x9f.de", "xn--fa-hia.de"),
	DOK("transitional fallback", "\xe2\x98\x83.example", "xn--n3h.example"),
	DOK("ideographic full stop",
	    "a\xe3\x80\x82"
	    "b\xc3\xbc"
	    "cher.example",
	    "a.xn--bcher-kva.example"),
	DOK("A-label kept", "xn--bcher-kva.example", "xn--bcher-kva.example"),
	DOK("A-label lowercased", "XN--BCHER-KVA.EXAMPLE",
	    "xn--bcher-kva.example"),
	DOK("U-label beside underscore",
	    "a_b.b\xc3\xbc"
	    "cher.example",
	    "a_b.xn--bcher-kva.example"),
	DBAD("U-label empty label", "b\xc3\xbc..example", "empty label"),
	DBAD("U-label with bang", "b\xc3\xbc!.example", "invalid character"),
	DBAD("leading combining mark",
	     "\xcc\x81"
	     "a.example",
	     "invalid IDN"),
	DBAD("bad punycode beside U-label", "xn--zz.b\xc3\xbc.example",
	     "invalid IDN"),
	DBAD("U-label too long", L60 "\xc3\xbc.example", "label too long"),
	DBAD("Latin-1",
	     "b\xfc"
	     "cher.example",
	     "invalid UTF-8"),
	DBAD("overlong UTF-8", "\xc0\xae.example", "invalid UTF-8"),
	DBAD("UTF-8 surrogate", "\xed\xa0\x80.example", "invalid UTF-8"),
	DBAD("UTF-8 past U+10FFFF", "\xf4\x90\x80\x80.example",
	     "invalid UTF-8"),
	DBAD("truncated UTF-8", "b\xc3", "invalid UTF-8"),
	DBAD("stray continuation byte", "b\x80.example", "invalid UTF-8"),
};

static void
test_domain_normalize(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof domain_cases / sizeof domain_cases[0];
	     i++) {
		const struct domain_case *c = &domain_cases[i];
		char out[TLSP_DOMAIN_MAX + 1];
		const char *why = NULL;
		size_t outsz = c->outsz != 0 ? c->outsz : sizeof out;
		int rc;

		memset(out, 'X', sizeof out);
		rc = tlsp_domain_normalize(c->input, out, outsz, &why);
		if (rc != c->rc || strcmp(out, c->out) != 0 ||
		    (rc < 0 && !same_str(why, c->why))) {
			print_error("row \"%s\": got %d \"%.80s\" why=%s, want "
				    "%d \"%.80s\" why=%s\n",
				    c->name, rc, out, str_or_null(why), c->rc,
				    c->out, str_or_null(c->why));
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* ------------------------------------------------------ IP and CIDR */

static void
hex16(const uint8_t b[16], char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

#define V4(hex) "00000000000000000000ffff" hex

struct ip_case {
	const char *name;
	const char *input;
	int rc;
	const char *hex; /* 32 hex digits when rc == 0 */
};

static const struct ip_case ip_cases[] = {
	{"IPv4", "192.0.2.1", 0, V4("c0000201")},
	{"IPv4 leading zeros are decimal", "192.000.002.010", 0,
	 V4("c000020a")},
	{"IPv4 zero", "0.0.0.0", 0, V4("00000000")},
	{"IPv4 all ones", "255.255.255.255", 0, V4("ffffffff")},
	{"IPv6", "2001:db8::1", 0, "20010db8000000000000000000000001"},
	{"IPv6 loopback", "::1", 0, "00000000000000000000000000000001"},
	{"IPv6 tag", "IPv6:2001:db8::1", 0, "20010db8000000000000000000000001"},
	{"IPv6 tag any case", "ipV6:2001:DB8::1", 0,
	 "20010db8000000000000000000000001"},
	{"IPv4 in brackets", "[192.0.2.1]", 0, V4("c0000201")},
	{"IPv6 tag in brackets", "[IPv6:2001:db8::1]", 0,
	 "20010db8000000000000000000000001"},
	{"IPv6 in brackets", "[2001:db8::1]", 0,
	 "20010db8000000000000000000000001"},
	{"mapped IPv4 equals IPv4", "::ffff:192.0.2.1", 0, V4("c0000201")},
	{"empty", "", -1, NULL},
	{"absent", NULL, -1, NULL},
	{"octet 256", "256.0.0.1", -1, NULL},
	{"three octets", "1.2.3", -1, NULL},
	{"five octets", "1.2.3.4.5", -1, NULL},
	{"four-digit octet", "1.2.3.0004", -1, NULL},
	{"empty octet", "1..2.3", -1, NULL},
	{"trailing dot", "1.2.3.4.", -1, NULL},
	{"negative octet", "1.2.3.-4", -1, NULL},
	{"hex octet", "0x1.2.3.4", -1, NULL},
	{"leading space", " 1.2.3.4", -1, NULL},
	{"trailing space", "1.2.3.4 ", -1, NULL},
	{"prefix is not an address", "1.2.3.4/24", -1, NULL},
	{"IPv6 bad digit", "2001:db8::g", -1, NULL},
	{"IPv6 triple colon", "2001:db8:::1", -1, NULL},
	{"IPv6 zone id", "fe80::1%eth0", -1, NULL},
	{"IPv6 too long", "0000:0000:0000:0000:0000:0000:0000:0000:0000", -1,
	 NULL},
	{"IPv6 tag on IPv4", "IPv6:192.0.2.1", -1, NULL},
	{"IPv6 tag alone", "IPv6:", -1, NULL},
	{"unclosed bracket", "[192.0.2.1", -1, NULL},
	{"unopened bracket", "192.0.2.1]", -1, NULL},
	{"empty brackets", "[]", -1, NULL},
};

static void
test_ip_parse(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof ip_cases / sizeof ip_cases[0]; i++) {
		const struct ip_case *c = &ip_cases[i];
		uint8_t ip[16];
		char hex[33] = "";
		int rc = tlsp_cidr_parse_ip(c->input, ip);

		if (rc == 0)
			hex16(ip, hex);
		if (rc != c->rc || (rc == 0 && strcmp(hex, c->hex) != 0)) {
			print_error("row \"%s\": got %d %s, want %d %s\n",
				    c->name, rc, hex, c->rc,
				    str_or_null(c->hex));
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

struct cidr_case {
	const char *name;
	const char *input;
	int rc;
	const char *hex; /* the masked network, when rc == 0 */
	unsigned prefix;
};

static const struct cidr_case cidr_cases[] = {
	{"IPv4 /24", "192.0.2.0/24", 0, V4("c0000200"), 120},
	{"IPv4 host bits cleared", "192.0.2.77/24", 0, V4("c0000200"), 120},
	{"IPv4 /31 host bit cleared", "192.0.2.3/31", 0, V4("c0000202"), 127},
	{"IPv4 /1", "200.1.2.3/1", 0, V4("80000000"), 97},
	{"IPv4 /0 keeps the mapping", "10.1.2.3/0", 0, V4("00000000"), 96},
	{"IPv4 /32", "192.0.2.1/32", 0, V4("c0000201"), 128},
	{"IPv4 bare", "192.0.2.1", 0, V4("c0000201"), 128},
	{"IPv4 bracketed", "[192.0.2.0]/24", 0, V4("c0000200"), 120},
	{"IPv6 /32", "2001:db8::/32", 0, "20010db8000000000000000000000000",
	 32},
	{"IPv6 host bits cleared", "2001:db8:1234::1/32", 0,
	 "20010db8000000000000000000000000", 32},
	{"IPv6 /65", "2001:db8::ffff:ffff:ffff:ffff/65", 0,
	 "20010db8000000008000000000000000", 65},
	{"IPv6 /0", "2001:db8::1/0", 0, "00000000000000000000000000000000", 0},
	{"IPv6 /127", "2001:db8::3/127", 0, "20010db8000000000000000000000002",
	 127},
	{"IPv6 /128", "2001:db8::1/128", 0, "20010db8000000000000000000000001",
	 128},
	{"IPv6 bare", "2001:db8::1", 0, "20010db8000000000000000000000001",
	 128},
	{"IPv6 tagged", "IPv6:2001:db8::/32", 0,
	 "20010db8000000000000000000000000", 32},
	{"IPv6 bracketed", "[2001:db8::]/32", 0,
	 "20010db8000000000000000000000000", 32},
	{"mapped IPv4 prefix in IPv6 bits", "::ffff:192.0.2.0/120", 0,
	 V4("c0000200"), 120},
	{"IPv4 /33", "192.0.2.0/33", -1, NULL, 0},
	{"IPv6 /129", "2001:db8::/129", -1, NULL, 0},
	{"missing prefix digits", "192.0.2.0/", -1, NULL, 0},
	{"junk after prefix", "192.0.2.0/24x", -1, NULL, 0},
	{"space before prefix", "192.0.2.0/ 24", -1, NULL, 0},
	{"negative prefix", "192.0.2.0/-1", -1, NULL, 0},
	{"plus sign prefix", "192.0.2.0/+24", -1, NULL, 0},
	{"four-digit prefix", "2001:db8::/0128", -1, NULL, 0},
	{"two prefixes", "192.0.2.0/24/8", -1, NULL, 0},
	{"double slash", "192.0.2.0//24", -1, NULL, 0},
	{"prefix only", "/24", -1, NULL, 0},
	{"empty", "", -1, NULL, 0},
	{"absent", NULL, -1, NULL, 0},
	{"garbage", "example.com/24", -1, NULL, 0},
	{"bad address", "192.0.2.256/24", -1, NULL, 0},
};

static void
test_cidr_parse(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof cidr_cases / sizeof cidr_cases[0]; i++) {
		const struct cidr_case *c = &cidr_cases[i];
		struct tlsp_cidr net;
		char hex[33] = "";
		int rc;

		memset(&net, 0xa5, sizeof net);
		rc = tlsp_cidr_parse(c->input, &net);
		if (rc == 0)
			hex16(net.addr, hex);
		if (rc != c->rc || (rc == 0 && (strcmp(hex, c->hex) != 0 ||
						net.prefix != c->prefix))) {
			print_error("row \"%s\": got %d %s/%u, want %d %s/%u\n",
				    c->name, rc, hex, rc == 0 ? net.prefix : 0,
				    c->rc, str_or_null(c->hex), c->prefix);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

struct match_case {
	const char *name;
	const char *net;
	const char *addr;
	int want;
};

static const struct match_case match_cases[] = {
	{"inside /24", "192.0.2.0/24", "192.0.2.200", 1},
	{"network address itself", "192.0.2.0/24", "192.0.2.0", 1},
	{"outside /24", "192.0.2.0/24", "192.0.3.1", 0},
	{"last inside /25", "192.0.2.128/25", "192.0.2.255", 1},
	{"just below /25", "192.0.2.128/25", "192.0.2.127", 0},
	{"/31 partner", "192.0.2.2/31", "192.0.2.3", 1},
	{"next after /31", "192.0.2.2/31", "192.0.2.4", 0},
	{"/32 same", "192.0.2.1/32", "192.0.2.1", 1},
	{"/32 neighbour", "192.0.2.1/32", "192.0.2.2", 0},
	{"IPv4 /0 takes any IPv4", "0.0.0.0/0", "203.0.113.9", 1},
	{"IPv4 /0 refuses IPv6", "0.0.0.0/0", "2001:db8::1", 0},
	{"IPv6 /0 takes IPv4 too", "::/0", "192.0.2.1", 1},
	{"IPv6 /32 inside", "2001:db8::/32", "2001:db8:ffff::1", 1},
	{"IPv6 /32 outside", "2001:db8::/32", "2001:db9::", 0},
	{"IPv6 /65 last inside", "2001:db8::/65",
	 "2001:db8::7fff:ffff:ffff:ffff", 1},
	{"IPv6 /65 first outside", "2001:db8::/65", "2001:db8::8000:0:0:0", 0},
	{"IPv6 /128 same", "2001:db8::1", "2001:db8::1", 1},
	{"IPv6 /128 neighbour", "2001:db8::1", "2001:db8::2", 0},
	{"mapped address in IPv4 net", "192.0.2.0/24", "::ffff:192.0.2.9", 1},
	{"literal in IPv4 net", "192.0.2.0/24", "[192.0.2.9]", 1},
	{"IPv4-compatible is not IPv4", "192.0.2.0/24", "::192.0.2.9", 0},
};

static void
test_cidr_match(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof match_cases / sizeof match_cases[0];
	     i++) {
		const struct match_case *c = &match_cases[i];
		struct tlsp_cidr net;
		uint8_t ip[16];
		int got = -1;

		if (tlsp_cidr_parse(c->net, &net) == 0 &&
		    tlsp_cidr_parse_ip(c->addr, ip) == 0)
			got = tlsp_cidr_match(&net, ip);
		if (got != c->want) {
			print_error("row \"%s\": got %d, want %d\n", c->name,
				    got, c->want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* Caller bugs must not read out of bounds or match by accident. */
static void
test_cidr_match_misuse(void **state)
{
	struct tlsp_cidr net = {.prefix = 129};
	uint8_t ip[16] = {0};

	(void)state;
	assert_int_equal(tlsp_cidr_match(&net, ip), 0);
	assert_int_equal(tlsp_cidr_match(NULL, ip), 0);
	net.prefix = 0;
	assert_int_equal(tlsp_cidr_match(&net, NULL), 0);
	assert_int_equal(tlsp_cidr_match(&net, ip), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_addr_parse_hostile),
		cmocka_unit_test(test_domain_normalize),
		cmocka_unit_test(test_ip_parse),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_match),
		cmocka_unit_test(test_cidr_match_misuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
