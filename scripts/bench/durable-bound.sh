#!/usr/bin/env bash
# Builds and runs durable-bound.c: the most a durable STAMP can reach against sealbench's
# in-place fdatasync floor on this disk, with no SealKit code (docs/benchmarks.md,
# "Durable STAMP: the bound on this disk"). Needs gcc and OpenSSL's headers (libssl-dev).
#
#   scripts/bench/durable-bound.sh [DIRECTORY]    run in DIRECTORY (default: $TMPDIR or /tmp)
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
apt_ensure gcc libssl-dev
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
binary="$(mktemp -d)/durable-bound"
trap 'rm -rf "$(dirname "$binary")"' EXIT
gcc -O2 -Wall -Wextra -o "$binary" "$here/durable-bound.c" -lcrypto
"$binary" "$@"
