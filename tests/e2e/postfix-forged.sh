#!/bin/bash
# postfix-forged.sh - forged-e2e.sh on Postfix (tests/run-stages.sh runs each test by name).
exec bash "$(dirname "$0")/forged-e2e.sh" postfix
