#!/usr/bin/env bash
# bench-strip.sh - what removing forged tag headers costs: the "strip"
# section of the load benchmark (tests/bench/run.sh), kept under its old
# name. strip_forged_headers makes the MTA pass every header of every
# message (header callbacks, and no early accept at DATA); the section
# runs tlspolicy-milter with it on (auto: the policy tags) and off
# (never), and the lean null milter negotiating headers as the floor, in
# alternating rounds, each started the same way (setsid, fresh).
#
#   tests/milter/bench-strip.sh [ROUNDS] [SECS]
dir=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_ONLY=strip BENCH_ROUNDS=${1:-${BENCH_ROUNDS:-7}} BENCH_SECS=${2:-${BENCH_SECS:-10}} \
	top_srcdir=${top_srcdir:-$dir} exec "$dir/tests/bench/run.sh"
