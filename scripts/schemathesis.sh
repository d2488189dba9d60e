#!/usr/bin/env bash
# Fuzzes the HTTP interface of `sealledger serve` with schemathesis (from PyPI) against its OpenAPI
# document, docs/ledger-openapi.yaml: a live server on loopback holding three records stamped by
# the embedded simulated token, every generated request checked for server errors and for answers
# (status, content type, headers, body) the document does not describe, refusals of malformed input,
# and 405 for methods a path does not answer. Fails on any finding. Not checked: positive_data_acceptance
# (a schema-valid record whose signatures do not verify is rightly refused; docs/ledger.md). One worker:
# with two, CPython 3.11's ast module failed inside Hypothesis.
#
# schemathesis is installed with pip into a venv under .build when it is missing (that needs network
# access to PyPI); failing to install it is an error, never a skipped run. Expects the package built
# (`swift build`): the executables are taken from $SEALKIT_BIN_DIR (default .build/debug).
#
# SCHEMATHESIS_EXAMPLES (default 40) bounds the test cases per operation and SCHEMATHESIS_SEED
# (default 10) fixes the generator, so a run is repeatable and stays within about 3 minutes on 2 cores.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(repo_root)"

SCHEMATHESIS_VERSION=4.32.5
VENV=.build/schemathesis-venv
BIN="${SEALKIT_BIN_DIR:-.build/debug}"
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-40}"
SEED="${SCHEMATHESIS_SEED:-10}"

for tool in sealledger sealctl; do
    if [ ! -x "$BIN/$tool" ]; then
        echo "error: $BIN/$tool is missing: run 'swift build' first (or set SEALKIT_BIN_DIR)" >&2
        exit 1
    fi
done

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "version $SCHEMATHESIS_VERSION\$"; then
    echo "==> installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    if ! python3 -m venv --clear "$VENV" >/dev/null 2>&1; then
        apt_ensure python3-venv
        python3 -m venv --clear "$VENV" || { echo "error: cannot create a Python venv at $VENV (python3 -m venv)" >&2; exit 1; }
    fi
    if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"; then
        echo "error: cannot install schemathesis $SCHEMATHESIS_VERSION with pip into $VENV (pip needs network access to PyPI); the API fuzzing did not run" >&2
        exit 1
    fi
fi

work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Everything (the simulated token, the ledger's database and key) lives in the scratch directory.
export SEALKIT_HOME="$work/home"
"$BIN/sealledger" serve --listen 127.0.0.1:0 --database "$work/ledger.sqlite" >"$work/serve.out" 2>"$work/serve.err" &
server=$!
if ! WAIT_SECONDS=60 wait_for grep -q '^listening on ' "$work/serve.out"; then
    echo "error: sealledger serve did not start:" >&2
    cat "$work/serve.err" >&2
    exit 1
fi
url=$(sed -n 's/^listening on //p' "$work/serve.out" | head -n 1)

records=()
for n in 1 2 3; do
    echo "schemathesis document $n" >"$work/doc$n.txt"
    "$BIN/sealctl" stamp --document "$work/doc$n.txt" --pin 123456 --out "$work/doc$n.seal.json" >/dev/null
    records+=("$work/doc$n.seal.json")
done
"$BIN/sealctl" ledger submit "${records[@]}" --ledger "$url" >/dev/null

# Twice: as the public (no token), and as the issuer's administrator, whose bearer token reaches the
# operations that answer only 401/403 without one (docs/access.md).
token=$("$BIN/sealledger" token issue --database "$work/ledger.sqlite" --role issuer --subject schemathesis --expires 1h)
root=$(pwd)
cd "$work"
for caller in public issuer; do
    headers=()
    [ "$caller" = issuer ] && headers=(-H "Authorization: Bearer $token")
    echo "==> schemathesis $SCHEMATHESIS_VERSION against $url as $caller (docs/ledger-openapi.yaml, at most $EXAMPLES cases per operation, seed $SEED)"
    # From the scratch directory: schemathesis keeps a .schemathesis/ cache in its working directory.
    # The alert stream never ends by design (server-sent events); tests/SealLedgerAccessTests/AlertTests.swift covers it.
    "$root/$VENV/bin/schemathesis" run "$root/docs/ledger-openapi.yaml" --url "$url" "${headers[@]}" --exclude-path /v1/alerts/stream \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,unsupported_method \
        --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 --generation-database none --no-color \
        --suppress-health-check too_slow
done
