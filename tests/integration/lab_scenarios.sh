#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# lab_scenarios.sh: run `mtasts policy --json` against every scenario of the
# lab world (tests/lab/scenarios.tsv) and compare result, failure type,
# mode and reason, plus the extra checks of `tests/lab/lab.sh expect`.
# Then query all scenario domains in one call (JSON Lines) and check each
# line again ("batch"), which exercises concurrent discovery.
#
#   lab_scenarios.sh [DOMAIN...]   only these scenarios (default: all)
#
# Env: MTASTS_BIN (default $MTASTS_BUILD_DIR/mtasts), LAB_BATCH=0 to skip
# the batch pass, LAB_JOBS=N single lookups at once (default 8). Each call
# gets 20 s (60 s for the batch) before it counts as hung (exit 124). Exit 77 (skip) without root, unshare, nsd, nginx,
# python3 or a built mtasts.
set -euo pipefail

self=$(readlink -f "${BASH_SOURCE[0]}")
src=${MTASTS_SRC_DIR:-$(cd "$(dirname "$self")/../.." && pwd)}
lab=$src/tests/lab

skip() {
	printf 'lab_scenarios: SKIP: %s\n' "$*" >&2
	exit 77
}

if [[ -z ${LAB_RESOLVER:-} ]]; then
	[[ $(id -u) == 0 ]] || skip "needs root (unshare)"
	for t in unshare nsd nginx python3; do
		command -v "$t" >/dev/null || skip "missing $t"
	done
	bin=${MTASTS_BIN:-}
	if [[ -z $bin && -n ${MTASTS_BUILD_DIR:-} ]]; then
		bin=$MTASTS_BUILD_DIR/mtasts
	fi
	[[ -n $bin ]] || skip "set MTASTS_BIN or MTASTS_BUILD_DIR"
	[[ -x $bin ]] || skip "no mtasts binary at $bin"
	MTASTS_BIN=$(readlink -f "$bin")
	export MTASTS_BIN MTASTS_SRC_DIR=$src
	exec "$lab/run-in-lab.sh" "$self" "$@"
fi

# ---- inside the lab --------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/lab_scenarios.XXXXXX")
trap 'rm -rf "$work"' EXIT
stale=0
if ! "$lab/lab.sh" tsv | cmp -s - "$lab/scenarios.tsv"; then
	echo "FAIL scenarios.tsv: stale; run tests/lab/lab.sh tsv > tests/lab/scenarios.tsv"
	stale=1
fi
"$lab/lab.sh" expect >"$work/expect"

domains=()
while IFS=$'\t' read -r d _; do
	[[ $d != domain ]] || continue
	if (($# > 0)); then
		want=0
		for a in "$@"; do [[ $a != "$d" ]] || want=1; done
		((want)) || continue
	fi
	domains+=("$d")
done <"$lab/scenarios.tsv"
((${#domains[@]} > 0)) || { echo "no scenarios selected"; exit 1; }

opts=(--json --resolver "$LAB_RESOLVER" --ca-file "$LAB_CA" --timeout 3)
mkdir -p "$work/one" "$work/batch"
run_one() {
	local d=$1 rc=0
	timeout -k 2 20 "$MTASTS_BIN" policy "${opts[@]}" "$d" \
		>"$work/one/$d.out" 2>"$work/one/$d.err" || rc=$?
	echo "$rc" >"$work/one/$d.rc"
}
# Up to LAB_JOBS lookups at once: most of the time is spent waiting.
jobs_max=${LAB_JOBS:-8}
running=0
for d in "${domains[@]}"; do
	if ((running >= jobs_max)); then
		wait -n || true
		running=$((running - 1))
	fi
	run_one "$d" &
	running=$((running + 1))
done
wait
modes=(one)
if [[ ${LAB_BATCH:-1} != 0 ]] && ((${#domains[@]} > 1)); then
	rc=0
	timeout -k 2 60 "$MTASTS_BIN" policy "${opts[@]}" "${domains[@]}" \
		>"$work/batch/all.out" 2>"$work/batch/all.err" || rc=$?
	echo "$rc" >"$work/batch/all.rc"
	modes+=(batch)
fi

rc=0
python3 - "$lab/scenarios.tsv" "$work" "$stale" "${modes[@]}" -- \
	"${domains[@]}" <<'EOF' || rc=$?
import json, os, re, sys

tsv, work, stale = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
sep = sys.argv.index("--")
modes, domains = sys.argv[4:sep], sys.argv[sep + 1:]
rows = {}
with open(tsv, encoding="utf-8") as f:
    next(f)
    for line in f:
        d, res, fail, mode, regex, desc = line.rstrip("\n").split("\t")
        rows[d] = (res, fail, mode, regex, desc)
extra = {}
with open(os.path.join(work, "expect"), encoding="utf-8") as f:
    for line in f:
        d, path, value = line.rstrip("\n").split("\t")
        try:
            value = json.loads(value)
        except ValueError:
            pass
        extra.setdefault(d, []).append((path, value))

def tail(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return " | ".join(f.read().strip().splitlines()[-3:])[:300]
    except OSError:
        return ""

def get(obj, path):
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            raise KeyError(path)
        obj = obj[key]
    return obj

def check(d, obj):
    res, fail, mode, regex, _ = rows[d]
    bad = []
    keys = ("domain", "result", "failure", "reason", "id", "policy")
    missing = [k for k in keys if k not in obj]
    if missing:
        return ["missing keys " + ",".join(missing)]
    if str(obj["domain"]).lower().rstrip(".") != d:
        bad.append("domain %r" % obj["domain"])
    if obj["result"] != res:
        bad.append("result %s, want %s" % (obj["result"], res))
    want_fail = None if fail == "-" else fail
    if obj["failure"] != want_fail:
        bad.append("failure %s, want %s" % (obj["failure"], want_fail))
    pol = obj["policy"]
    if mode == "-":
        if pol is not None:
            bad.append("policy present, want null")
    elif not isinstance(pol, dict):
        bad.append("policy %r, want mode %s" % (pol, mode))
    else:
        if pol.get("mode") != mode:
            bad.append("mode %s, want %s" % (pol.get("mode"), mode))
        if pol.get("version") != "STSv1":
            bad.append("version %r" % pol.get("version"))
        ma = pol.get("max_age")
        if not isinstance(ma, int) or not 0 <= ma <= 31557600:
            bad.append("max_age %r" % ma)
        if not isinstance(pol.get("mx"), list):
            bad.append("mx %r" % pol.get("mx"))
        if not isinstance(pol.get("extensions"), dict):
            bad.append("extensions %r" % pol.get("extensions"))
    if not isinstance(obj["reason"], str):
        bad.append("reason %r is not a string" % obj["reason"])
    elif regex != "-" and not re.search(regex, obj["reason"], re.I):
        bad.append("reason %r !~ /%s/" % (obj["reason"], regex))
    if res in ("policy", "error") and not (
            isinstance(obj["id"], str) and obj["id"]):
        bad.append("id %r, want the TXT id" % obj["id"])
    for path, value in extra.get(d, []):
        try:
            got = get(obj, path)
        except KeyError:
            bad.append("%s missing, want %r" % (path, value))
            continue
        if got != value:
            bad.append("%s %r, want %r" % (path, got, value))
    return bad

def parse_lines(text):
    objs, junk = [], []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            o = json.loads(line)
        except ValueError:
            junk.append(line[:80])
            continue
        if isinstance(o, dict):
            objs.append(o)
        else:
            junk.append(line[:80])
    return objs, junk

def rc_problem(rc):
    if rc in ("0", "1", "2", "3", "4"):
        return []
    if rc in ("124", "137"):
        return ["hung: killed by timeout (exit %s)" % rc]
    return ["exit status %s" % rc]

passed, failed = 0, int(stale)
def report(label, d, bad):
    global passed, failed
    desc = rows[d][4]
    if bad:
        failed += 1
        print("FAIL %s%s: %s  [%s]" % (label, d, "; ".join(bad), desc))
    else:
        passed += 1
        print("ok   %s%s" % (label, d))

for m in modes:
    label = "" if m == "one" else m + " "
    if m == "one":
        for d in domains:
            base = os.path.join(work, "one", d)
            with open(base + ".out", encoding="utf-8", errors="replace") as f:
                objs, junk = parse_lines(f.read())
            rc = open(base + ".rc").read().strip()
            bad = rc_problem(rc)
            if len(objs) != 1 or junk:
                bad.append("%d JSON objects, %d other lines; stderr: %s"
                           % (len(objs), len(junk), tail(base + ".err")))
            else:
                bad += check(d, objs[0])
            report(label, d, bad)
    else:
        base = os.path.join(work, "batch", "all")
        with open(base + ".out", encoding="utf-8", errors="replace") as f:
            objs, junk = parse_lines(f.read())
        rc = open(base + ".rc").read().strip()
        by = {}
        for o in objs:
            by.setdefault(str(o.get("domain", "")).lower().rstrip("."),
                          []).append(o)
        bad = rc_problem(rc)
        if junk:
            bad.append("%d non-JSON lines" % len(junk))
        if bad:
            failed += 1
            print("FAIL batch: %s; stderr: %s"
                  % ("; ".join(bad), tail(base + ".err")))
        for d in domains:
            got = by.get(d, [])
            if len(got) != 1:
                report(label, d, ["%d lines for this domain" % len(got)])
            else:
                report(label, d, check(d, got[0]))

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
EOF
exit "$rc"
