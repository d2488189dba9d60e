#!/usr/bin/env bash
# The whole test suite: unit and integration tests (swift test, which also runs the full
# conformance suite in process), then the command-line tour end to end (scripts/cli-tour.sh).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_swift
ensure_build_deps
cd "$(repo_root)"
swift build --build-tests
swift test --skip-build
scripts/cli-tour.sh
