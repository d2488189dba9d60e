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
# backends of the driver.
ensure_build_deps() {
    command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libpcsclite libusb-1.0 2>/dev/null && return 0
    apt_ensure pkg-config libpcsclite-dev libusb-1.0-0-dev
}
