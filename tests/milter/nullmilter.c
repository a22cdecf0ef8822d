/*
 * nullmilter.c - a libmilter milter that decides nothing: the peer the
 * milter client (tests/milter/client.c) tests itself against, and the
 * baseline the load benchmark compares tlspolicy-milter with.
 *
 * By default it negotiates like a lean policy milter: it wants connect,
 * HELO, MAIL (without replies) and RCPT, skips DATA, headers, EOH, body and
 * unknown commands, and accepts at end of message (-E picks another
 * answer). -f picks other protocol flags, so that the client's handling of
 * each SMFIP_NO* and SMFIP_NR_* flag can be tested against real libmilter.
 *
 * The load benchmark (tests/bench/run.sh) uses it three times as a
 * baseline. "-f floor -D accept" with the TLS macros asked for at HELO,
 * MAIL and RCPT is the protocol floor: what any TLS policy milter must
 * do, and no more (no connect, HELO, header or body events, ACCEPT at
 * DATA; add nr_mail where the policy has no sender rules, so that no
 * reply is needed at MAIL). Then
 * "-f policy -D accept" (plus tlspolicy-milter's macro lists) negotiates
 * exactly what tlspolicy-milter does and accepts at DATA, as it does for
 * a message it need not mark: the cost of the milter protocol alone (the
 * lean null milter); "-f all" registers every callback and answers at
 * every stage, as most milters do (the naive null milter).
 * Options add work at end of message (a header, a quarantine, a progress
 * report, the values of named macros) and ask for macro lists
 * (smfi_setsymlist). Some addresses trigger replies: a recipient
 * containing "+reject" gets "550 5.7.1", one containing "+tempfail" a plain
 * tempfail; a sender containing "+reject" a plain reject; a body chunk
 * containing "SKIP" gets SMFIS_SKIP when "skip" was negotiated.
 *
 * Configuration is read-only once smfi_main() starts, so the callbacks
 * share it without locks.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#define MAX_HEADERS 8
#define MAX_MACROS 16

struct config {
	unsigned long pflags; /* SMFIP_* to ask for */
	unsigned long aflags; /* SMFIF_* needed by the options */
	/* char *, not const: libmilter's API takes char *; all point into
	 * argv */
	char *hdr_name[MAX_HEADERS];
	char *hdr_value[MAX_HEADERS];
	int nhdr;
	char *symlist[SMFIM_LAST + 1];
	char *macro[MAX_MACROS];
	int nmacro;
	char *quarantine;
	int progress;
	sfsistat eom;  /* the answer at end of message */
	sfsistat data; /* the answer at DATA (continue unless -D) */
};

static struct config cfg;

struct name_flag {
	const char *name;
	unsigned long flag;
};

static const struct name_flag pflag_names[] = {
	{"noconnect", SMFIP_NOCONNECT},
	{"nohelo", SMFIP_NOHELO},
	{"nomail", SMFIP_NOMAIL},
	{"norcpt", SMFIP_NORCPT},
	{"nodata", SMFIP_NODATA},
	{"nohdrs", SMFIP_NOHDRS},
	{"noeoh", SMFIP_NOEOH},
	{"nobody", SMFIP_NOBODY},
	{"nounknown", SMFIP_NOUNKNOWN},
	{"nr_conn", SMFIP_NR_CONN},
	{"nr_helo", SMFIP_NR_HELO},
	{"nr_mail", SMFIP_NR_MAIL},
	{"nr_rcpt", SMFIP_NR_RCPT},
	{"nr_data", SMFIP_NR_DATA},
	{"nr_hdr", SMFIP_NR_HDR},
	{"nr_eoh", SMFIP_NR_EOH},
	{"nr_body", SMFIP_NR_BODY},
	{"nr_unkn", SMFIP_NR_UNKN},
	{"skip", SMFIP_SKIP},
	{"leadspc", SMFIP_HDR_LEADSPC},
	/* presets */
	{"all", 0},
	{"lean", SMFIP_NODATA | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY |
			 SMFIP_NOUNKNOWN | SMFIP_NR_CONN | SMFIP_NR_HELO |
			 SMFIP_NR_MAIL},
	/* what tlspolicy-milter negotiates (milter/callbacks.c), without
	 * and with removal of forged headers */
	{"policy", SMFIP_NOBODY | SMFIP_NOEOH | SMFIP_NOUNKNOWN |
			   SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NOHDRS},
	{"policy-hdrs", SMFIP_NOBODY | SMFIP_NOEOH | SMFIP_NOUNKNOWN |
				SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_HDR},
	/* the protocol floor: replies at MAIL, RCPT and DATA only */
	{"floor", SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOHDRS | SMFIP_NOEOH |
			  SMFIP_NOBODY | SMFIP_NOUNKNOWN},
	{"nr", SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT |
		       SMFIP_NR_DATA | SMFIP_NR_HDR | SMFIP_NR_EOH |
		       SMFIP_NR_BODY | SMFIP_NR_UNKN},
};

static const struct {
	const char *name;
	sfsistat code;
} eom_names[] = {
	{"accept", SMFIS_ACCEPT},   {"continue", SMFIS_CONTINUE},
	{"reject", SMFIS_REJECT},   {"tempfail", SMFIS_TEMPFAIL},
	{"discard", SMFIS_DISCARD},
};

static const char *const stage_names[SMFIM_LAST + 1] = {
	"connect", "helo", "envfrom", "envrcpt", "data", "eom", "eoh",
};

/* Continue, or no reply at all where the flag said none would come. */
static sfsistat
go_on(unsigned long nr_flag)
{
	return (cfg.pflags & nr_flag) != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
nm_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
	     unsigned long f3, unsigned long *pf0, unsigned long *pf1,
	     unsigned long *pf2, unsigned long *pf3)
{
	int i;

	(void)f2, (void)f3;
	if ((f0 & cfg.aflags) != cfg.aflags)
		return SMFIS_REJECT; /* the MTA cannot do what we need */
	for (i = 0; i <= SMFIM_LAST; i++)
		if (cfg.symlist[i] != NULL &&
		    smfi_setsymlist(ctx, i, cfg.symlist[i]) != MI_SUCCESS)
			return SMFIS_REJECT;
	*pf0 = cfg.aflags;
	/* f1 always holds the NR_* bits: libmilter fakes those the MTA
	 * lacks. A missing NO* bit only means more events arrive. */
	*pf1 = cfg.pflags & f1;
	*pf2 = *pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat
nm_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	(void)ctx, (void)host, (void)sa;
	return go_on(SMFIP_NR_CONN);
}

static sfsistat
nm_helo(SMFICTX *ctx, char *name)
{
	(void)ctx, (void)name;
	return go_on(SMFIP_NR_HELO);
}

static sfsistat
nm_envfrom(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	if (strstr(argv[0], "+reject") != NULL)
		return SMFIS_REJECT;
	return go_on(SMFIP_NR_MAIL);
}

static sfsistat
nm_envrcpt(SMFICTX *ctx, char **argv)
{
	if (strstr(argv[0], "+reject") != NULL) {
		smfi_setreply(ctx, "550", "5.7.1", "rejected by nullmilter");
		return SMFIS_REJECT;
	}
	if (strstr(argv[0], "+tempfail") != NULL)
		return SMFIS_TEMPFAIL;
	return go_on(SMFIP_NR_RCPT);
}

static sfsistat
nm_data(SMFICTX *ctx)
{
	(void)ctx;
	if (cfg.data != SMFIS_CONTINUE)
		return cfg.data;
	return go_on(SMFIP_NR_DATA);
}

static sfsistat
nm_unknown(SMFICTX *ctx, const char *cmd)
{
	(void)ctx, (void)cmd;
	return go_on(SMFIP_NR_UNKN);
}

static sfsistat
nm_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx, (void)name, (void)value;
	return go_on(SMFIP_NR_HDR);
}

static sfsistat
nm_eoh(SMFICTX *ctx)
{
	(void)ctx;
	return go_on(SMFIP_NR_EOH);
}

/* Looks for "SKIP" in a chunk that is not NUL-terminated. */
static int
has_skip(const unsigned char *b, size_t len)
{
	size_t i;

	for (i = 0; i + 4 <= len; i++)
		if (memcmp(b + i, "SKIP", 4) == 0)
			return 1;
	return 0;
}

static sfsistat
nm_body(SMFICTX *ctx, unsigned char *b, size_t len)
{
	(void)ctx;
	if ((cfg.pflags & SMFIP_SKIP) != 0 && has_skip(b, len))
		return SMFIS_SKIP;
	return go_on(SMFIP_NR_BODY);
}

/* Reports each -M macro as "X-Nullmilter-Macro: name=value". */
static int
report_macros(SMFICTX *ctx)
{
	char buf[512];
	const char *v;
	int i;

	for (i = 0; i < cfg.nmacro; i++) {
		v = smfi_getsymval(ctx, cfg.macro[i]);
		snprintf(buf, sizeof buf, "%s=%s", cfg.macro[i],
			 v != NULL ? v : "(unset)");
		if (smfi_addheader(ctx, "X-Nullmilter-Macro", buf) !=
		    MI_SUCCESS)
			return -1;
	}
	return 0;
}

static sfsistat
nm_eom(SMFICTX *ctx)
{
	int i;

	if (cfg.progress && smfi_progress(ctx) != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	if (cfg.quarantine != NULL &&
	    smfi_quarantine(ctx, cfg.quarantine) != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	for (i = 0; i < cfg.nhdr; i++)
		if (smfi_addheader(ctx, cfg.hdr_name[i], cfg.hdr_value[i]) !=
		    MI_SUCCESS)
			return SMFIS_TEMPFAIL;
	if (report_macros(ctx) < 0)
		return SMFIS_TEMPFAIL;
	return cfg.eom;
}

static sfsistat
nm_abort(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
nm_close(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
	"nullmilter", SMFI_VERSION, 0,	     nm_connect,   nm_helo, nm_envfrom,
	nm_envrcpt,   nm_header,    nm_eoh,  nm_body,	   nm_eom,  nm_abort,
	nm_close,     nm_unknown,   nm_data, nm_negotiate,
};

static void
usage(void)
{
	fprintf(stderr,
		"usage: nullmilter -p socket [-f flag,...] [-a name:value]\n"
		"                  [-m stage:macros] [-M macro] [-q reason] "
		"[-g] [-b backlog]\n"
		"                  [-E answer] [-D answer]\n"
		"  -f  protocol flags: lean (default), all, nr, policy,\n"
		"      policy-hdrs, floor, or names such as\n"
		"      nohdrs,nr_rcpt,skip (see SMFIP_* in mfdef.h)\n"
		"  -a  add a header at end of message (up to %d)\n"
		"  -m  ask for macros at a stage: connect helo envfrom "
		"envrcpt data\n"
		"      eom eoh, e.g. -m 'envrcpt:{tls_version} {cipher}'\n"
		"  -M  report a macro's value in an X-Nullmilter-Macro header\n"
		"  -q  quarantine at end of message\n"
		"  -g  send a progress report at end of message\n"
		"  -E  answer at end of message: accept (default), continue,\n"
		"      reject, tempfail or discard\n"
		"  -D  answer at DATA: continue (default), accept, ...\n",
		MAX_HEADERS);
	exit(EX_USAGE);
}

static unsigned long
parse_flags(const char *arg)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	unsigned long f = 0;
	size_t i, n = sizeof pflag_names / sizeof pflag_names[0];

	if (copy == NULL)
		exit(EX_OSERR);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < n && strcmp(tok, pflag_names[i].name); i++)
			continue;
		if (i == n) {
			fprintf(stderr, "nullmilter: unknown flag %s\n", tok);
			exit(EX_USAGE);
		}
		f |= pflag_names[i].flag;
	}
	free(copy);
	return f;
}

/* "stage:list" for -m */
static void
parse_symlist(char *arg)
{
	char *colon = strchr(arg, ':');
	int i;

	if (colon == NULL)
		usage();
	*colon = '\0';
	for (i = 0; i <= SMFIM_LAST && strcmp(arg, stage_names[i]); i++)
		continue;
	if (i > SMFIM_LAST) {
		fprintf(stderr, "nullmilter: unknown stage %s\n", arg);
		exit(EX_USAGE);
	}
	cfg.symlist[i] = colon + 1;
	cfg.aflags |= SMFIF_SETSYMLIST; /* Sendmail wants it asked for */
}

static void
parse_header(char *arg)
{
	char *colon = strchr(arg, ':');

	if (colon == NULL || colon == arg || cfg.nhdr == MAX_HEADERS)
		usage();
	*colon = '\0';
	cfg.hdr_name[cfg.nhdr] = arg;
	cfg.hdr_value[cfg.nhdr++] = colon + 1;
	cfg.aflags |= SMFIF_ADDHDRS;
}

static sfsistat
parse_answer(const char *arg)
{
	size_t i, n = sizeof eom_names / sizeof eom_names[0];

	for (i = 0; i < n && strcmp(arg, eom_names[i].name); i++)
		continue;
	if (i == n)
		usage();
	return eom_names[i].code;
}

static char *
parse_args(int argc, char **argv)
{
	char *sock = NULL;
	int ch, backlog = 0;

	cfg.pflags = parse_flags("lean");
	cfg.eom = SMFIS_ACCEPT;
	cfg.data = SMFIS_CONTINUE;
	while ((ch = getopt(argc, argv, "p:f:a:m:M:q:gb:E:D:")) != -1) {
		switch (ch) {
		case 'p':
			sock = optarg;
			break;
		case 'f':
			cfg.pflags = parse_flags(optarg);
			break;
		case 'a':
			parse_header(optarg);
			break;
		case 'm':
			parse_symlist(optarg);
			break;
		case 'M':
			if (cfg.nmacro == MAX_MACROS)
				usage();
			cfg.macro[cfg.nmacro++] = optarg;
			cfg.aflags |= SMFIF_ADDHDRS;
			break;
		case 'q':
			cfg.quarantine = optarg;
			cfg.aflags |= SMFIF_QUARANTINE;
			break;
		case 'g':
			cfg.progress = 1;
			break;
		case 'b':
			backlog = atoi(optarg);
			break;
		case 'E':
			cfg.eom = parse_answer(optarg);
			break;
		case 'D':
			cfg.data = parse_answer(optarg);
			break;
		default:
			usage();
		}
	}
	if (sock == NULL || optind != argc)
		usage();
	if (backlog > 0 && smfi_setbacklog(backlog) != MI_SUCCESS)
		usage();
	return sock;
}

int
main(int argc, char **argv)
{
	char *sock = parse_args(argc, argv);

	desc.xxfi_flags = cfg.aflags;
	if (smfi_setconn(sock) != MI_SUCCESS ||
	    smfi_register(desc) != MI_SUCCESS) {
		fprintf(stderr, "nullmilter: cannot set up %s\n", sock);
		return EX_SOFTWARE;
	}
	/* Open now, so a bad socket fails here, not silently later. */
	if (smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "nullmilter: cannot listen on %s\n", sock);
		return EX_UNAVAILABLE;
	}
	return smfi_main() == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
}
