/*
 * reply.c - the SMTP reply for a rule that rejects or defers a recipient.
 *
 * The text is the rule's `reply:` template with its %{...} placeholders
 * filled in, or a default for the action. Only policy values reach a
 * reply, never a string the client sent, so a client cannot put words in
 * the MTA's mouth. The loader has already checked the template (reply
 * code, placeholders, no CR/LF, length); here it is only expanded.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* A plaintext session gets the wording MTAs use for "STARTTLS first", the
 * answer a client's TLS fallback logic is most likely to understand. */
static const char *
default_template(enum tlsp_action action, int plaintext)
{
	if (action == TLSP_ACTION_REJECT && plaintext)
		return "530 5.7.0 Must issue a STARTTLS command first";
	if (action == TLSP_ACTION_REJECT)
		return "550 5.7.1 Message refused: TLS policy for the "
		       "%{direction} domain not met";
	if (plaintext)
		return "450 4.7.0 Must issue a STARTTLS command first";
	return "450 4.7.1 TLS policy for the %{direction} domain not met, "
	       "try again later";
}

static const char *
version_or_any(const struct tlsp_reqs *q, enum tlsp_req req,
	       enum tlsp_version v)
{
	const char *s = tlsp_version_name(v);

	return (q->set & (1u << req)) && s != NULL ? s : "any";
}

enum placeholder {
	PH_RULE,
	PH_DIRECTION,
	PH_PROFILE,
	PH_MIN_VERSION,
	PH_MAX_VERSION,
	PH_MIN_CIPHER_BITS,
	PH_CLIENT_CERT,
};

const struct tlsp_name_code tlsp_reply_placeholders[] = {
	{"rule", PH_RULE},
	{"direction", PH_DIRECTION},
	{"profile", PH_PROFILE},
	{"min_version", PH_MIN_VERSION},
	{"max_version", PH_MAX_VERSION},
	{"min_cipher_bits", PH_MIN_CIPHER_BITS},
	{"client_cert", PH_CLIENT_CERT},
	{NULL, -1},
};

/*
 * The value of placeholder `name` (len bytes, without "%{" and "}") for
 * `rule`, or NULL if there is no such placeholder. num is scratch space
 * for numbers.
 */
static const char *
placeholder(const struct tlsp_rule *rule, const char *name, size_t len,
	    char *num, size_t numsz)
{
	const struct tlsp_spec *spec = rule->spec;
	const struct tlsp_reqs *q = &spec->req;
	const char *s;
	char key[32];

	if (len >= sizeof(key))
		return NULL; /* longer than any placeholder */
	memcpy(key, name, len);
	key[len] = '\0';
	switch (tlsp_name_code(tlsp_reply_placeholders, key)) {
	case PH_RULE:
		return rule->pattern;
	case PH_DIRECTION:
		return rule->dir == TLSP_DIR_SENDER ? "sender"
		       : rule->dir == TLSP_DIR_PAIR ? "sender and recipient"
						    : "recipient";
	case PH_PROFILE:
		return spec->profile != NULL ? spec->profile : "none";
	case PH_MIN_VERSION:
		return version_or_any(q, TLSP_REQ_MIN_VERSION, q->min_version);
	case PH_MAX_VERSION:
		return version_or_any(q, TLSP_REQ_MAX_VERSION, q->max_version);
	case PH_MIN_CIPHER_BITS:
		if ((q->set & (1u << TLSP_REQ_MIN_CIPHER_BITS)) == 0)
			return "any";
		snprintf(num, numsz, "%d", q->min_cipher_bits);
		return num;
	case PH_CLIENT_CERT:
		s = tlsp_code_name(tlsp_client_cert_names, q->client_cert);
		return s != NULL ? s : "none";
	default:
		return NULL;
	}
}

/* Appends n bytes; returns -1 (and writes nothing) if they do not fit
 * with the terminating NUL. */
static int
put(char *buf, size_t bufsz, size_t *len, const char *s, size_t n)
{
	if (*len + n >= bufsz)
		return -1;
	memcpy(buf + *len, s, n);
	*len += n;
	return 0;
}

int
tlsp_reply_render(const struct tlsp_rule *rule, int plaintext, char *buf,
		  size_t bufsz)
{
	enum tlsp_action action = rule->spec->action;
	const char *p, *end = NULL, *val;
	char num[16];
	size_t len = 0, n;

	if (bufsz == 0)
		return -1;
	buf[0] = '\0';
	if (action != TLSP_ACTION_REJECT && action != TLSP_ACTION_DEFER)
		return 0;
	p = rule->spec->reply;
	if (p == NULL)
		p = default_template(action, plaintext);
	while (*p != '\0') {
		val = NULL;
		if (p[0] == '%' && p[1] == '%') {
			val = "%";
			end = p + 1;
		} else if (p[0] == '%' && p[1] == '{' &&
			   (end = strchr(p + 2, '}')) != NULL) {
			val = placeholder(rule, p + 2, (size_t)(end - p - 2),
					  num, sizeof(num));
		}
		if (val != NULL) {
			n = strlen(val);
			p = end + 1;
		} else {
			/* Anything else, unknown placeholders included, is
			 * literal text. */
			val = p;
			n = 1;
			p++;
		}
		if (put(buf, bufsz, &len, val, n) < 0) {
			buf[0] = '\0';
			return -1;
		}
	}
	buf[len] = '\0';
	return (int)len;
}
