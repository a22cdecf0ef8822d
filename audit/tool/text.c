/*
 * text.c - what tlspolicy-audit prints about a log: recipient domains,
 * and strings made safe for a terminal.
 *
 * The tool reads audit logs that a hostile party may have written into
 * (an address or a certificate name is whatever the client sent), so
 * everything it prints for a person goes through tlspa_text_put_safe.
 */
#include <stdio.h>
#include <string.h>

#include "tlspolicy/policy.h"
#include "tool.h"

size_t
tlspa_text_domain(const char *addr, size_t len, char *out, size_t outsz)
{
	const char *at = NULL;
	size_t i, n;

	out[0] = '\0';
	for (i = 0; i < len; i++)
		if (addr[i] == '@')
			at = addr + i;
	if (at == NULL || outsz == 0)
		return 0;
	n = len - (size_t)(at + 1 - addr);
	if (n > 0 && at[n] == '>')
		n--;
	if (n > 0 && at[n] == '.')
		n--;
	if (n >= outsz)
		n = outsz - 1;
	for (i = 0; i < n; i++) {
		char c = at[1 + i];

		out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	out[n] = '\0';
	return n;
}

int
tlspa_text_domain_match(const char *d, const char *p)
{
	size_t dl = strlen(d), pl = strlen(p);

	if (p[0] == '.')
		return dl > pl && strcasecmp(d + dl - pl, p) == 0;
	return strcasecmp(d, p) == 0;
}

/* Length of the printable character at s, or 0 if it must be escaped. */
static size_t
printable(const unsigned char *s, size_t n)
{
	unsigned cp;
	size_t k = tlsp_utf8_decode(s, n, &cp);

	if (k == 0 || cp < 0x20 || cp == 0x7f || cp == '\\')
		return 0;
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;
	/* the decision log's set (FORMAT.md section 1): line separators,
	 * bidi controls, invisible and tag characters */
	if (tlsp_is_format_char(cp))
		return 0;
	return k;
}

void
tlspa_text_put_safe(FILE *f, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, run = 0;

	while (i < len) {
		if (u[i] >= 0x20 && u[i] < 0x7f && u[i] != '\\') {
			i++;
			run++;
			continue;
		}
		if ((k = printable(u + i, len - i)) > 0) {
			i += k;
			run += k;
			continue;
		}
		fwrite(s + i - run, 1, run, f);
		run = 0;
		if (u[i] == '\\')
			fputs("\\\\", f);
		else
			fprintf(f, "\\x%02x", u[i]);
		i++;
	}
	fwrite(s + i - run, 1, run, f);
}

char *
tlspa_text_safe(const char *s, size_t len, char *out, size_t outsz)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, j = 0, k, n;
	const char *piece;
	char esc[8];

	while (i < len) {
		if ((k = printable(u + i, len - i)) > 0) {
			piece = s + i;
			n = k;
		} else {
			if (u[i] == '\\')
				snprintf(esc, sizeof(esc), "\\\\");
			else
				snprintf(esc, sizeof(esc), "\\x%02x", u[i]);
			piece = esc;
			n = strlen(esc);
			k = 1;
		}
		if (j + n + 4 > outsz) {
			memcpy(out + j, "...", 4);
			return out;
		}
		memcpy(out + j, piece, n);
		j += n;
		i += k;
	}
	out[j] = '\0';
	return out;
}

void
tlspa_text_put_value(FILE *f, const struct tlspa_jv *v)
{
	const char *d;

	if (v == NULL) {
		fputc('-', f);
	} else if (v->type == TLSPA_J_STR && v->len == 0) {
		fputs("\"\"", f);
	} else if (v->type == TLSPA_J_STR) {
		tlspa_text_put_safe(f, v->s, v->len);
	} else if ((d = tlspa_jv_digest(v)) != NULL) {
		fprintf(f, "[redacted sha256:%.16s...]", d);
	} else if (v->type == TLSPA_J_NUM) {
		tlspa_text_put_safe(f, v->s, v->len);
	} else if (v->type == TLSPA_J_NULL) {
		fputs("null", f);
	} else if (v->type == TLSPA_J_TRUE || v->type == TLSPA_J_FALSE) {
		fputs(v->type == TLSPA_J_TRUE ? "true" : "false", f);
	} else {
		fputs(v->type == TLSPA_J_OBJ ? "{...}" : "[...]", f);
	}
}

void
tlspa_text_sender_key(const struct tlspa_jv *sender, char *out, size_t outsz)
{
	if (sender == NULL)
		snprintf(out, outsz, "(no sender)");
	else if (sender->type != TLSPA_J_STR)
		snprintf(out, outsz, "(redacted)");
	else if (sender->len == 0 || tlspa_jv_is(sender, "<>"))
		snprintf(out, outsz, "(null sender)");
	else if (tlspa_text_domain(sender->s, sender->len, out, outsz) == 0)
		snprintf(out, outsz, "(no domain)");
}
