# Sourced by the docket run tests (tests/t04NN-*.sh) after tests/lib.sh.
RUNWF="$SRC/tests/workflows/run"
COMMERCE="$SRC/workflows/commerce"
export DOCKET_LEDGER="$TRASH/L"
export RUN_DIR="$TRASH"
export DOCKET_SHOP_DB="$TRASH/shop.db"

# A ledger at $DOCKET_LEDGER and the demo shop at $TRASH/shop.db.
run_setup() {
	make_ledger "$DOCKET_LEDGER" &&
	sqlite3 "$TRASH/shop.db" <"$COMMERCE/shop.sql"
}

# jtest FILE EXPR: the Python expression EXPR holds for v = the JSON in
# FILE (and for helpers: recs(run, type), the records of a run).
jtest() {
	python3 - "$@" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
ok = eval(sys.argv[2])
if not ok:
    sys.stderr.write("jtest failed: %s\n  on %s\n" % (sys.argv[2], json.dumps(v)[:3000]))
    sys.exit(1)
PY
}

# The records of run $1 (oldest first) as a JSON array in file $2,
# optionally only those of type $3.
run_recs() {
	docket log --json >"$TRASH/.all.json" &&
	python3 - "$1" "${3:-}" "$TRASH/.all.json" >"$2" <<'PY'
import json, sys
run, typ, f = sys.argv[1], sys.argv[2], sys.argv[3]
recs = [r for r in reversed(json.load(open(f)))
        if r["body"].get("run") == run and (not typ or r["type"] == typ)]
json.dump(recs, sys.stdout)
PY
}

# The ledger verifies, as docket and as git sees it.
ledger_ok() {
	docket verify >/dev/null &&
	git -C "$DOCKET_LEDGER" fsck --strict >"$TRASH/.fsck" 2>&1 &&
	! grep -qiE "error|warning|broken|missing" "$TRASH/.fsck"
}

# run_json OUT CODE ARGS...: docket run --json ARGS exits CODE, the
# result in OUT; prints the run id.
run_json() {
	_o=$1 _c=$2
	shift 2
	test_expect_code "$_c" docket run --json "$@" >"$_o" || return 1
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$_o"
}

# state_json RUN OUT: the run's private state file (JSON lines: a whole
# state, then patches; docs/run.md) merged into one object in OUT.
state_json() {
	python3 - "$DOCKET_LEDGER/docket/runs/$1.json" >"$2" <<'PY'
import json, sys
acc = None
data = open(sys.argv[1]).read()
lines = data.split("\n")[:-1] if "\n" in data else [data]
for line in lines:
    v = json.loads(line)
    if acc is None or "salt" in v:
        acc = v
        continue
    for k, x in v.items():
        if k in ("steps", "pending", "budget_levels") and isinstance(acc.get(k), dict):
            acc[k].update(x)
        else:
            acc[k] = x
json.dump(acc, sys.stdout)
PY
}
