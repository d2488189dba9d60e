#!/usr/bin/env bash
# The README's five-minute tour, run end to end with assertions on exit codes and output, in a
# throw-away SEALKIT_HOME. Closes with "tour: N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_swift
ensure_build_deps
cd "$(repo_root)"
swift build --product sealctl >/dev/null
swift build --product sealsim >/dev/null
bin=$(swift build --show-bin-path)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SEALKIT_HOME="$work/home"
root=Fixtures/test-vendor-ca/ca-cert.pem
passed=0; failed=0
check() {  # check NAME EXPECTED_EXIT COMMAND...
    local name=$1 expected=$2; shift 2
    local status=0
    "$@" >"$work/out" 2>"$work/err" || status=$?
    if [ "$status" -eq "$expected" ]; then
        passed=$((passed + 1)); echo "[PASS] $name"
    else
        failed=$((failed + 1)); echo "[FAIL] $name: exit $status, expected $expected"; sed 's/^/    /' "$work/out" "$work/err" | head -20
    fi
}
contains() {  # contains NAME FILE PATTERN
    if grep -qE "$3" "$2"; then passed=$((passed + 1)); echo "[PASS] $1"; else failed=$((failed + 1)); echo "[FAIL] $1: /$3/ not in output"; sed 's/^/    /' "$2" | head -20; fi
}

check "info on the default token (made on first use)" 0 "$bin/sealctl" info
contains "info shows an ACTIVE token" "$work/out" "ACTIVE"
check "info --json" 0 "$bin/sealctl" info --json
contains "info --json has the chip ID" "$work/out" '"chipID"'

printf 'Contract no. 42\n' > "$work/contract.txt"
check "stamp" 0 "$bin/sealctl" stamp --document "$work/contract.txt" --pin 123456 --operator alice \
    --org-unit Legal --approval-node CFO --latitude 31.2304 --longitude 121.4737 --out "$work/record.json"
check "verify the record" 0 "$bin/sealctl" verify "$work/record.json" --document "$work/contract.txt" --vendor-root "$root"
check "verify --json" 0 "$bin/sealctl" verify "$work/record.json" --document "$work/contract.txt" --vendor-root "$root" --json
contains "verify --json says valid" "$work/out" '"valid" *: *true'

# One byte of the document changed.
cp "$work/contract.txt" "$work/tampered.txt"
printf '3' | dd of="$work/tampered.txt" bs=1 seek=14 conv=notrunc 2>/dev/null
check "verify fails after one document byte changes" 1 "$bin/sealctl" verify "$work/record.json" --document "$work/tampered.txt" --vendor-root "$root"

# One byte of the record changed: a hex digit of the signature.
python3 - "$work/record.json" "$work/record-tampered.json" <<'PY'
import json, sys
record = json.load(open(sys.argv[1]))
sig = record["signature"]
record["signature"] = sig[:20] + ("0" if sig[20] != "0" else "1") + sig[21:]
json.dump(record, open(sys.argv[2], "w"), indent=2, sort_keys=True)
PY
check "verify fails after one record byte changes" 1 "$bin/sealctl" verify "$work/record-tampered.json" --document "$work/contract.txt" --vendor-root "$root"

check "wrong PIN is one clear line and a non-zero exit" 1 "$bin/sealctl" stamp --document "$work/contract.txt" --pin 999999 --out "$work/x.json"
if [ "$(wc -l < "$work/err")" -eq 1 ]; then passed=$((passed + 1)); echo "[PASS] wrong PIN error is one line"; else failed=$((failed + 1)); echo "[FAIL] wrong PIN error is not one line"; cat "$work/err"; fi
check "a correct PIN restores the tries" 0 "$bin/sealctl" stamp --document "$work/contract.txt" --pin 123456 --out "$work/record2.json"
check "missing document is a clean error" 1 "$bin/sealctl" stamp --document "$work/nope.txt" --pin 123456 --out "$work/x.json"
check "audit log" 0 "$bin/sealctl" audit
check "trace prints APDUs" 0 "$bin/sealctl" info --trace
contains "trace decodes SELECT (on stderr)" "$work/err" "SELECT"

check "sealsim manufacture" 0 "$bin/sealsim" manufacture --state "$work/own.nvm"
printf 'imprint' > "$work/imprint.bin"
check "sealsim personalize" 0 "$bin/sealsim" personalize --state "$work/own.nvm" --organization "ACME Ltd." \
    --seal-name "Contract Seal" --feature-image "$work/imprint.bin" --pin 246810 --puk 13572468 --activate
check "info on the own token" 0 "$bin/sealctl" info --token-state "$work/own.nvm"

check "conformance with JUnit, JSON and Markdown" 0 "$bin/sealctl" conformance --simulator \
    --junit "$work/out.xml" --json "$work/out.json" --markdown "$work/out.md"
contains "conformance closing line" "$work/out" '^[0-9]+ passed, 0 failed, [0-9]+ skipped$'
tests=$(grep -o '<testcase ' "$work/out.xml" | wc -l)
if [ "$tests" -ge 60 ]; then passed=$((passed + 1)); echo "[PASS] JUnit has $tests test cases"; else failed=$((failed + 1)); echo "[FAIL] JUnit has only $tests test cases"; fi

echo "tour: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
