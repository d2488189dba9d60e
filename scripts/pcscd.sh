#!/usr/bin/env bash
# pcscd with vsmartcard's vpcd virtual readers, for the simulator behind PC/SC
# (`sealsim serve --vpcd`, docs/simulator.md).
#
#   scripts/pcscd.sh start    install what is missing, start pcscd unless it runs, wait for the readers
#   scripts/pcscd.sh stop     stop pcscd
#   scripts/pcscd.sh status   is pcscd up, and does it list the vpcd readers? (exit 0 if so, 1 if not)
#
# Idempotent: `start` on a running pcscd only waits for its readers. There is no systemd here:
# pcscd is started directly (it daemonizes). "Running" means its socket answers in this mount
# namespace — a pcscd of another namespace (pgrep sees it) does not serve our clients.
# SEALKIT_PCSCD_TIMEOUT (seconds, default 10) bounds the wait for the readers.
#
# Besides vsmartcard-vpcd's own entry (readers "Virtual PCD 00 00"/"00 01" on ports 35963/35964),
# `start` installs /etc/reader.conf.d/sealkit-tray: five more vpcd entries, two readers each, on
# ports 35965…35974 — ten more readers ("Virtual PCD 35965 00 00" on 35965, "… 00 01" on 35966, …) for the production-line tray (`sealsim serve --vpcd
# 127.0.0.1:35965 --slots 8`, `sealctl conformance --all-readers`). pcsc-lite serves at most 16
# readers. A pcscd that was already running reads the new entries only after `stop` and `start`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PCSCD_SOCKET=/run/pcscd/pcscd.comm
PCSCD_PIDFILE=/run/pcscd/pcscd.pid
VPCD_READER="Virtual PCD 00 00"
TIMEOUT="${SEALKIT_PCSCD_TIMEOUT:-10}"
PACKAGES=(pcscd vsmartcard-vpcd libpcsclite-dev pcsc-tools opensc libccid)
TRAY_CONF=/etc/reader.conf.d/sealkit-tray
# First port of each extra vpcd entry (CHANNELID); the entry serves that port and the next.
TRAY_CHANNELS=(35965 35967 35969 35971 35973)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

pcscd_pids() { pgrep -x pcscd 2>/dev/null || true; }

pcscd_running() { [ -S "$PCSCD_SOCKET" ] && timeout 2 pcsc_scan -r >/dev/null 2>&1; }

# The readers pcscd lists (one per line), or nothing when it does not answer within 2 s.
list_readers() {
    timeout 2 pcsc_scan -r 2>/dev/null | sed -n 's/^[0-9]*: //p' || true
}

readers_ready() {
    local readers
    readers="$(list_readers)"
    grep -qx "$VPCD_READER" <<<"$readers"
}

# Polls until `$1` succeeds or TIMEOUT seconds pass.
wait_until() {
    local deadline=$((SECONDS + TIMEOUT))
    until "$1"; do
        if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
        sleep 0.2
    done
}

socket_ready() { [ -S "$PCSCD_SOCKET" ]; }

print_readers() {
    list_readers | sed 's/^/    /'
}

# vsmartcard-vpcd 3.3 keeps its connections in a table indexed by slot number only (0 and 1), so
# two entries with the same LIBPATH share it: every pair of readers would serve the ports of the
# entry read last, the standard "Virtual PCD 00 00"/"00 01" included. Each extra entry therefore
# loads its own copy of the driver (a separate file is a separate dlopen, with its own table).
VPCD_DRIVER=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
tray_driver() { echo "/usr/lib/pcsc/drivers/serial/libifdvpcd-tray-$1.so"; }

# The extra vpcd entries, as /etc/reader.conf.d wants them.
tray_conf() {
    echo "# SealKit production-line tray: written by scripts/pcscd.sh (docs/pcsc.md)"
    local port
    for port in "${TRAY_CHANNELS[@]}"; do
        printf '\nFRIENDLYNAME "Virtual PCD %d"\nDEVICENAME   /dev/null:0x%X\nLIBPATH      %s\nCHANNELID    0x%X\n' \
            "$port" "$port" "$(tray_driver "$port")" "$port"
    done
}

# Installs the driver copies and writes TRAY_CONF when it is missing or differs; returns 0 when
# something changed.
install_tray_conf() {
    local wanted port changed=1
    for port in "${TRAY_CHANNELS[@]}"; do
        if ! cmp -s "$VPCD_DRIVER" "$(tray_driver "$port")"; then
            as_root cp "$(readlink -f "$VPCD_DRIVER")" "$(tray_driver "$port")"
            changed=0
        fi
    done
    wanted="$(tray_conf)"
    if [ -f "$TRAY_CONF" ] && [ "$(cat "$TRAY_CONF")" = "$wanted" ]; then return $changed; fi
    echo "==> writing $TRAY_CONF (vpcd readers on ports ${TRAY_CHANNELS[0]}…$((${TRAY_CHANNELS[-1]} + 1)))"
    printf '%s\n' "$wanted" | as_root tee "$TRAY_CONF" >/dev/null
    return 0
}

cmd_start() {
    apt_ensure "${PACKAGES[@]}"
    local tray_changed=false
    if install_tray_conf; then tray_changed=true; fi
    if pcscd_running; then
        echo "==> pcscd already running (pid $(pcscd_pids | tr '\n' ' ' | sed 's/ $//'))"
        if $tray_changed; then
            echo "    note: it reads the new tray readers after \`$0 stop && $0 start\`"
        fi
    else
        echo "==> starting pcscd"
        as_root pcscd
    fi
    if ! wait_until socket_ready; then
        echo "error: pcscd did not create $PCSCD_SOCKET within ${TIMEOUT}s" >&2
        exit 1
    fi
    if ! wait_until readers_ready; then
        echo "error: pcscd is up but does not list \"$VPCD_READER\" after ${TIMEOUT}s." >&2
        echo "       Is vpcd configured (/etc/reader.conf.d/vpcd from vsmartcard-vpcd)? Readers listed:" >&2
        print_readers >&2
        exit 1
    fi
    echo "==> pcscd ready; readers:"
    print_readers
    echo "    (vpcd listens on 127.0.0.1:35963 + slot; start the simulator with: sealsim serve --vpcd)"
}

cmd_stop() {
    if ! pcscd_running; then
        echo "==> pcscd is not running"
        return 0
    fi
    local pids
    if [ -s "$PCSCD_PIDFILE" ] && kill -0 "$(tr -d '\0' < "$PCSCD_PIDFILE")" 2>/dev/null; then
        pids="$(tr -d '\0' < "$PCSCD_PIDFILE")"
    else
        pids="$(pcscd_pids)"
    fi
    echo "==> stopping pcscd (pid $(echo $pids))"
    # shellcheck disable=SC2086  # one argument per pid
    as_root kill $pids
    if ! wait_until pcscd_stopped; then
        echo "error: pcscd still running after ${TIMEOUT}s" >&2
        exit 1
    fi
}

pcscd_stopped() { ! pcscd_running; }

cmd_status() {
    if ! pcscd_running; then
        echo "pcscd: not running"
        return 1
    fi
    echo "pcscd: running (pid $(pcscd_pids | tr '\n' ' ' | sed 's/ $//'))"
    if ! socket_ready; then
        echo "socket: $PCSCD_SOCKET missing"
        return 1
    fi
    echo "socket: $PCSCD_SOCKET"
    echo "readers:"
    print_readers
    readers_ready
}

case "${1:-start}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    -h|--help|help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' ;;
    *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
