#!/bin/sh
# html-fixture.sh - the record bodies of the HTML report's tests
# (tests/check-audit-html.sh, tests/browser/check-html-report.py), for
# tests/audit/mklog to chain: five days (the fourth without a decision),
# a start, a reload and a failed reload, an enforced and a monitor rule,
# and hostile values in every place the report shows one. Usage:
#	html-fixture.sh [HOST] | mklog [-k KEY] > log
host=${1:-mx1.test}
T13='"tls":{"version":"TLSv1.3","cipher":"TLS_AES_256_GCM_SHA384","bits":256,"forward_secrecy":true,"cert":"verified","subject":"<script>alert(1)</script>","issuer":"\"><img src=x onerror=alert(2)>","verify":"OK","fingerprint":"ab01","observed":[]}'
T12='"tls":{"version":"TLSv1.2","cipher":"ECDHE-RSA-AES128-GCM-SHA256","bits":128,"forward_secrecy":true,"cert":"not verified","subject":"CN=mx.partner.example","issuer":"CN=Self","verify":"FAIL","fingerprint":null,"observed":[]}'
T0='"tls":{"version":null,"cipher":null,"bits":null,"forward_secrecy":null,"cert":"none","subject":null,"issuer":null,"verify":null,"fingerprint":null,"observed":[]}'
PASS='{"action":"accept","would_action":"accept","decided_by":null,"flags":[],"rules":[{"rule":"bank","exempt":false,"status":"pass","action":"accept","mode":"enforce","failures":[]}]}'
FAIL='{"action":"reject","would_action":"reject","decided_by":"bank","flags":[],"rules":[{"rule":"bank","exempt":false,"status":"fail","action":"reject","mode":"enforce","failures":[{"requirement":"min_version","status":"fail","required":"TLSv1.3","observed":"TLSv1.2"}]}]}'
MON='{"action":"accept","would_action":"defer","decided_by":null,"flags":[],"rules":[{"rule":"\"><img src=x onerror=alert(4)>","exempt":false,"status":"fail","action":"defer","mode":"monitor","failures":[{"requirement":"tls","status":"fail","required":"yes","observed":"no"}]}]}'
A='"client":{"addr":"192.0.2.1","name":"<script>alert(3)</script>"},"helo":"mx.bank.example","sender":"<a@bank.example>","mta":"postfix"'
B='"client":{"addr":"192.0.2.2","name":"mx.partner.example"},"helo":"mx2","sender":"<b@\"><img src=x onerror=alert(6)>>","mta":"postfix"'
C='"client":{"addr":"198.51.100.7","name":null},"helo":"x","sender":"<>","mta":"postfix"'
n=0
msg() { # DAY HOUR WHO TLS RCPTDOMAIN VERDICT ACTION
	n=$((n + 1))
	printf '{"time":"2026-11-%sT%s:00:00.000Z","host":"%s","type":"message","salt":"00112233445566778899aabbccdd%04x","queue_id":"Q%d",%s,%s,"recipients":[{"addr":"<x@%s>","verdict":%s,"reply":null}],"action":"%s","mode":"enforce","would_action":"%s"}\n' \
		"$1" "$2" "$host" "$n" "$n" "$3" "$4" "$5" "$6" "$7" "$7"
}
printf '{"time":"2026-11-01T00:00:00.000Z","host":"%s","type":"start","format":2,"detail":"tlspolicy 0.1","policy":"aaaa000000000000000000000000000000000000000000000000000000000001"}\n' "$host"
msg 01 09 "$A" "$T13" corp.example "$PASS" accept
msg 01 10 "$A" "$T13" corp.example "$PASS" accept
msg 01 11 "$B" "$T12" corp.example "$FAIL" reject
msg 02 09 "$A" "$T13" corp.example "$PASS" accept
msg 02 10 "$C" "$T0" '<script>alert(1)</script>.example' "$MON" accept
msg 02 11 "$B" "$T12" other.example "$FAIL" reject
printf '{"time":"2026-11-03T08:00:00.000Z","host":"%s","type":"reload","format":2,"detail":"SIGHUP","policy":"bbbb000000000000000000000000000000000000000000000000000000000002"}\n' "$host"
msg 03 09 "$A" "$T13" corp.example "$PASS" accept
msg 03 10 "$C" "$T0" other.example "$MON" accept
printf '{"time":"2026-11-04T08:00:00.000Z","host":"%s","type":"reload_failed","detail":"<script>alert(5)</script>"}\n' "$host"
msg 05 09 "$A" "$T13" corp.example "$PASS" accept
msg 05 10 "$B" "$T12" corp.example "$FAIL" reject
