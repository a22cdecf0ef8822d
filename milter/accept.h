/*
 * accept.h - accepting connections at the descriptor limit.
 */
#ifndef TLSPM_ACCEPT_H
#define TLSPM_ACCEPT_H

/* Keeps one descriptor in reserve, so that libmilter does not spin at
 * the descriptor limit; connections shed there so far. */
void tlspm_accept_reserve(void);
unsigned long tlspm_accept_shed(void);

#endif
