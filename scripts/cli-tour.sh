#!/usr/bin/env bash
# The README's five-minute tour, run end to end with assertions on exit codes and output, in a
# throw-away SEALKIT_HOME; then every `sh` block of README.md (but the first, which is this suite, and
# the PC/SC one, run below with waits) and of docs/sealctl.md exactly as written; then the
# administrator's commands, the PIN prompt in a pseudo-terminal, completion and man pages.
# Closes with "tour: N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_swift
ensure_build_deps
command -v openssl >/dev/null 2>&1 || apt_ensure openssl   # checks the exports as an independent implementation
cd "$(repo_root)"
swift build --product sealctl >/dev/null
swift build --product sealsim >/dev/null
swift build --product sealbench >/dev/null
bin=$(swift build --show-bin-path)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
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
reader_is_empty() { ! reader_has_card "$1"; }
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
check "sealsim personalize with the imprint of Fixtures/" 0 "$bin/sealsim" personalize --state "$work/own.nvm" --organization "ACME Ltd." \
    --seal-name "Contract Seal" --feature-image Fixtures/seal-imprint.png --pin 246810 --puk 13572468 --activate
check "info on the own token" 0 "$bin/sealctl" info --token-state "$work/own.nvm"

check "conformance with JUnit, JSON and Markdown" 0 "$bin/sealctl" conformance --simulator \
    --junit "$work/out.xml" --json "$work/out.json" --markdown "$work/out.md"
contains "conformance closing line" "$work/out" '^[0-9]+ passed, 0 failed, [0-9]+ skipped$'
tests=$(grep -o '<testcase ' "$work/out.xml" | wc -l)
if [ "$tests" -ge 60 ]; then passed=$((passed + 1)); echo "[PASS] JUnit has $tests test cases"; else failed=$((failed + 1)); echo "[FAIL] JUnit has only $tests test cases"; fi

# ---- The administrator's commands ----
admin_doc="$work/admin.txt"
printf 'Admin tour\n' > "$admin_doc"
check "--version: sealctl" 0 "$bin/sealctl" --version
version=$(cat "$work/out")
check "--version: sealsim" 0 "$bin/sealsim" --version
contains "sealsim says the same version" "$work/out" "^${version//./\\.}$"
check "--version: sealbench" 0 "$bin/sealbench" --version
contains "sealbench says the same version" "$work/out" "^${version//./\\.}$"
contains "the version is Protocol/SealKitVersion.swift's" Protocol/SealKitVersion.swift "current = \"${version//./\\.}\""
check "pin status" 0 "$bin/sealctl" pin status --json
contains "pin status: tries are JSON numbers" "$work/out" '"pinTriesRemaining" : 3,'
check "stamp --json" 0 "$bin/sealctl" stamp --document "$admin_doc" --pin 123456 --out "$work/admin.json" --json
contains "stamp --json: counter is a JSON number" "$work/out" '"counter" : [0-9]+,'
check "--latitude without --longitude is a usage error (64)" 64 "$bin/sealctl" stamp --document "$admin_doc" --pin 123456 \
    --latitude 31.2 --out "$work/x.json"
check "no PIN and no terminal is a usage error (64)" 64 "$bin/sealctl" stamp --document "$admin_doc" --out "$work/x.json"
check "PIN from SEALKIT_PIN" 0 env SEALKIT_PIN=123456 "$bin/sealctl" stamp --document "$admin_doc" --out "$work/env.json"
check "PIN from --pin-stdin" 0 bash -c 'printf "123456\n" | "$1" stamp --pin-stdin --document "$2" --out "$3"' _ \
    "$bin/sealctl" "$admin_doc" "$work/stdin.json"
check "pin change from standard input" 0 bash -c 'printf "123456\n246800\n" | "$1" pin change --pin-stdin' _ "$bin/sealctl"
check "pin change back from the environment" 0 env SEALKIT_PIN=246800 SEALKIT_NEW_PIN=123456 "$bin/sealctl" pin change
check "terminate without a terminal and without --yes is refused (64)" 64 "$bin/sealctl" lifecycle terminate \
    --issuer-key Fixtures/test-issuer/issuer-key.pem
check "the token is still ACTIVE" 0 "$bin/sealctl" info
contains "info: ACTIVE after the refused terminate" "$work/out" "lifecycle: +ACTIVE"
check "export certificate" 0 "$bin/sealctl" export certificate --out "$work/device.pem"
check "openssl verifies the exported certificate against the vendor root" 0 openssl verify -CAfile "$root" "$work/device.pem"
check "export public-key" 0 "$bin/sealctl" export public-key --out "$work/seal-key.pem"
check "openssl reads the exported public key" 0 openssl pkey -pubin -in "$work/seal-key.pem" -noout -text
contains "it is a P-256 key" "$work/out" "prime256v1|P-256"
check "attest --out" 0 "$bin/sealctl" attest --nonce CAFE --out "$work/attestation.json"
check "attest verify offline" 0 "$bin/sealctl" attest verify "$work/attestation.json" --nonce CAFE --vendor-root "$root"
check "attest verify with another nonce fails" 1 "$bin/sealctl" attest verify "$work/attestation.json" --nonce BEEF --vendor-root "$root"

# The PIN typed at the prompt is not echoed (a pseudo-terminal, as a person at a terminal has).
check "the PIN prompt does not echo" 0 python3 - "$bin/sealctl" "$admin_doc" "$work/pty.json" <<'PY'
import os, pty, select, sys, time
sealctl, document, out = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(sealctl, [sealctl, "stamp", "--document", document, "--out", out])
seen = b""
def read_until(text, seconds=60):
    global seen
    deadline = time.time() + seconds
    while text not in seen and time.time() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                seen += os.read(fd, 1024)
            except OSError:
                break
    return text in seen
assert read_until(b"PIN: "), seen
os.write(fd, b"123456\r")
read_until(b"record written")
status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print(seen.decode(errors="replace"))
assert status == 0, status
assert b"123456" not in seen, "the PIN was echoed"
PY

# Shell completion and man pages.
for shell in bash zsh fish; do
    check "completion script for $shell" 0 "$bin/sealctl" --generate-completion-script "$shell"
    contains "$shell completion knows lifecycle and attest" "$work/out" "attest"
done
check "man pages from argument-parser's generate-manual plugin" 0 swift package generate-manual --configuration debug
contains "the sealctl man page documents pin unblock" .build/plugins/GenerateManual/outputs/sealctl/sealctl.1 "unblock"

# ---- README.md and docs/sealctl.md, run as written ----
# run_sh_blocks NAME FILE [N...]: runs the Nth `sh` blocks of FILE (all without N) as written, in one bash, in a fresh
# directory (Fixtures/ linked in) and SEALKIT_HOME; each command must end with the status of its
# "# exit N" comment, 0 without one. `swift` is the real one, pointed at this checkout.
run_sh_blocks() {
    local name=$1 file=$2; shift 2
    local dir="$work/$name"
    mkdir -p "$dir"
    ln -s "$PWD/Fixtures" "$dir/Fixtures"
    python3 - "$file" "$name" "$@" > "$work/$name.sh" <<'PY'
import re, subprocess, sys
path, name, wanted = sys.argv[1], sys.argv[2], [int(n) for n in sys.argv[3:]]  # none: every block
blocks, current = [], None
for line in open(path, encoding="utf-8").read().split("\n"):
    if current is None and line.strip() == "```sh":
        current = []
    elif current is not None and line.strip() == "```":
        blocks.append(current)
        current = None
    elif current is not None:
        current.append(line)
commands, pending = [], []
def complete(lines):
    text = "\n".join(lines)
    return not text.rstrip().endswith("\\") and subprocess.run(
        ["bash", "-n"], input=text, capture_output=True, text=True).returncode == 0
for number in wanted or range(1, len(blocks) + 1):
    for line in blocks[number - 1]:
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending.append(line)
        if complete(pending):
            commands.append(pending)
            pending = []
assert not pending, f"{path}: incomplete command {pending}"
print('swift() { command swift "$@" --package-path "$REPO"; }')
print('passed=0; failed=0; log=$(mktemp)')
for lines in commands:
    text = "\n".join(lines)
    match = re.search(r"#\s*exit (\d+)", text)
    expected = int(match.group(1)) if match else 0
    label = (f"{name}: " + lines[0].strip())[:110].replace("'", "'\\''")
    print("{\n" + text + "\n} >\"$log\" 2>&1 </dev/null")
    print(f"status=$?; if [ $status -eq {expected} ]; then echo '[PASS] {label}'; "
          f"else echo '[FAIL] {label}: exit '$status', expected {expected}'; sed 's/^/    /' \"$log\" | tail -20; fi")
PY
    (cd "$dir" && REPO="$OLDPWD" SEALKIT_HOME="$dir/home" bash "$work/$name.sh") > "$work/$name.log" 2>&1 || true
    cat "$work/$name.log"
    passed=$((passed + $(grep -c '^\[PASS\]' "$work/$name.log" || true)))
    failed=$((failed + $(grep -c '^\[FAIL\]' "$work/$name.log" || true)))
}
unset SEALKIT_PIN
run_sh_blocks readme README.md 2 3 4 6   # 5 needs the PC/SC readers: it runs below
contains "README: the report the imprint's QR code opens is VALID" "$work/readme/deed-report.html" 'id="verdict">VALID'
contains "README: the watcher printed the tampered copy's alert" "$work/readme/alerts.txt" '^#1 .* verification-failed .*failedCheck=document-digest'
run_sh_blocks docs docs/sealctl.md

# ---- PC/SC: the simulated token behind pcscd + vpcd (scripts/pcscd.sh start ran before) ----
SEALCTL="$bin/sealctl"
if scripts/pcscd.sh status >/dev/null 2>&1; then
    vpcd_state="$work/vpcd"
    "$bin/sealsim" serve --vpcd 127.0.0.1:35963 --slots 1 --state "$vpcd_state" >"$work/sealsim-vpcd.log" 2>&1 &
    vpcd_sim=$!
    check "sealsim serve --vpcd puts a token in Virtual PCD 00 00" 0 wait_for reader_has_card "Virtual PCD 00 00"
    check "opensc-tool -a" 0 opensc-tool -r "Virtual PCD 00 00" -a
    contains "opensc-tool prints the seal ATR" "$work/out" "3b:8a:81:01:80:73:80:00:c0:54:53:45:41:4c:f6"
    check "opensc-tool -s SELECT by the seal AID" 0 opensc-tool -r "Virtual PCD 00 00" -s "00 A4 04 00 09 F0 53 45 41 4C 4B 49 54 01"
    contains "SELECT answers 90 00" "$work/out" "SW1=0x90, SW2=0x00"
    check "sealctl readers lists the card" 0 "$bin/sealctl" readers
    contains "readers shows the ATR" "$work/out" "Virtual PCD 00 00 +\[card present, ATR 3B8A810180738000C0545345414CF6"
    check "stamp through PC/SC" 0 "$bin/sealctl" stamp --reader "PCD 00 00" --vendor-root "$root" --document "$work/contract.txt" --pin 123456 --out "$work/pcsc-record.json"
    check "verify the PC/SC record" 0 "$bin/sealctl" verify "$work/pcsc-record.json" --document "$work/contract.txt" --vendor-root "$root"
    check "conformance through PC/SC" 0 "$bin/sealctl" conformance --reader "Virtual PCD 00 00" --vendor-root "$root" \
        --issuer-key Fixtures/test-issuer/issuer-key.pem --junit "$work/pcsc.xml"
    contains "PC/SC conformance: no failure" "$work/out" '^[0-9]+ passed, 0 failed, [0-9]+ skipped$'
    # The whole suite through pcscd: fresh tokens, tearing and remote authorization come from the
    # control socket of a simulator on two tray readers (scripts/pcscd.sh), so nothing is skipped.
    full_state="$work/vpcd-full"
    "$bin/sealsim" serve --vpcd 127.0.0.1:35965 --slots 2 --state "$full_state" >"$work/sealsim-full.log" 2>&1 &
    full_sim=$!
    check "a token in Virtual PCD 35965 00 00" 0 wait_for reader_has_card "Virtual PCD 35965 00 00"
    check "a token in Virtual PCD 35965 00 01" 0 wait_for reader_has_card "Virtual PCD 35965 00 01"
    check "the whole suite through pcscd (--simulator-control)" 0 "$bin/sealctl" conformance --reader "Virtual PCD 35965 00 00" --vendor-root "$root" \
        --simulator-control "$full_state" --fresh-slot 1 --fresh-reader "Virtual PCD 35965 00 01" --junit "$work/pcsc-full.xml"
    contains "PC/SC: every case ran, none failed" "$work/out" '^[0-9]+ passed, 0 failed, 0 skipped$'
    kill "$full_sim"; wait "$full_sim" 2>/dev/null || true
    check "sealctl sim remove" 0 "$bin/sealctl" sim remove --slot 0 --state "$vpcd_state"
    check "the reader empties" 0 wait_for reader_is_empty "Virtual PCD 00 00"
    check "info on an empty reader is a clean error, status 75 (retry)" 75 "$bin/sealctl" info --reader "Virtual PCD 00 00" --vendor-root "$root"
    contains "the error says the card is gone" "$work/err" "(removed|no token|no card)"
    check "sealctl sim insert" 0 "$bin/sealctl" sim insert --slot 0 --state "$vpcd_state"
    check "the token comes back" 0 wait_for reader_has_card "Virtual PCD 00 00"
    check "info after re-insert" 0 "$bin/sealctl" info --reader "Virtual PCD 00 00" --vendor-root "$root" --json
    counter_before=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counter"])' "$work/out")
    # Power loss at the next NVM write — the try-counter journal entry of the VERIFY that `stamp`
    # sends first: the chip goes mute, the reader sees the card leave and come back, and no state
    # changed (SPEC §11), so the counter is as before.
    check "sealctl sim tear" 0 "$bin/sealctl" sim tear --slot 0 --at 1 --state "$vpcd_state"
    check "a torn STAMP is a clean error, status 75 (retry)" 75 "$bin/sealctl" stamp --reader "PCD 00 00" --vendor-root "$root" --document "$work/contract.txt" --pin 123456 --out "$work/torn.json"
    check "the token comes back after the tear" 0 wait_for reader_has_card "Virtual PCD 00 00"
    check "info after the tear" 0 wait_for "$bin/sealctl" info --reader "Virtual PCD 00 00" --vendor-root "$root" --json
    "$bin/sealctl" info --reader "Virtual PCD 00 00" --vendor-root "$root" --json >"$work/after-tear.json" 2>/dev/null || true
    counter_after=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counter"])' "$work/after-tear.json" 2>/dev/null || echo "?")
    if [ "$counter_before" = "$counter_after" ]; then
        passed=$((passed + 1)); echo "[PASS] the torn STAMP left the counter at $counter_after"
    else
        failed=$((failed + 1)); echo "[FAIL] counter $counter_before before the torn STAMP, $counter_after after"
    fi
    kill "$vpcd_sim"; wait "$vpcd_sim" 2>/dev/null || true
else
    failed=$((failed + 1)); echo "[FAIL] pcscd is not running (run scripts/pcscd.sh start)"
fi

# ---- USB: the simulated token as a USB CCID device over USB/IP ----
usb_port=${SEALKIT_USBIP_PORT:-3240}
"$bin/sealsim" serve --usbip "127.0.0.1:$usb_port" --slots 2 --state "$work/usbip" >"$work/sealsim-usbip.log" 2>&1 &
usb_sim=$!
check "the USB/IP server answers" 0 wait_for usbip --tcp-port "$usb_port" list -r 127.0.0.1
check "usbip list -r shows the token" 0 usbip --tcp-port "$usb_port" list -r 127.0.0.1
contains "usbip list shows a CCID interface" "$work/out" "Smart ?Card.*\(0b/00/00\)"
check "info over USB/IP" 0 "$bin/sealctl" info --usbip "127.0.0.1:$usb_port" --vendor-root "$root"
check "conformance over USB/IP" 0 "$bin/sealctl" conformance --usbip "127.0.0.1:$usb_port" --vendor-root "$root" \
    --issuer-key Fixtures/test-issuer/issuer-key.pem
contains "USB/IP conformance: no failure" "$work/out" '^[0-9]+ passed, 0 failed, [0-9]+ skipped$'
# The whole suite over USB/IP: the server's control socket swaps fresh tokens into device 1-2
# (which stays attached), tears and power-cycles them, so nothing is skipped.
check "sealctl sim status --usbip" 0 "$bin/sealctl" sim status --usbip --state "$work/usbip"
contains "the USB/IP server's slots" "$work/out" '^mode=usbip usbip=127.0.0.1:[0-9]+ slot0=[a-z]+,[a-z]+ slot1='
check "the whole suite over USB/IP (--simulator-control)" 0 "$bin/sealctl" conformance --usbip "127.0.0.1:$usb_port/1-1" --vendor-root "$root" \
    --simulator-control "$work/usbip" --fresh-slot 1 --junit "$work/usbip-full.xml"
contains "USB/IP: every case ran, none failed" "$work/out" '^[0-9]+ passed, 0 failed, 0 skipped$'
check "libusb reports no USB devices cleanly" 0 "$bin/sealctl" readers
kill "$usb_sim"; wait "$usb_sim" 2>/dev/null || true

echo "tour: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
