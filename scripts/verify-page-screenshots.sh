#!/usr/bin/env bash
# Retakes the verification page's screenshots in docs/ (docs/verify-page.md): runs the headless
# Chromium test of the page once with SEALKIT_VERIFY_SCREENSHOTS set, which makes it save
# docs/verify-valid.png, docs/verify-invalid.png and docs/verify-revoked.png. An ordinary test run
# saves nothing. Needs Debian's chromium and chromium-driver (installed when missing).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_swift
cd "$(repo_root)"
apt_ensure chromium chromium-driver curl openssl librsvg2-bin
swift build --build-tests
SEALKIT_VERIFY_SCREENSHOTS="$PWD/docs" swift test --skip-build --filter 'VerifyPageTests/thePageShowsValidInvalidRevokedAndReadsAQRCode'
ls -l docs/verify-valid.png docs/verify-invalid.png docs/verify-revoked.png
