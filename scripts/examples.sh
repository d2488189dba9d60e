#!/usr/bin/env bash
# Builds and runs the integrator examples under Examples/ (each a separate Swift package that
# depends on SealKit by path and uses only its public API). Each example checks what it does and
# exits non-zero when something is not as expected, so this is a test. Each package has its own
# .build, so the first run builds SealKit's dependencies a second time.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_swift
ensure_build_deps
cd "$(repo_root)"
for example in Examples/StampAndVerify; do
    echo "==> $example"
    swift build --package-path "$example"
    swift run --skip-build --package-path "$example" "$(basename "$example")"
done
