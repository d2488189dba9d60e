#!/usr/bin/env bash
# The C library as an integrator gets it (docs/c-library.md): installs it into a temporary prefix
# (debug, reusing the build the test suite made), then
#   - checks each library exports exactly the functions its header declares and nothing else, and
#     that neither library needs or calls the other (only the C types of sealkit.h pass between);
#   - builds Examples/c/stamp_verify.c with `cc $(pkg-config --cflags --libs sealkit sealkit-sim)`
#     and runs it against the simulated token (in memory, then twice on one state file);
#   - runs it again with the Swift toolchain hidden (a private mount namespace, when permitted);
#   - runs it under valgrind: 0 bytes definitely and indirectly lost, no memory error;
#   - runs it against tokens served by `sealsim serve` over USB/IP and, when pcscd is up, PC/SC.
# Closes with "clib: N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_swift
ensure_build_deps
apt_ensure valgrind patchelf pkg-config binutils usbip
cd "$(repo_root)"

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
prefix="$work/prefix"
passed=0; failed=0
pass() { passed=$((passed + 1)); echo "[PASS] $1"; }
fail() { failed=$((failed + 1)); echo "[FAIL] $1"; [ -z "${2:-}" ] || sed 's/^/    /' "$2" | tail -25; }
check() {  # check NAME COMMAND... (output in $work/out)
    local name=$1; shift
    if "$@" >"$work/out" 2>&1; then pass "$name"; else fail "$name: exit $?" "$work/out"; fi
}

check "install-clib.sh --configuration debug into a temporary prefix" \
    scripts/install-clib.sh --prefix "$prefix" --configuration debug
grep -E "^    lib|installed" "$work/out" || true
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"

# ---- What each library exports and needs ----
# declared HEADER PATTERN: the functions a header declares (comments removed by the preprocessor).
declared() { cc -E -P -I"$prefix/include" "$1" | grep -oE '\bsealkit_[a-z0-9_]+ *\(' | tr -d ' (' | grep -E "$2" | sort -u; }
exported() { nm -D --defined-only "$1" | awk '$2 ~ /^[A-TV-Z]$/ { print $3 }' | sort -u; }
declared "$prefix/include/sealkit.h" '^sealkit_' >"$work/sealkit.declared"
exported "$prefix/lib/libsealkit.so.1" >"$work/sealkit.exported"
if diff "$work/sealkit.declared" "$work/sealkit.exported" >"$work/diff"; then
    pass "libsealkit exports exactly the $(wc -l <"$work/sealkit.declared") functions of sealkit.h"
else
    fail "libsealkit exports differ from sealkit.h (< declared only, > exported only)" "$work/diff"
fi
declared "$prefix/include/sealkit-sim.h" '^sealkit_sim_' >"$work/sim.declared"
exported "$prefix/lib/libsealkit-sim.so.1" >"$work/sim.exported"
if diff "$work/sim.declared" "$work/sim.exported" >"$work/diff"; then
    pass "libsealkit-sim exports exactly the $(wc -l <"$work/sim.declared") functions of sealkit-sim.h"
else
    fail "libsealkit-sim exports differ from sealkit-sim.h (< declared only, > exported only)" "$work/diff"
fi
if readelf -d "$prefix/lib/libsealkit-sim.so.1" "$prefix/lib/libsealkit.so.1" | grep -q 'NEEDED.*libsealkit' ||
   nm -D --undefined-only "$prefix/lib/libsealkit-sim.so.1" "$prefix/lib/libsealkit.so.1" | grep -q ' sealkit_'; then
    fail "one library needs or calls the other"
else
    pass "neither library needs or calls the other"
fi
if readelf -d "$prefix/lib/libsealkit-sim.so.1" | grep -qE 'NEEDED.*(pcsclite|usb-1.0)'; then
    fail "libsealkit-sim links libpcsclite or libusb"
else
    pass "libsealkit-sim links neither libpcsclite nor libusb"
fi

# ---- The example, built with pkg-config ----
example="$work/stamp_verify"
check "pkg-config knows both libraries" pkg-config --exists sealkit sealkit-sim
check "cc \$(pkg-config --cflags --libs sealkit sealkit-sim) builds Examples/c/stamp_verify.c (-Wall -Wextra -Werror)" \
    cc -std=c11 -Wall -Wextra -Werror -pedantic -o "$example" Examples/c/stamp_verify.c \
    $(pkg-config --cflags --libs sealkit sealkit-sim) -Wl,-rpath,"$prefix/lib"

start=$(date +%s%N)
check "stamp_verify against the in-memory simulated token" "$example"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
grep -q "every result as expected" "$work/out" && echo "    ran in $elapsed_ms ms"
if grep -qx "libsealkit $(pkg-config --modversion sealkit)" "$work/out"; then
    pass "sealkit_version() is what pkg-config --modversion sealkit says ($(pkg-config --modversion sealkit))"
else
    fail "sealkit_version() and pkg-config --modversion sealkit ($(pkg-config --modversion sealkit)) differ" "$work/out"
fi
check "stamp_verify on a new state file" "$example" --state "$work/token.nvm"
check "stamp_verify on the same state file again" "$example" --state "$work/token.nvm"
check "usage errors exit 64" bash -c '"$1" --bogus; [ $? -eq 64 ]' _ "$example"

# ---- Without the Swift toolchain ----
toolchain_root=$(cd "$(dirname "$(readlink -f "$(command -v swift)")")/../.." && pwd)
if env -u LD_LIBRARY_PATH ldd "$example" | grep -qF "$toolchain_root/"; then
    fail "ldd resolves stamp_verify's libraries from $toolchain_root"
else
    pass "ldd resolves nothing of stamp_verify from $toolchain_root"
fi
mkdir -p "$work/empty"
if unshare -m true 2>/dev/null; then
    check "stamp_verify with $toolchain_root hidden (mount namespace)" \
        unshare -m bash -c 'mount --bind "$1" "$2" && exec "$3"' _ "$work/empty" "$toolchain_root" "$example"
else
    echo "[SKIP] running with the toolchain hidden needs a mount namespace (root); ldd checked above"
fi

# ---- valgrind ----
status=0
valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    --suppressions="$prefix/share/sealkit/valgrind-swift-runtime.supp" \
    "$example" >"$work/valgrind.out" 2>"$work/valgrind.log" || status=$?
summary=$(grep -E "definitely lost:|indirectly lost:|possibly lost:|still reachable:|ERROR SUMMARY:|no leaks are possible" "$work/valgrind.log" | sed 's/^==[0-9]*== *//')
echo "$summary" | sed 's/^/    /'
if [ "$status" -eq 0 ] && grep -q "every result as expected" "$work/valgrind.out" &&
   { grep -q "no leaks are possible" "$work/valgrind.log" ||
     { grep -q "definitely lost: 0 bytes in 0 blocks" "$work/valgrind.log" && grep -q "indirectly lost: 0 bytes in 0 blocks" "$work/valgrind.log"; }; }; then
    pass "valgrind: 0 bytes definitely and indirectly lost, no memory error"
else
    fail "valgrind (exit $status)" "$work/valgrind.log"
fi

# ---- Tokens served by sealsim: USB/IP and PC/SC ----
swift build --product sealsim >/dev/null
swift build --product sealctl >/dev/null
bin=$(swift build --show-bin-path)
usb_port=${SEALKIT_CLIB_USBIP_PORT:-3241}
"$bin/sealsim" serve --usbip "127.0.0.1:$usb_port" --slots 1 --state "$work/usbip" >"$work/sealsim-usbip.log" 2>&1 &
usb_sim=$!
if wait_for usbip --tcp-port "$usb_port" list -r 127.0.0.1; then
    check "stamp_verify --usbip 127.0.0.1:$usb_port" "$example" --usbip "127.0.0.1:$usb_port"
else
    fail "sealsim serve --usbip did not come up" "$work/sealsim-usbip.log"
fi
kill "$usb_sim"; wait "$usb_sim" 2>/dev/null || true

SEALCTL="$bin/sealctl"
reader_is_empty() { ! reader_has_card "$1"; }
if scripts/pcscd.sh status >/dev/null 2>&1; then
    "$bin/sealsim" serve --vpcd 127.0.0.1:35963 --slots 1 --state "$work/vpcd" >"$work/sealsim-vpcd.log" 2>&1 &
    vpcd_sim=$!
    if wait_for reader_has_card "Virtual PCD 00 00"; then
        check "stamp_verify --pcsc \"Virtual PCD 00 00\"" "$example" --pcsc "Virtual PCD 00 00"
    else
        fail "sealsim serve --vpcd put no token in Virtual PCD 00 00" "$work/sealsim-vpcd.log"
    fi
    kill "$vpcd_sim"; wait "$vpcd_sim" 2>/dev/null || true
    # The next user of the reader (the CLI tour) must not see this token as still present.
    wait_for reader_is_empty "Virtual PCD 00 00" || true
else
    echo "[SKIP] PC/SC: pcscd with the vpcd readers is not running (scripts/pcscd.sh start)"
fi

echo "clib: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
