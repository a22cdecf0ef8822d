#!/bin/sh
# check-prometheus.sh - contrib/prometheus/ as Prometheus reads it: the
# alerting rules load (promtool check rules) and do what their unit tests
# say (promtool test rules: stale metrics, audit write errors, a failed
# reload, a jump in the reject rate, partners failing), and the Grafana
# dashboard is valid JSON whose every query names a metric (the metrics
# the daemon really writes are checked by tests/milter/test_metrics).
#
# promtool comes with Debian's prometheus package, which
# contrib/quickstart.sh installs. Without it this exits 77 (skipped),
# except under CI (CI set), where its absence is a failure.
set -u
src=${top_srcdir:-.}
dir=$src/contrib/prometheus
fail=0

if ! python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
assert d["panels"] and all(t["expr"] for p in d["panels"] for t in p["targets"])' \
	"$dir/tlspolicy-dashboard.json"; then
	echo "check-prometheus: $dir/tlspolicy-dashboard.json is not a dashboard"
	fail=1
fi
if ! command -v promtool >/dev/null 2>&1; then
	if [ -n "${CI:-}" ]; then
		echo "check-prometheus: promtool missing under CI (apt-get install prometheus)"
		exit 1
	fi
	echo "check-prometheus: promtool not installed: rules not checked"
	[ $fail -eq 0 ] && exit 77
	exit 1
fi
# promtool resolves rule_files against the test file's directory
promtool check rules "$dir/tlspolicy-rules.yml" || fail=1
(cd "$dir" && promtool test rules tlspolicy-rules.test.yml) || fail=1
[ $fail -eq 0 ] && echo "check-prometheus: ok"
exit $fail
