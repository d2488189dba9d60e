#!/usr/bin/env bash
# The main job: the conformance suite through the real PC/SC stack — pcscd with vsmartcard's vpcd
# reader, the simulated seal token served on vpcd slot 0 by `sealsim serve --vpcd`, and the
# driver's libpcsclite backend. Installs and starts what is missing (pcscd, vpcd), waits until the
# reader shows the card, runs `sealctl conformance --reader "Virtual PCD 00 00"`, stops the
# simulator. Extra arguments go to `sealctl conformance` (e.g. --junit out.xml --json out.json
# --markdown out.md). `--in-process` runs the suite against the embedded in-process simulator
# instead (no PC/SC; every simulator-only case enabled).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_swift
ensure_build_deps
cd "$(repo_root)"
swift build --product sealctl
swift build --product sealsim
bin=$(swift build --show-bin-path)
SEALCTL="$bin/sealctl"

if [ "${1:-}" = "--in-process" ]; then
    shift
    exec "$SEALCTL" conformance --simulator "$@"
fi

scripts/pcscd.sh start
state=$(mktemp -d)
"$bin/sealsim" serve --vpcd 127.0.0.1:35963 --slots 1 --state "$state" >"$state/sealsim.log" 2>&1 &
sim=$!
trap 'kill "$sim" 2>/dev/null || true; wait "$sim" 2>/dev/null || true; rm -rf "$state"' EXIT
if ! wait_for reader_has_card "Virtual PCD 00 00"; then
    echo "error: the simulated token did not appear in \"Virtual PCD 00 00\" within 15 s; sealsim said:" >&2
    sed 's/^/    /' "$state/sealsim.log" >&2
    exit 1
fi
"$SEALCTL" conformance --reader "Virtual PCD 00 00" --vendor-root Fixtures/test-vendor-ca/ca-cert.pem --issuer-key Fixtures/test-issuer/issuer-key.pem "$@"
