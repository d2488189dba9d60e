#!/usr/bin/env bash
# The main job: build sealctl and run the conformance suite against the embedded default, the
# in-process simulated seal chip. Extra arguments go to `sealctl conformance`
# (e.g. --junit out.xml --json out.json --markdown out.md).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_swift
ensure_build_deps
cd "$(repo_root)"
swift build --product sealctl
exec "$(swift build --show-bin-path)/sealctl" conformance --simulator "$@"
