#!/usr/bin/env bash
# Builds and installs the SealKit C library (docs/c-library.md):
#
#   scripts/install-clib.sh --prefix PREFIX [--configuration debug|release]
#
#   PREFIX/include/sealkit.h, sealkit-sim.h, skf.h
#   PREFIX/lib/libsealkit.so.1 (+ libsealkit.so), libsealkit-sim.so.1 (+ libsealkit-sim.so),
#       libsealkit-skf.so.1 (+ libsealkit-skf.so: the GM/T 0016 SKF view, docs/skf.md)
#   PREFIX/lib/pkgconfig/sealkit.pc, sealkit-sim.pc, sealkit-skf.pc
#   PREFIX/lib/sealkit/swift/      the Swift runtime libraries the three need (copied from the toolchain)
#   PREFIX/share/sealkit/valgrind-swift-runtime.supp
#
# The installed libraries need no Swift toolchain: the runtime libraries they link are copied
# beside them and every RUNPATH is rewritten to $ORIGIN-relative paths (patchelf); the script
# fails if ldd resolves anything from the toolchain afterwards. Debug information is stripped
# (valgrind 3.19 cannot read Swift's DWARF 5; debug from the build directory instead). They still
# need the system's libpcsclite1 and libusb-1.0-0, which every distribution packages.
#
# The default configuration is release; the test suite installs debug to reuse its build.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    echo "usage: scripts/install-clib.sh --prefix PREFIX [--configuration debug|release]" >&2
    exit 64
}

prefix=""
configuration=release
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || usage; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        --configuration|-c) [ $# -ge 2 ] || usage; configuration=$2; shift 2 ;;
        --configuration=*) configuration=${1#--configuration=}; shift ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install-clib: unknown argument $1" >&2; usage ;;
    esac
done
[ -n "$prefix" ] || usage
case "$configuration" in debug|release) ;; *) echo "install-clib: --configuration is debug or release" >&2; usage ;; esac

ensure_swift
ensure_build_deps
apt_ensure patchelf binutils pkg-config
cd "$(repo_root)"

echo "==> building libsealkit, libsealkit-sim and libsealkit-skf ($configuration)"
swift build -c "$configuration" --product sealkit
swift build -c "$configuration" --product sealkit-sim
swift build -c "$configuration" --product sealkit-skf
bin=$(swift build -c "$configuration" --show-bin-path)
# The toolchain and its runtime directory: what the installed libraries must not need.
toolchain_root=$(cd "$(dirname "$(readlink -f "$(command -v swift)")")/../.." && pwd)
toolchain_runtime="$toolchain_root/usr/lib/swift/linux"
# What must not appear in ldd's output: the whole toolchain, or its runtime directory when the
# toolchain is installed at / (then /usr holds the system's libraries too).
forbidden="$toolchain_root/"
[ "$toolchain_root" != "/" ] || { toolchain_runtime=/usr/lib/swift/linux; forbidden="$toolchain_runtime/"; }

mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
lib="$prefix/lib"
runtime="$lib/sealkit/swift"
mkdir -p "$prefix/include" "$lib/pkgconfig" "$runtime" "$prefix/share/sealkit"

# The release this build is (SealKitVersion.current, what sealkit_version() returns), for
# pkg-config --modversion.
version=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Protocol/SealKitVersion.swift)
[ -n "$version" ] || { echo "install-clib: no SealKitVersion.current in Protocol/SealKitVersion.swift" >&2; exit 1; }

# install_library NAME: lib$NAME.so.1 with that SONAME, lib$NAME.so beside it for the linker.
install_library() {
    local name=$1 target="$lib/lib$1.so.1"
    rm -f "$target" "$lib/lib$name.so"
    cp "$bin/lib$name.so" "$target"
    chmod u+w "$target"
    strip --strip-debug "$target"
    patchelf --set-soname "lib$name.so.1" "$target"
    patchelf --set-rpath '$ORIGIN/sealkit/swift' "$target"
    ln -s "lib$name.so.1" "$lib/lib$name.so"
}
install_library sealkit
install_library sealkit-sim
install_library sealkit-skf

# Every library ldd resolves from the toolchain, transitively (ICU via Foundation, …).
echo "==> copying the Swift runtime into $runtime"
rm -f "$runtime"/*.so*
for needed in $(env -u LD_LIBRARY_PATH ldd "$bin/libsealkit.so" "$bin/libsealkit-sim.so" "$bin/libsealkit-skf.so" |
                awk -v dir="$toolchain_runtime/" 'index($3, dir) == 1 { print $3 }' | sort -u); do
    install -m 755 "$needed" "$runtime/"
    patchelf --set-rpath '$ORIGIN' "$runtime/$(basename "$needed")"
done

install -m 644 Sources/SealKitC/include/sealkit.h Sources/SealKitCSimulated/include/sealkit-sim.h \
    Sources/SealKitSKF/include/skf.h "$prefix/include/"
install -m 644 Examples/c/valgrind-swift-runtime.supp "$prefix/share/sealkit/"

cat > "$lib/pkgconfig/sealkit.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: sealkit
Description: SealKit C library: seal tokens over PC/SC, USB and USB/IP, stamps and their offline verification
Version: $version
Libs: -L\${libdir} -lsealkit
Cflags: -I\${includedir}
PC
cat > "$lib/pkgconfig/sealkit-sim.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: sealkit-sim
Description: SealKit simulated seal token for tests of libsealkit users (TEST ONLY)
Version: $version
Requires: sealkit
Libs: -L\${libdir} -lsealkit-sim
Cflags: -I\${includedir}
PC

cat > "$lib/pkgconfig/sealkit-skf.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: sealkit-skf
Description: SealKit seal tokens through the GM/T 0016-2012 (SKF) interface
Version: $version
Libs: -L\${libdir} -lsealkit-skf
Cflags: -I\${includedir}
PC

# Nothing may resolve from the toolchain, and nothing may be missing.
echo "==> checking the installed libraries with ldd"
bad=0
for object in "$lib/libsealkit.so.1" "$lib/libsealkit-sim.so.1" "$lib/libsealkit-skf.so.1" "$runtime"/*.so*; do
    resolved=$(env -u LD_LIBRARY_PATH ldd "$object")
    if grep -qF "$forbidden" <<<"$resolved" || grep -q "not found" <<<"$resolved"; then
        echo "install-clib: $object resolves from the toolchain ($forbidden) or misses a library:" >&2
        grep -F -e "$forbidden" -e "not found" <<<"$resolved" >&2
        bad=1
    fi
done
[ "$bad" -eq 0 ] || exit 1

size() { du -k "$@" | awk '{ total += $1 } END { printf "%.1f MB", total / 1024 }'; }
echo "==> installed SealKit C library $version ($configuration) in $prefix"
echo "    libsealkit.so.1 $(size "$lib/libsealkit.so.1"), libsealkit-sim.so.1 $(size "$lib/libsealkit-sim.so.1"), libsealkit-skf.so.1 $(size "$lib/libsealkit-skf.so.1"), Swift runtime $(size "$runtime") ($(ls "$runtime" | wc -l) libraries)"
echo "    build against it: PKG_CONFIG_PATH=$lib/pkgconfig cc app.c \$(pkg-config --cflags --libs sealkit)"
