/*
 * body.h - the part of an audit record that depends only on the event
 * (private to audit/).
 *
 * The calling thread builds it without any lock; the writer thread then
 * numbers it, stamps the time and links it into the hash chain. Privacy
 * settings apply here, so a full address never reaches the writer when
 * the log must not hold one.
 */
#ifndef TLSPOLICY_AUDIT_BODY_H
#define TLSPOLICY_AUDIT_BODY_H

#include "json.h"
#include "tlspolicy/audit.h"

struct tlsp_body_opts {
	const char *host;
	enum tlsp_audit_addresses addresses;
	const unsigned char *pkey; /* pseudonym key; borrowed */
	size_t pkeylen;
};

/*
 * Appends the record's body, one JSON object without "seq", "time",
 * "prev" and "hash", to jb. Decision records carry a fresh random salt
 * (audit/FORMAT.md). Returns 0, or -1 when memory or randomness ran out
 * (jb is then incomplete).
 */
int tlsp_body_build(struct tlsp_jbuf *jb, const struct tlsp_body_opts *o,
		    const struct tlsp_audit_event *ev);

/* The spelling of a verdict's status in a record: "pass", "fail",
 * "unknown"; NULL outside the enum. Static. */
const char *tlsp_body_status_name(enum tlsp_status st);

/*
 * An envelope address as the log keeps it under `addresses`: as given,
 * "hmac:<16 hex>@domain" (keyed digest of the local part), or
 * "@domain". The null sender stays "". Returns addr itself when it is
 * kept in full, else out (always NUL-terminated).
 */
const char *tlsp_body_address(const struct tlsp_body_opts *o, const char *addr,
			      char *out, size_t outsz);

#endif
