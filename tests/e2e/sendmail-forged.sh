#!/bin/bash
# sendmail-forged.sh - forged-e2e.sh on Sendmail (tests/run-stages.sh runs each test by name).
exec bash "$(dirname "$0")/forged-e2e.sh" sendmail
