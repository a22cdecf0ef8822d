#!/usr/bin/env python3
"""check-dashboard.py METRICS DASHBOARD [RULES...]

Debian 12 has no Grafana to load the dashboard into, so this checks what
can be checked without it: the dashboard is valid JSON with panels whose
targets hold PromQL, and every tlspolicy_* metric that it (and each rules
file) queries is one the daemon's real output (METRICS, a textfile
written by tlspolicy-milter) holds. Exits 1 naming each missing metric.
"""
import json
import re
import sys

# A histogram's series are written as NAME_bucket, NAME_sum, NAME_count.
NAME = re.compile(r"\btlspolicy_[a-z_]+")


def exported(path):
    names = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


def dashboard_exprs(path):
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    if not isinstance(d.get("panels"), list) or not d["panels"]:
        raise SystemExit(f"{path}: no panels")
    exprs = []
    for p in d["panels"]:
        targets = p.get("targets") or []
        if not targets:
            raise SystemExit(f"{path}: panel {p.get('title')!r} has no query")
        for t in targets:
            if not t.get("expr"):
                raise SystemExit(f"{path}: panel {p.get('title')!r}: empty expr")
            exprs.append((p.get("title"), t["expr"]))
    for v in d.get("templating", {}).get("list", []):
        if isinstance(v.get("query"), str) and "tlspolicy_" in v["query"]:
            exprs.append(("variable " + v["name"], v["query"]))
    return exprs


def rules_exprs(path):
    # no YAML parser in the standard library: the expr: blocks by indent
    exprs, cur, indent = [], None, 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"(\s*)(?:- )?(alert|expr): ?(.*)", line)
            if m and m.group(2) == "alert":
                name = m.group(3).strip()
            if m and m.group(2) == "expr":
                cur, indent = [m.group(3)], len(m.group(1))
                exprs.append((name, cur))
            elif cur is not None and (not line.strip() or
                                      len(line) - len(line.lstrip()) > indent):
                cur.append(line.strip())
            else:
                cur = None
    return [(n, " ".join(e)) for n, e in exprs]


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    have = exported(sys.argv[1])
    queries = dashboard_exprs(sys.argv[2])
    for rules in sys.argv[3:]:
        queries += rules_exprs(rules)
    missing, used = [], set()
    for where, expr in queries:
        for name in NAME.findall(expr):
            used.add(name)
            if name not in have:
                missing.append(f"{where}: {name}")
    for m in missing:
        print(f"check-dashboard: not in {sys.argv[1]}: {m}")
    print(f"check-dashboard: {len(queries)} queries, {len(used)} metrics, "
          f"{len(missing)} missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
