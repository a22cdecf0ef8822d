/*
 * macro-dump-milter: records which macros an MTA really sends.
 *
 * A test tool, not part of tlspolicy. At HELO, MAIL, RCPT and end of message
 * it reads a fixed list of macros with smfi_getsymval and appends one JSON
 * line per callback to the file named on its command line, then lets the
 * message through. A macro the MTA did not send is left out of the line; one
 * sent empty appears as "". Each connection gets a number ("conn") so the
 * lines of one SMTP session can be grouped.
 *
 * One knob, for testing the harness's quarantine helpers: a message with a
 * recipient whose local part is "hold" is quarantined at end of message.
 *
 * Build: cc -o macro-dump-milter macro-dump-milter.c -lmilter -lpthread
 * Run:   macro-dump-milter -p unix:/path/to.sock -o /path/to/dump.jsonl
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

static const char *const dump_macros[] = {
	"{tls_version}",
	"{cipher}",
	"{cipher_bits}",
	"{cert_subject}",
	"{cert_issuer}",
	"{verify}",
	"{cert_fp}",
	"{cert_md5}",
	"i",
	"j",
	"v",
	"{daemon_name}",
	"{client_addr}",
	"{client_name}",
	"{client_ptr}",
	"{client_resolve}",
	"{mail_addr}",
	"{rcpt_addr}",
	"{auth_authen}",
};

static FILE *dump_out;
static pthread_mutex_t dump_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long dump_conns;

/* Per connection: its number, and whether this message is to be held. */
struct dump_conn {
	unsigned long n;
	int hold;
};

/* Writes S as a JSON string; bytes outside printable ASCII are \u escaped
 * so that the line stays valid whatever the MTA sends. */
static void
dump_json_string(FILE *fp, const char *s)
{
	const unsigned char *p;

	fputc('"', fp);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(fp, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(fp, "\\u%04x", *p);
		else
			fputc(*p, fp);
	}
	fputc('"', fp);
}

/* One line: {"conn":N,"stage":S,"arg":A,"macros":{...}}. The whole line is
 * written under the lock, so lines of concurrent sessions never interleave. */
static void
dump_stage(SMFICTX *ctx, const char *stage, const char *arg)
{
	struct dump_conn *conn = smfi_getpriv(ctx);
	const char *val;
	size_t i;
	int first = 1;

	pthread_mutex_lock(&dump_lock);
	fprintf(dump_out, "{\"conn\":%lu,\"stage\":\"%s\",\"arg\":",
		conn != NULL ? conn->n : 0UL, stage);
	dump_json_string(dump_out, arg != NULL ? arg : "");
	fputs(",\"macros\":{", dump_out);
	for (i = 0; i < sizeof(dump_macros) / sizeof(dump_macros[0]); i++) {
		val = smfi_getsymval(ctx, (char *)dump_macros[i]);
		if (val == NULL)
			continue;
		if (!first)
			fputc(',', dump_out);
		first = 0;
		dump_json_string(dump_out, dump_macros[i]);
		fputc(':', dump_out);
		dump_json_string(dump_out, val);
	}
	fputs("}}\n", dump_out);
	fflush(dump_out);
	pthread_mutex_unlock(&dump_lock);
}

static sfsistat
dump_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	struct dump_conn *conn;

	(void)addr;
	conn = calloc(1, sizeof(*conn));
	if (conn == NULL)
		return SMFIS_TEMPFAIL;
	pthread_mutex_lock(&dump_lock);
	conn->n = ++dump_conns;
	pthread_mutex_unlock(&dump_lock);
	smfi_setpriv(ctx, conn);
	dump_stage(ctx, "connect", host);
	return SMFIS_CONTINUE;
}

static sfsistat
dump_helo(SMFICTX *ctx, char *helo)
{
	dump_stage(ctx, "helo", helo);
	return SMFIS_CONTINUE;
}

static sfsistat
dump_envfrom(SMFICTX *ctx, char **argv)
{
	struct dump_conn *conn = smfi_getpriv(ctx);

	if (conn != NULL)
		conn->hold = 0;
	dump_stage(ctx, "mail", argv[0]);
	return SMFIS_CONTINUE;
}

static sfsistat
dump_envrcpt(SMFICTX *ctx, char **argv)
{
	struct dump_conn *conn = smfi_getpriv(ctx);

	if (conn != NULL && strncasecmp(argv[0], "<hold@", 6) == 0)
		conn->hold = 1;
	dump_stage(ctx, "rcpt", argv[0]);
	return SMFIS_CONTINUE;
}

static sfsistat
dump_eom(SMFICTX *ctx)
{
	struct dump_conn *conn = smfi_getpriv(ctx);

	dump_stage(ctx, "eom", NULL);
	if (conn != NULL && conn->hold &&
	    smfi_quarantine(ctx, "macro-dump hold") != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	return SMFIS_ACCEPT;
}

static sfsistat
dump_close(SMFICTX *ctx)
{
	free(smfi_getpriv(ctx));
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static struct smfiDesc dump_desc = {
	.xxfi_name = "macro-dump",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_QUARANTINE,
	.xxfi_connect = dump_connect,
	.xxfi_helo = dump_helo,
	.xxfi_envfrom = dump_envfrom,
	.xxfi_envrcpt = dump_envrcpt,
	.xxfi_eom = dump_eom,
	.xxfi_close = dump_close,
};

int
main(int argc, char **argv)
{
	const char *sock = NULL, *out = NULL;
	int c;

	while ((c = getopt(argc, argv, "p:o:")) != -1) {
		switch (c) {
		case 'p':
			sock = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (sock == NULL || out == NULL)
		goto usage;
	dump_out = fopen(out, "a");
	if (dump_out == NULL) {
		fprintf(stderr, "macro-dump-milter: %s: %s\n", out,
			strerror(errno));
		return EX_CANTCREAT;
	}
	if (smfi_setconn((char *)sock) == MI_FAILURE ||
	    smfi_register(dump_desc) == MI_FAILURE ||
	    smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "macro-dump-milter: cannot listen on %s\n",
			sock);
		return EX_UNAVAILABLE;
	}
	/* smfi_main returns when SIGTERM, SIGINT or SIGHUP arrives. */
	return smfi_main() == MI_SUCCESS ? EX_OK : EX_SOFTWARE;

usage:
	fprintf(stderr, "usage: macro-dump-milter -p SOCKET -o FILE\n");
	return EX_USAGE;
}
