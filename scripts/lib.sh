# Shared helpers for the scripts in this folder. Sourced, not run.
set -euo pipefail

repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

# Finds the Swift toolchain: PATH first, then the usual install locations.
ensure_swift() {
    if command -v swift >/dev/null 2>&1; then return 0; fi
    for dir in /opt/swift/usr/bin /usr/share/swift/usr/bin /usr/local/swift/usr/bin; do
        if [ -x "$dir/swift" ]; then export PATH="$dir:$PATH"; return 0; fi
    done
    echo "error: no Swift toolchain found (need Swift 6.0 or later on PATH; see https://swift.org/install/linux)" >&2
    exit 1
}

# Installs Debian packages that are missing, idempotently, as root or through sudo.
apt_ensure() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "==> installing ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What building the package needs beyond Swift: libpcsclite and libusb-1.0 for the PC/SC and USB
# backends of the driver; libqrencode, libzbar and cairo for SealImprint (docs/imprint.md).
ensure_build_deps() {
    command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libpcsclite libusb-1.0 libcrypto libqrencode zbar cairo-ft 2>/dev/null && return 0
    apt_ensure pkg-config libpcsclite-dev libusb-1.0-0-dev libssl-dev libqrencode-dev libzbar-dev libcairo2-dev
}

# Polls `$@` every 0.2 s until it succeeds, for at most $WAIT_SECONDS (default 15) seconds.
wait_for() {
    local deadline=$((SECONDS + ${WAIT_SECONDS:-15}))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

# Whether PC/SC reader "$1" has a card (asks pcscd through sealctl).
reader_has_card() {
    "$SEALCTL" readers --json 2>/dev/null | python3 -c '
import json, sys
reader = sys.argv[1]
data = json.load(sys.stdin)
sys.exit(0 if any(r["name"] == reader and r["cardPresent"] for r in data["readers"]) else 1)' "$1"
}
