/*
 * callbacks.h - the milter protocol's callback table, for smfi_register.
 */
#ifndef TLSPM_CALLBACKS_H
#define TLSPM_CALLBACKS_H

#include <libmilter/mfapi.h>

extern struct smfiDesc tlspm_callbacks;

#endif
