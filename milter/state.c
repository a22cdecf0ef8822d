/*
 * state.c - the daemon's process-wide state (state.h).
 */
#include "state.h"

struct tlspm_state tlspm;
