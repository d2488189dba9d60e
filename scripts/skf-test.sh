#!/usr/bin/env bash
# The SKF view of the token (docs/skf.md) as an SKF application gets it: installs the C libraries
# into a temporary prefix (debug, reusing the suite's build), then
#   - checks libsealkit-skf exports exactly the SKF_* functions skf.h declares, and needs neither
#     libsealkit nor libsealkit-sim;
#   - makes an SM2 test token: `sealsim manufacture` + `personalize --seal-algorithm sm2`, an SM2
#     PKI from the openssl command line (root, seal maker, the chip's signer certificate), a
#     GB/T 38540 seal (skf-test-seal) installed with `sealsim personalize --ses-seal --activate`;
#   - builds Tests/c/skf_test.c with `cc $(pkg-config --cflags --libs sealkit-skf sealkit-sim)
#     -lcrypto` and runs it on that token: every SKF function through the header, error paths;
#   - verifies the signature it obtained through SKF_ECCSignData with plain `openssl pkeyutl`
#     (SM2, SM3, distinguishing ID 1234567812345678), and shows with `openssl asn1parse` that the
#     signed TBS_Sign has the standard's structure.
# Closes with "skf-test: N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_swift
ensure_build_deps
apt_ensure patchelf pkg-config binutils openssl libssl-dev
cd "$(repo_root)"

work=$(mktemp -d)
# SKF_TEST_KEEP=1 keeps the token, PKI and outputs for a look afterwards.
[ -n "${SKF_TEST_KEEP:-}" ] && echo "skf-test: keeping $work" || trap 'rm -rf "$work"' EXIT
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
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"

# ---- What libsealkit-skf exports and needs ----
cc -E -P -I"$prefix/include" "$prefix/include/skf.h" | grep -oE '\bSKF_[A-Za-z_]+ *\(' | tr -d ' (' | sort -u >"$work/declared"
nm -D --defined-only "$prefix/lib/libsealkit-skf.so.1" | awk '$2 ~ /^[A-TV-Z]$/ { print $3 }' | sort -u >"$work/exported"
if diff "$work/declared" "$work/exported" >"$work/diff"; then
    pass "libsealkit-skf exports exactly the $(wc -l <"$work/declared") functions of skf.h"
else
    fail "libsealkit-skf exports differ from skf.h (< declared only, > exported only)" "$work/diff"
fi
if readelf -d "$prefix/lib/libsealkit-skf.so.1" | grep -q 'NEEDED.*libsealkit'; then
    fail "libsealkit-skf needs another SealKit library"
else
    pass "libsealkit-skf needs no other SealKit library"
fi

# ---- An SM2 token with a GB/T 38540 seal ----
swift build --product sealsim >/dev/null
swift build --product skf-test-seal >/dev/null
bin=$(swift build --show-bin-path)
state="$work/sm2.nvm"
id=distid:1234567812345678
make_token() {
    set -e
    cd "$work"
    "$bin/sealsim" manufacture --state "$state"
    "$bin/sealsim" personalize --state "$state" --seal-algorithm sm2 --organization "SealKit SKF Test" \
        --seal-name "SKF test seal" --feature-hash "$(printf 'ab%.0s' $(seq 32))" --pin 123456 --puk 12345678 --json >personalized.json
    key=$(sed -n 's/.*"sealPublicKey": *"\([0-9A-Fa-f]*\)".*/\1/p' personalized.json)
    [ ${#key} -eq 130 ]
    # The chip's 65-byte point as a PEM public key (SubjectPublicKeyInfo, id-ecPublicKey, curve SM2).
    perl -e 'print pack("H*", $ARGV[0])' "3059301306072a8648ce3d020106082a811ccf5501822d034200$key" >chip.der
    openssl pkey -pubin -inform DER -in chip.der -out chip.pub
    openssl genpkey -algorithm SM2 -out root.key
    openssl req -x509 -new -key root.key -sm3 -sigopt "$id" -subj "/C=CN/O=SealKit SKF Test/CN=root" -days 30 -out root.pem
    openssl genpkey -algorithm SM2 -out maker.key
    openssl req -new -key maker.key -sm3 -sigopt "$id" -subj "/C=CN/O=SealKit SKF Test/CN=maker" -out maker.csr
    openssl x509 -req -in maker.csr -vfyopt "$id" -CA root.pem -CAkey root.key -set_serial 3 -sm3 -sigopt "$id" -days 20 -out maker.pem
    openssl genpkey -algorithm SM2 -out request.key
    openssl req -new -key request.key -sm3 -sigopt "$id" -subj "/C=CN/O=SealKit SKF Test/CN=chip" -out chip.csr
    openssl x509 -req -in chip.csr -vfyopt "$id" -force_pubkey chip.pub -CA root.pem -CAkey root.key -set_serial 4 \
        -sm3 -sigopt "$id" -days 20 -out chip.pem
    "$bin/skf-test-seal" maker.pem maker.key chip.pem seal.esl
    "$bin/sealsim" personalize --state "$state" --ses-seal seal.esl --activate
}
check "an SM2 test token with a GB/T 38540 seal (sealsim, openssl, skf-test-seal)" bash -c "$(declare -f make_token); bin='$bin' state='$state' work='$work' id='$id' make_token"

# ---- The C test ----
program="$work/skf_test"
check "cc \$(pkg-config --cflags --libs sealkit-skf sealkit-sim) -lcrypto builds Tests/c/skf_test.c (-Wall -Wextra -Werror)" \
    cc -std=c11 -Wall -Wextra -Werror -pedantic -o "$program" Tests/c/skf_test.c \
    $(pkg-config --cflags --libs sealkit-skf sealkit-sim) -lcrypto -Wl,-rpath,"$prefix/lib"
mkdir -p "$work/out.d"
status=0
# SEALKIT_SKF_DEBUG: each failure's reason on stderr, shown with a failing check.
SEALKIT_SKF_DEBUG=1 "$program" "$state" "$work/seal.esl" "$work/out.d" >"$work/c.out" 2>&1 || status=$?
grep -E "^\[FAIL\]|^    device |^skf:" "$work/c.out" | sed 's/^/    /'
if [ "$status" -eq 0 ] && grep -q "^skf: [0-9]* passed, 0 failed" "$work/c.out"; then
    pass "skf_test calls every SKF function through the header ($(sed -n 's/^skf: \([0-9]*\) passed.*/\1/p' "$work/c.out") checks)"
else
    fail "skf_test (exit $status)" "$work/c.out"
fi
check "usage errors exit 64" bash -c '"$1"; [ $? -eq 64 ]' _ "$program"

# ---- The signature under plain openssl ----
cd "$work/out.d"
check "openssl pkeyutl -verify (SM2, SM3, distid 1234567812345678) accepts the SKF_ECCSignData signature over the TBS_Sign" \
    openssl pkeyutl -verify -pubin -keyform DER -inkey public.der -rawin -in tbs.der -sigfile signature.der -digest sm3 -pkeyopt "$id"
printf 'x' >>tbs.der
if openssl pkeyutl -verify -pubin -keyform DER -inkey public.der -rawin -in tbs.der -sigfile signature.der -digest sm3 -pkeyopt "$id" >/dev/null 2>&1; then
    fail "openssl accepts the signature over a changed TBS_Sign"
else
    pass "openssl refuses it over a changed TBS_Sign"
fi
truncate -s -1 tbs.der
if openssl asn1parse -inform DER -in tbs.der -i >"$work/asn1" 2>&1 &&
   sed -n 2p "$work/asn1" | grep -q "INTEGER *:04" && grep -q "GENERALIZEDTIME" "$work/asn1" &&
   grep -q "BIT STRING" "$work/asn1" && grep -q "IA5STRING *:/Doc_0/Signs/Sign_0/Signature.xml" "$work/asn1" &&
   grep -q "cont \[ 0 \]" "$work/asn1" && grep -q "OBJECT *:1.3.6.1.4.1.32473.38540.1" "$work/asn1"; then
    pass "openssl asn1parse: TBS_Sign { 4, seal, GeneralizedTime, BIT STRING, IA5String, [0] { receipt extension } }"
else
    fail "openssl asn1parse does not show the TBS_Sign structure" "$work/asn1"
fi
check "openssl x509: the exported certificate is the chip's (the one the seal lists), issued by the test root" \
    bash -c 'openssl x509 -inform DER -in signer.der -noout -subject -issuer | grep -q "subject=.*CN *= *chip" &&
             openssl x509 -inform DER -in signer.der -noout -issuer | grep -q "CN *= *root" &&
             cmp <(openssl x509 -inform DER -in signer.der -outform DER) <(openssl x509 -in "$1/chip.pem" -outform DER)' _ "$work"
cd - >/dev/null

echo "skf-test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
