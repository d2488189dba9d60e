#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (docs/fuzzing.md), one at a time: a fuzzer build of the
# whole package fails on the executables, so each target is its own product, built with
# `--sanitize=fuzzer` into .build-fuzz (kept apart from the normal .build).
#
#   scripts/fuzz.sh                     every target for 15 s (the CI variant, scripts/test.sh)
#   scripts/fuzz.sh --seconds N         every target for N seconds
#   scripts/fuzz.sh --runs N            every target for N executions (the long run: --runs 1000000)
#   scripts/fuzz.sh --target FuzzAPDU   only the named target (repeatable)
#   scripts/fuzz.sh --crashes DIR       where crashing inputs go (default .build-fuzz/crashes)
#
# Each target starts from its committed seed corpus (Fixtures/fuzz/<Target>/, read-only here) and
# keeps what it finds in .build-fuzz/corpus/<Target>/. The table at the end gives executions,
# exec/s, coverage (libFuzzer's `cov:` edges and `ft:` features) and corpus size per target.
# Exits 1 when any target crashed or broke an invariant; the input is in the crashes folder and
# replays with `.build-fuzz/release/<Target> <file>` (or the plain-build replay driver,
# `swift run <Target> <file>`).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_swift
cd "$(repo_root)"

all_targets=(FuzzAPDU FuzzBERTLV FuzzChipAPDU FuzzVPCDFrame FuzzCCID FuzzUSBIP FuzzStampRecord FuzzSealEncodings)
targets=()
seconds=15
runs=""
scratch=.build-fuzz
crashes="$scratch/crashes"
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; runs=""; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --target) targets+=("$2"); shift 2 ;;
        --crashes) crashes="$2"; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
    [ -d "Fixtures/fuzz/$target" ] || { echo "fuzz.sh: no target $target (have: ${all_targets[*]})" >&2; exit 64; }
done
mkdir -p "$crashes" "$scratch/logs"

if [ -n "$runs" ]; then limit=(-runs="$runs"); else limit=(-max_total_time="$seconds"); fi

summary=()
failed=0
for target in "${targets[@]}"; do
    build_start=$(date +%s)
    swift build -c release --sanitize=fuzzer -Xswiftc -DSEALKIT_FUZZING --product "$target" \
        --scratch-path "$scratch" 2>&1 | grep -E "error|warning: .*Sources/Fuzz" || true
    binary="$scratch/release/$target"
    [ -x "$binary" ] || { echo "fuzz.sh: building $target failed" >&2; exit 1; }
    build_seconds=$(( $(date +%s) - build_start ))

    corpus="$scratch/corpus/$target"
    log="$scratch/logs/$target.log"
    mkdir -p "$corpus"
    run_start=$(date +%s)
    status=0
    "$binary" "${limit[@]}" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -artifact_prefix="$crashes/$target-" "$corpus" "Fixtures/fuzz/$target" >"$log" 2>&1 || status=$?
    run_seconds=$(( $(date +%s) - run_start ))

    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    units=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
    result=ok
    if [ "$status" -ne 0 ]; then
        result="CRASH (exit $status)"
        failed=1
        echo "== $target: crash or broken invariant; log $log" >&2
        grep -E "invariant broken|Fatal error|ERROR: libFuzzer|SUMMARY|Test unit written" "$log" | head -8 >&2
    fi
    line=$(printf '%-18s %12s %8s %6s %7s %6s %6ss %6ss  %s' "$target" "${executions:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "${units:-?}" "$run_seconds" "$build_seconds" "$result")
    echo "$line"
    summary+=("$line")
done

echo
printf '%-18s %12s %8s %6s %7s %6s %7s %7s  %s\n' target executions exec/s cov ft corpus run build result
printf '%s\n' "${summary[@]}"
[ "$failed" -eq 0 ] || echo "fuzz.sh: crashing inputs are in $crashes" >&2
exit "$failed"
