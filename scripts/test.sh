#!/usr/bin/env bash
# The whole test suite: starts pcscd with the vpcd readers (installing what is missing), runs
# `swift test` with the PC/SC integration tests enabled (it also runs the full conformance suite
# in process), then schemathesis against the ledger's HTTP interface (scripts/schemathesis.sh),
# then the C library as an integrator installs and uses it (scripts/clib-test.sh), the SKF view
# of the token as an SKF application drives it (scripts/skf-test.sh), then
# the command-line tour end to end: the embedded simulator, PC/SC through pcscd + vpcd, and USB
# CCID over USB/IP (scripts/cli-tour.sh).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_swift
ensure_build_deps
cd "$(repo_root)"
scripts/pcscd.sh start
apt_ensure usbip openssl libssl-dev python3 libsqlite3-dev sqlite3 golang-go golang-golang-x-mod-dev \
    libqrencode-dev libzbar-dev libcairo2-dev fonts-wqy-zenhei zbar-tools librsvg2-bin postgresql \
    chromium chromium-driver poppler-utils curl
# The ledger's tests run against PostgreSQL too, on a private cluster (scripts/postgres.sh).
SEALKIT_POSTGRES_URL="$(scripts/postgres.sh start)"
export SEALKIT_POSTGRES_URL
trap 'scripts/postgres.sh stop' EXIT
swift build --build-tests
# Tests that bound how long the driver takes against a misbehaving device measure wall time: they
# run alone after the rest, so the rest's CPU-bound tests (on 2 cores) cannot stretch their clocks.
timing_bound='CCIDHostileReaderTests|USBIPHostileServerTests|USBIPRoundTripTests|USBIPReceiverTests|HostileTokenTests|PCSCTransportStateTests'
SEALKIT_PCSC_TESTS=1 swift test --skip-build --skip "$timing_bound"
SEALKIT_PCSC_TESTS=1 swift test --skip-build --filter "$timing_bound" --no-parallel
# The ledger's HTTP interface against its OpenAPI document (installs schemathesis from PyPI into .build).
scripts/schemathesis.sh
scripts/fuzz.sh --seconds 15
scripts/docs.sh
scripts/examples.sh
scripts/clib-test.sh
scripts/skf-test.sh
scripts/cli-tour.sh
