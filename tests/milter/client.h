/*
 * client.h - the MTA side of the milter protocol (version 6), for tests and
 * benchmarks that drive a milter over its socket the way Postfix does.
 *
 * One struct mt_conn per milter connection; no globals, so separate
 * connections may be used from separate threads (one thread per connection
 * at a time). All I/O is bounded by the connection's timeout: a hung milter
 * makes a call fail, never hang. Functions return 0 (or a count) on success
 * and -1 on failure; mt_error() then says why. After an I/O error or a
 * protocol violation the connection is unusable and every later call fails
 * with the first error, so a test reports the cause, not a knock-on effect.
 *
 * What the client does for the caller, as Postfix does:
 *  - skips events the milter negotiated away (SMFIP_NOCONNECT ... NOUNKNOWN)
 *    and reports them as MT_SKIPPED;
 *  - does not wait for replies the milter negotiated away (SMFIP_NR_*);
 *    such commands stay buffered and go out with the next command that
 *    waits for a reply (or with mt_flush/mt_abort/mt_quit), which is what
 *    Postfix's buffered stream does;
 *  - sends, per stage, only the macros the milter listed with
 *    smfi_setsymlist() (matched by exact name: "{tls_version}", "j");
 *  - after SMFIR_SKIP to a body chunk, sends no further body chunks.
 * What it leaves to the caller: the order of events (connect, helo, mail,
 * rcpt, data, header, eoh, body, eom) and what follows a final decision
 * (Postfix stops sending a message's events after ACCEPT, and closes the
 * milter connection after a decision at connect or HELO). libmilter ignores
 * out-of-order commands without replying, which shows up here as a timeout.
 */
#ifndef TLSP_TESTS_MILTER_CLIENT_H
#define TLSP_TESTS_MILTER_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

/* What Postfix 3.x (milter_protocol = 6) and Sendmail 8.14+ offer. */
#define MT_ALL_ACTIONS ((uint32_t)SMFI_CURR_ACTS)
#define MT_ALL_PROTOCOL ((uint32_t)SMFI_CURR_PROT)

/* mt_reply.code values that are not SMFIR_* reply codes. */
#define MT_NOREPLY 0   /* sent; the milter negotiated no reply (NR_*) */
#define MT_SKIPPED 'S' /* not sent: SMFIP_NO*, earlier SMFIR_SKIP, no data */

#define MT_MAX_MODS 16
#define MT_NAME_MAX 256
#define MT_VALUE_MAX 4096
#define MT_TEXT_MAX 1024

/*
 * One modification requested at end of message, by cmd:
 *  SMFIR_ADDHEADER          name, value
 *  SMFIR_INSHEADER          index, name, value
 *  SMFIR_CHGHEADER          index, name, value ("" deletes the header)
 *  SMFIR_QUARANTINE         value = reason
 *  SMFIR_ADDRCPT, DELRCPT   value = address
 *  SMFIR_ADDRCPT_PAR,
 *  SMFIR_CHGFROM            value = address, name = ESMTP arguments or ""
 *  SMFIR_REPLBODY           value = body chunk (raw bytes, NUL-terminated
 *                           copy)
 * value_len is the length on the wire (without NUL); when it is larger than
 * the buffer, value is cut and mt_reply.truncated is set.
 */
struct mt_mod {
	int cmd;
	uint32_t index;
	char name[MT_NAME_MAX];
	char value[MT_VALUE_MAX];
	size_t value_len;
};

/*
 * The outcome of one event. code is the milter's final reply (SMFIR_CONTINUE
 * 'c', ACCEPT 'a', REJECT 'r', TEMPFAIL 't', DISCARD 'd', REPLYCODE 'y',
 * SKIP 's', SHUTDOWN '4'), or MT_NOREPLY, or MT_SKIPPED. text holds the
 * SMTP reply of SMFIR_REPLYCODE ("550 5.7.1 ..."), "" otherwise. mods lists,
 * in order, the modifications that came before the final reply at end of
 * message; more than MT_MAX_MODS are counted in nmods_seen and set truncated.
 */
struct mt_reply {
	int code;
	char text[MT_TEXT_MAX];
	size_t nmods;
	size_t nmods_seen;
	int truncated;
	struct mt_mod mods[MT_MAX_MODS];
};

/* A macro to send; a NULL value means "not defined" and is not sent. */
struct mt_macro {
	const char *name; /* "{tls_version}", "i", ... */
	const char *value;
};

/* Counters for benchmarks; all monotonic over the connection's life. */
struct mt_stats {
	uint64_t commands; /* command packets queued (macros not counted) */
	uint64_t macro_packets; /* SMFIC_MACRO packets queued */
	uint64_t round_trips;	/* commands whose reply was waited for */
	uint64_t no_reply;	/* commands sent with no reply expected */
	uint64_t not_sent;	/* events skipped (MT_SKIPPED) */
	uint64_t replies;	/* packets read: replies, mods, progress */
	uint64_t bytes_out;
	uint64_t bytes_in;
	uint64_t writes;  /* send() calls */
	uint64_t reads;	  /* recv() calls */
	uint64_t wait_ns; /* time from flush to final reply, summed */
};

struct mt_conn;

/*
 * Connects to "unix:/path", "local:/path", "/path", "inet:port@host",
 * "inet:host:port" or "inet6:port@host" within timeout_ms (also used for
 * every later read and write on the connection). Returns a new connection
 * the caller frees with mt_close(), or NULL with a message in err.
 */
struct mt_conn *mt_open(const char *spec, int timeout_ms, char *err,
			size_t errsz);

/* Closes the socket (without SMFIC_QUIT) and frees c; NULL is fine. */
void mt_close(struct mt_conn *c);

/* Changes the timeout for later calls. */
void mt_set_timeout(struct mt_conn *c, int timeout_ms);

/*
 * Option negotiation: offers protocol version 6, the given actions
 * (SMFIF_*) and protocol flags (SMFIP_*), and reads the milter's choice and
 * its macro lists. Fails if the milter chose a version, action or protocol
 * flag that was not offered, as Sendmail does. Once per connection.
 */
int mt_negotiate(struct mt_conn *c, uint32_t actions_offered,
		 uint32_t protocol_offered);

/* What the milter chose in mt_negotiate(); 0 before. */
uint32_t mt_version(const struct mt_conn *c);
uint32_t mt_actions(const struct mt_conn *c);
uint32_t mt_protocol(const struct mt_conn *c);

/*
 * The macro list the milter asked for at stage (SMFIM_CONNECT ...
 * SMFIM_EOH), as it came on the wire, or NULL if it named none for that
 * stage. Owned by c, valid until mt_close().
 */
const char *mt_symlist(const struct mt_conn *c, int stage);

/*
 * Queues an SMFIC_MACRO packet for the event cmd (SMFIC_CONNECT, HELO,
 * MAIL, RCPT, DATA, EOH, BODYEOB; others are sent unfiltered). If the
 * milter gave a macro list for that stage, only the listed macros are sent;
 * otherwise all with a value. Sends nothing if none remain. The packet goes
 * out with the next command, like Postfix sends macros even for events the
 * milter skips. Returns the number of macros queued, or -1.
 */
int mt_macros(struct mt_conn *c, int cmd, const struct mt_macro *m, size_t n);

/*
 * The events. Each fills *r (NULL: the result is discarded) with the reply,
 * MT_NOREPLY or MT_SKIPPED, and returns 0; -1 on failure. Strings are sent
 * as given, NUL-terminated.
 *  connect: family is SMFIA_INET '4', INET6 '6', UNIX 'L' (port 0, addr is
 *           the path) or UNKNOWN 'U' (neither port nor addr is sent); port
 *           in host byte order.
 *  mail, rcpt: args[0] is "<address>", then ESMTP arguments; n >= 1.
 *  header: value exactly as on the wire (Postfix strips one leading space
 *          unless the milter negotiated SMFIP_HDR_LEADSPC).
 *  body: CRLF line ends, as the MTA sends it; split into chunks of at most
 *        MILTER_CHUNK_SIZE, each its own event; stops at the first reply
 *        other than continue. len 0 sends nothing (MT_SKIPPED): libmilter
 *        drops a session on an empty body chunk.
 *  eom: SMFIC_BODYEOB; collects modifications until the final reply.
 */
int mt_connect(struct mt_conn *c, const char *hostname, int family,
	       uint16_t port, const char *addr, struct mt_reply *r);
int mt_helo(struct mt_conn *c, const char *name, struct mt_reply *r);
int mt_mail(struct mt_conn *c, const char *const *args, size_t n,
	    struct mt_reply *r);
int mt_rcpt(struct mt_conn *c, const char *const *args, size_t n,
	    struct mt_reply *r);
int mt_data(struct mt_conn *c, struct mt_reply *r);
int mt_header(struct mt_conn *c, const char *name, const char *value,
	      struct mt_reply *r);
int mt_eoh(struct mt_conn *c, struct mt_reply *r);
int mt_body(struct mt_conn *c, const void *buf, size_t len, struct mt_reply *r);
int mt_eom(struct mt_conn *c, struct mt_reply *r);
int mt_unknown(struct mt_conn *c, const char *command, struct mt_reply *r);

/* SMFIC_ABORT: ends the transaction; no reply. Sent at once. */
int mt_abort(struct mt_conn *c);

/*
 * SMFIC_QUIT_NC: ends the SMTP session but keeps the milter connection for
 * the next one, which starts with mt_connect() (no new negotiation).
 * Postfix never sends it (it connects anew per SMTP session). libmilter
 * takes it only where its state table allows: right after an end of
 * message the milter answered with continue. After ACCEPT (at any stage)
 * libmilter is back in its HELO state and silently drops both QUIT_NC and
 * the CONNECT after it: with NR_CONN that goes unnoticed.
 */
int mt_quit_nc(struct mt_conn *c);

/*
 * SMFIC_QUIT, then waits (bounded) until the milter closes its end, so that
 * on return its close callback has run (libmilter runs it before closing,
 * in every state). Data after QUIT, such as a reply to a command that was
 * negotiated as no-reply, is a protocol violation. The caller still calls
 * mt_close().
 */
int mt_quit(struct mt_conn *c);

/* Sends buffered no-reply commands now. */
int mt_flush(struct mt_conn *c);

/*
 * Escape hatches for tests of malformed input: queue any packet (payload up
 * to 16 MiB, no size check against the milter's limit) and send it; read
 * the reply to a command cmd as the event functions do.
 */
int mt_send_raw(struct mt_conn *c, int cmd, const void *data, size_t len);
int mt_read_reply(struct mt_conn *c, int cmd, struct mt_reply *r);

/* The last error, "" if none. Owned by c; valid until the next call. */
const char *mt_error(const struct mt_conn *c);

/* The connection's counters. Owned by c; valid until mt_close(). */
const struct mt_stats *mt_stats(const struct mt_conn *c);

/* A static name for a reply code ("continue", "not sent", ...). */
const char *mt_code_name(int code);

/* The first modification with this cmd (and name, unless NULL), or NULL. */
const struct mt_mod *mt_reply_find(const struct mt_reply *r, int cmd,
				   const char *name);

#endif
