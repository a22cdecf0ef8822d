/*
 * frame.h - the milter packet framing guard: a malformed macro packet
 * ends its own connection before libmilter parses it.
 */
#ifndef TLSPM_FRAME_H
#define TLSPM_FRAME_H

/*
 * Starts following the packets of a connection accept() hands to
 * libmilter (called from accept.c, on the listener's thread, before
 * libmilter sees the descriptor). 0, or -1 when the descriptor cannot be
 * followed (out of memory, or beyond the guard's table): the caller then
 * closes it unserved. The descriptor is forgotten when it is closed.
 */
int tlspm_frame_track(int fd);

/* Connections ended for a malformed packet so far. */
unsigned long tlspm_frame_refused(void);

#endif
