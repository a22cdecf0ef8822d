/*
 * address.c - envelope addresses and domain names, as the policy sees them.
 *
 * Rules are keyed by the domain of the envelope sender or recipient, so the
 * domain must come out of {mail_addr}/{rcpt_addr} (or a MAIL/RCPT argument)
 * the same way for every spelling of the same address: brackets or not,
 * source route or not, upper or lower case, trailing dot, U-labels or
 * A-labels, "[IPv6:2001:DB8:0::1]" or "[ipv6:2001:db8::1]".
 *
 * The input is attacker-controlled and may be megabytes long: everything
 * here works on (pointer, length) views of the caller's string, copies only
 * into bounded buffers, and allocates only inside libidn2 (freed at once).
 * The local part is not interpreted beyond finding where it ends; the policy
 * has no use for it, and being strict about it would only turn addresses
 * the MTA accepted into "unparsable" verdicts.
 */
#include <arpa/inet.h>
#include <idn2.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define LABEL_MAX 63   /* RFC 1035 2.3.4 */
#define DOMAIN_MAX 253 /* 255 on the wire = 253 in text without the dot */

/*
 * Longest UTF-8 name handed to libidn2. A valid result is at most 253
 * octets and each code point that survives UTS #46 mapping costs at least
 * one of them, at most four UTF-8 octets each: about 1 KiB. Longer input
 * could only be valid by way of characters that map to nothing (soft
 * hyphens and the like); we refuse it rather than copy megabytes.
 */
#define IDN_INPUT_MAX 1024

/* Longest bracketed literal we need to copy: "[IPv6:" + 45 + "]". */
#define LITERAL_MAX 64

static int
fail(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return -1;
}

static int
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * Letters, digits and hyphen (RFC 1035's LDH) plus underscore: real
 * hostnames carry underscores ("_dmarc", "mail_gw.example") and MTAs pass
 * them through, so refusing them here would make such mail unparsable.
 */
static int
is_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Checks the labels of an ASCII name s[0..len), trailing dot removed. */
static int
check_labels(const char *s, size_t len, const char **why)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		size_t n;

		if (i < len && s[i] != '.') {
			if (!is_name_char((unsigned char)s[i]))
				return fail(why, "invalid character");
			continue;
		}
		n = i - start;
		if (n == 0)
			return fail(why, "empty label");
		if (n > LABEL_MAX)
			return fail(why, "label too long");
		if (s[start] == '-' || s[i - 1] == '-')
			return fail(why, "hyphen at start or end of label");
		start = i + 1;
	}
	if (len > DOMAIN_MAX)
		return fail(why, "name too long");
	return 0;
}

/* The ASCII path: validate, then copy lowercased. */
static int
ascii_normalize(const char *s, size_t len, char *out, size_t outsz,
		const char **why)
{
	/* Exactly one trailing dot is the absolute form of the same name;
	 * a second one is an empty label. */
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (check_labels(s, len, why) < 0)
		return -1;
	if (len >= outsz)
		return fail(why, "name too long");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	out[len] = '\0';
	return 0;
}

/* Strict RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF, no truncated sequence at the end. */
static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], need;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		if (len - i - 1 < need)
			return 0;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3fu);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

/* libidn2 measures the A-labels itself; say so in the same words as the
 * ASCII path, so a policy editor sees why "<60 letters>ü.example" fails. */
static const char *
idn_error(int rc)
{
	switch (rc) {
	case IDN2_TOO_BIG_LABEL:
	case IDN2_PUNYCODE_BIG_OUTPUT:
		return "label too long";
	case IDN2_TOO_BIG_DOMAIN:
		return "name too long";
	default:
		return "invalid IDN";
	}
}

/*
 * The IDN path: U-labels to A-labels. Non-transitional (IDNA2008) first,
 * so "faß.de" is "xn--fa-hia.de" as registries now mean it; transitional
 * as a fallback, as Postfix does, for names IDNA2008 disallows but
 * IDNA2003 mapped (symbols). The result then takes the ASCII path, which
 * catches empty labels and lengths that libidn2 lets through.
 */
static int
idn_normalize(const char *s, size_t len, char *out, size_t outsz,
	      const char **why)
{
	char buf[IDN_INPUT_MAX + 1];
	uint8_t *alabels = NULL;
	int rc;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80 && c != '.' && !is_name_char(c))
			return fail(why, "invalid character");
	}
	if (!utf8_valid((const unsigned char *)s, len))
		return fail(why, "invalid UTF-8");
	if (len > IDN_INPUT_MAX)
		return fail(why, "name too long");
	memcpy(buf, s, len);
	buf[len] = '\0';
	rc = idn2_lookup_u8((const uint8_t *)buf, &alabels,
			    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK)
		rc = idn2_lookup_u8((const uint8_t *)buf, &alabels,
				    IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
	if (rc != IDN2_OK || alabels == NULL) {
		idn2_free(alabels);
		return fail(why, idn_error(rc));
	}
	rc = ascii_normalize((const char *)alabels, strlen((char *)alabels),
			     out, outsz, why);
	idn2_free(alabels);
	return rc;
}

static int
domain_normalize_n(const char *s, size_t len, char *out, size_t outsz,
		   const char **why)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return idn_normalize(s, len, out, outsz, why);
	return ascii_normalize(s, len, out, outsz, why);
}

int
tlsp_domain_normalize(const char *in, char *out, size_t outsz, const char **why)
{
	if (out == NULL || outsz == 0)
		return fail(why, "name too long");
	out[0] = '\0';
	if (in == NULL)
		return fail(why, "absent");
	if (domain_normalize_n(in, strlen(in), out, outsz, why) < 0) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ addresses */

static enum tlsp_addr_kind
addr_result(struct tlsp_addr *out, enum tlsp_addr_kind kind, const char *why)
{
	out->kind = kind;
	out->why = why;
	if (kind != TLSP_ADDR_DOMAIN && kind != TLSP_ADDR_LITERAL)
		out->domain[0] = '\0';
	return kind;
}

/* Only SP and HTAB: a CR or LF here means a broken line, not padding. */
static void
trim_blanks(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t'))
		(*s)++, (*len)--;
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

static int
strip_angle_brackets(const char **s, size_t *len)
{
	if (*len > 0 && (*s)[0] == '<') {
		if (*len < 2 || (*s)[*len - 1] != '>')
			return -1;
		(*s)++;
		*len -= 2;
	} else if (*len > 0 && (*s)[*len - 1] == '>') {
		return -1;
	}
	return 0;
}

static int
is_route_char(unsigned char c)
{
	return is_name_char(c) || c == '.' || c == ',' || c == '@' || c >= 0x80;
}

/*
 * A source route ("@a.example,@b.example:user@c.example") is obsolete and
 * RFC 5321 appendix C says to ignore it, so its domains are not validated.
 * Returns 1 when one was dropped, 0 when there is none.
 */
static int
skip_source_route(const char **s, size_t *len)
{
	if (*len == 0 || (*s)[0] != '@')
		return 0;
	for (size_t i = 1; i < *len; i++) {
		unsigned char c = (unsigned char)(*s)[i];

		if (c == ':') {
			*s += i + 1;
			*len -= i + 1;
			return 1;
		}
		if (!is_route_char(c))
			return 0;
	}
	return 0;
}

/*
 * Finds the last '@' outside quotes, honouring backslash escapes (inside
 * quotes per RFC 5321, outside as RFC 821 allowed). Returns 1 and sets *at,
 * 0 when there is no such '@', -1 with *why when the text is broken.
 */
static int
find_domain_at(const char *s, size_t len, size_t *at, const char **why)
{
	int quoted = 0, found = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_ctl(c))
			return fail(why, "control character");
		if (c == '\\') {
			if (++i == len)
				return fail(why, "trailing backslash");
			if (is_ctl((unsigned char)s[i]))
				return fail(why, "control character");
		} else if (c == '"') {
			quoted = !quoted;
		} else if (!quoted && c == ' ') {
			return fail(why, "space outside quotes");
		} else if (!quoted && c == '@') {
			*at = i;
			found = 1;
		}
	}
	if (quoted)
		return fail(why, "unterminated quote");
	return found;
}

/*
 * "[192.0.2.1]" or "[IPv6:...]", written back in one canonical form so a
 * rule for "[ipv6:2001:db8::1]" matches every spelling of that address.
 * Other general literals ("[tag:...]", or IPv6 without its tag) are refused:
 * no MTA routes to them.
 */
static enum tlsp_addr_kind
parse_literal(const char *d, size_t len, struct tlsp_addr *out)
{
	static const char bad[] = "bad address literal";
	char buf[LITERAL_MAX], text[INET6_ADDRSTRLEN];
	uint8_t ip[16];
	int v6;

	if (len < 3 || len >= sizeof buf || d[len - 1] != ']')
		return addr_result(out, TLSP_ADDR_INVALID, bad);
	memcpy(buf, d, len);
	buf[len] = '\0';
	v6 = strncasecmp(buf + 1, "IPv6:", 5) == 0;
	if ((!v6 && strchr(buf, ':') != NULL) ||
	    tlsp_cidr_parse_ip(buf, ip) < 0)
		return addr_result(out, TLSP_ADDR_INVALID, bad);
	if (v6) {
		if (inet_ntop(AF_INET6, ip, text, sizeof text) == NULL)
			return addr_result(out, TLSP_ADDR_INVALID, bad);
		snprintf(out->domain, sizeof out->domain, "[ipv6:%s]", text);
	} else {
		snprintf(out->domain, sizeof out->domain, "[%u.%u.%u.%u]",
			 ip[12], ip[13], ip[14], ip[15]);
	}
	return addr_result(out, TLSP_ADDR_LITERAL, NULL);
}

/* local@domain, with the source route already gone. */
static enum tlsp_addr_kind
parse_mailbox(const char *s, size_t len, struct tlsp_addr *out)
{
	const char *why = NULL;
	size_t at = 0;
	int found;

	found = find_domain_at(s, len, &at, &why);
	if (found < 0)
		return addr_result(out, TLSP_ADDR_INVALID, why);
	if (found == 0)
		return addr_result(out, TLSP_ADDR_NODOMAIN, "no domain");
	if (at == 0)
		return addr_result(out, TLSP_ADDR_INVALID, "empty local part");
	if (at + 1 == len)
		return addr_result(out, TLSP_ADDR_INVALID, "empty domain");
	if (s[at + 1] == '[')
		return parse_literal(s + at + 1, len - at - 1, out);
	if (domain_normalize_n(s + at + 1, len - at - 1, out->domain,
			       sizeof out->domain, &why) < 0)
		return addr_result(out, TLSP_ADDR_INVALID, why);
	return addr_result(out, TLSP_ADDR_DOMAIN, NULL);
}

enum tlsp_addr_kind
tlsp_addr_parse(const char *raw, struct tlsp_addr *out)
{
	const char *s = raw;
	size_t len;

	if (out == NULL)
		return TLSP_ADDR_INVALID;
	out->domain[0] = '\0';
	if (raw == NULL)
		return addr_result(out, TLSP_ADDR_INVALID, "absent");
	len = strlen(raw);
	trim_blanks(&s, &len);
	if (strip_angle_brackets(&s, &len) < 0)
		return addr_result(out, TLSP_ADDR_INVALID,
				   "unbalanced angle bracket");
	if (len == 0)
		return addr_result(out, TLSP_ADDR_NULL, NULL);
	if (skip_source_route(&s, &len) && len == 0)
		return addr_result(out, TLSP_ADDR_INVALID, "bad source route");
	return parse_mailbox(s, len, out);
}
