#!/usr/bin/env bash
# Builds the DocC documentation of every library product, with warnings treated as errors (a broken
# symbol link, an undocumented parameter), after checking the public API itself: no target over its
# budget in scripts/public-api-budget.txt, and a doc comment on every public declaration
# (scripts/public-api.sh). The archives land in .build/plugins/Swift-DocC/outputs/<Target>.doccarchive.
#
#   scripts/docs.sh                  all products
#   scripts/docs.sh SealHostDriver   only the ones named (the API check still covers every target)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_swift
ensure_build_deps
cd "$(repo_root)"

# The library products; each has a catalog <Target>.docc/<Target>.md beside its sources.
products=(SealProtocol SealHostDriver SealPCSC SealUSB SealSimulatedToken SealFirmware SealConformance SealGMCrypto SealESeal SealSM2Verifier SealOFD SealLedger SealLedgerAccess SealLedgerPostgres SealImprint)
[ $# -gt 0 ] && products=("$@")

scripts/public-api.sh --max scripts/public-api-budget.txt --require-docs

args=()
for product in "${products[@]}"; do args+=(--target "$product"); done
swift package generate-documentation "${args[@]}" --warnings-as-errors
echo "==> documentation of ${products[*]} built without warnings"
