/*
 * fleet.h - several hosts' logs in one verify or report (private to
 * tlspolicy-audit): each host with its own key, anchors and files.
 *
 *	verify [OPTIONS] --host NAME [--key FILE] [--anchor SEQ:HASH]...
 *	       FILE... [--host NAME ...]...
 *
 * Options before the first --host are the command's own and apply to
 * every host; after it, each --host starts a group of that host's key,
 * anchors and files, up to the next --host. Every record of a host's
 * files must name that host in its "host" member.
 */
#ifndef TLSPOLICY_AUDIT_FLEET_H
#define TLSPOLICY_AUDIT_FLEET_H

#include <stddef.h>

#include "chain.h"
#include "follow.h"

struct tlspa_host {
	const char *name; /* borrowed from argv */
	struct tlsp_chain_key key;
	struct tlspa_follow_anchor *anchors; /* owned */
	size_t nanchors;
	char **files; /* owned array of borrowed argv strings */
	int nfiles;
};

struct tlspa_fleet {
	struct tlspa_host *hosts; /* owned */
	size_t n;
};

/* The index in argv of the first "--host" (or "--host=NAME"), or -1. */
int tlspa_fleet_find(int argc, char **argv);

/* Parses argv[from..argc) (from: tlspa_fleet_find) into fl, which the
 * caller zero-initialised and frees with tlspa_fleet_free, also after
 * an error. 0, or TLSPA_EX_ERROR after saying why on stderr (a group
 * without files, a host named twice, an unknown option, a bad key or
 * anchor). */
int tlspa_fleet_parse(struct tlspa_fleet *fl, int argc, char **argv, int from);

void tlspa_fleet_free(struct tlspa_fleet *fl);

/* 1 if the record's "host" member is not `name` (absent counts as
 * another host). */
int tlspa_fleet_wrong_host(const struct tlspa_jv *rec, const char *name);

/* The number of hosts to verify at once: the online processors, at
 * least 1, at most n. */
size_t tlspa_fleet_workers(size_t n);

#endif
