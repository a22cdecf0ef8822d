/*
 * mtacheck.h - checks of the MTA's side of the settings, for -n --mta.
 */
#ifndef TLSPM_MTACHECK_H
#define TLSPM_MTACHECK_H

#include "tlspolicy/policy.h"

/*
 * For strip_forged_headers: mta, whether the MTA removes incoming copies
 * of the tag header: on Postfix, asks postconf and postmap (in PATH);
 * Sendmail cannot. Prints what it finds (errors and warnings on stderr,
 * prefixed with path); returns the number of errors.
 */
int tlspm_mtacheck_strip(const char *path, const struct tlsp_settings *st,
			 enum tlsp_mta mta);

#endif
