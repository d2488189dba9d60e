#!/usr/bin/env bash
# Counts the public declarations of every library target from the compiler's symbol graph, not by
# hand: `swift package dump-symbol-graph` (which builds first), then one row per target.
#
#   scripts/public-api.sh                      table: target, public, ext, spi, undocumented
#   scripts/public-api.sh --json               the same as JSON, with a count per symbol kind
#   scripts/public-api.sh --list TARGET        every public declaration of TARGET (kind, path, documented?)
#   scripts/public-api.sh --max FILE           exit 1 when a target has more public declarations than
#                                              FILE allows ("Target count" lines, # comments), or is
#                                              missing from FILE (a new target needs a budget too)
#   scripts/public-api.sh --require-docs       exit 1 when a public declaration has no doc comment
#   scripts/public-api.sh --no-build           read the symbol graphs of the last run as they are
#
# What is counted: every symbol of access level public or open in the target's own graph
# (types, cases, initializers, properties, methods, operators, type aliases, associated types),
# plus the symbols it declares in extensions of other modules' types (`Target@Other` graphs,
# column "ext", included in "public"). Not counted: members the compiler synthesizes or inherits
# from protocol default implementations (--skip-synthesized-members), `package` and internal
# declarations, and `@_spi` declarations, which are shown apart in column "spi". A declaration is
# documented when it has its own doc comment or implements a requirement of another module's
# protocol whose documentation it inherits (`description`, `==`, `hash(into:)`, ...).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mode=table
list_target=""
budget_file=""
require_docs=0
build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --json) mode=json ;;
        --list) mode=list; list_target="${2:?--list needs a target name}"; shift ;;
        --max) budget_file="${2:?--max needs a file}"; shift ;;
        --require-docs) require_docs=1 ;;
        --no-build) build=0 ;;
        -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown option '$1' (see --help)" >&2; exit 64 ;;
    esac
    shift
done
if [ -n "$budget_file" ]; then
    budget_file="$(cd "$(dirname "$budget_file")" && pwd)/$(basename "$budget_file")"
    [ -r "$budget_file" ] || { echo "error: cannot read budget file '$budget_file'" >&2; exit 64; }
fi

ensure_swift
cd "$(repo_root)"
graph_dir="$(swift build --show-bin-path)/../symbolgraph"
if [ "$build" -eq 1 ]; then
    ensure_build_deps
    log="$(mktemp)"
    trap 'rm -f "$log"' EXIT
    if ! swift package dump-symbol-graph --minimum-access-level public --skip-synthesized-members \
        --include-spi-symbols >"$log" 2>&1; then
        cat "$log" >&2
        echo "error: swift package dump-symbol-graph failed" >&2
        exit 1
    fi
    written="$(sed -n 's/^Files written to //p' "$log" | tail -1)"
    [ -n "$written" ] && graph_dir="$written"
fi
[ -d "$graph_dir" ] || { echo "error: no symbol graphs in $graph_dir (run without --no-build)" >&2; exit 1; }

targets="$(swift package describe --type json | python3 -c '
import json, sys
print(" ".join(sorted(t["name"] for t in json.load(sys.stdin)["targets"] if t["type"] == "library")))')"

python3 - "$graph_dir" "$mode" "$list_target" "$budget_file" "$require_docs" $targets <<'PY'
import collections, glob, json, os, sys

graph_dir, mode, list_target, budget_file, require_docs = sys.argv[1:6]
targets = sys.argv[6:]
PUBLIC = {"public", "open"}


def load(target):
    """Public and SPI symbols of `target`: its own graph plus its extensions of other modules."""
    own = os.path.join(graph_dir, f"{target}.symbols.json")
    if not os.path.exists(own):
        sys.exit(f"error: no symbol graph for {target} in {graph_dir}")
    rows = []
    for path in [own] + sorted(glob.glob(os.path.join(graph_dir, f"{target}@*.symbols.json"))):
        graph = json.load(open(path))
        extension = path != own
        for symbol in graph["symbols"]:
            if symbol.get("accessLevel") not in PUBLIC:
                continue
            doc = symbol.get("docComment")
            documented = bool(doc and any(line.get("text", "").strip() for line in doc.get("lines", [])))
            rows.append({
                "kind": symbol["kind"]["identifier"].removeprefix("swift."),
                "path": ".".join(symbol["pathComponents"]),
                "title": symbol["names"]["title"],
                "spi": bool(symbol.get("spi")),
                "extension": extension,
                "documented": documented,
            })
    return rows


report = {}
for target in targets:
    rows = load(target)
    public = [r for r in rows if not r["spi"]]
    report[target] = {
        "public": len(public),
        "extensions": sum(r["extension"] for r in public),
        "spi": sum(r["spi"] for r in rows),
        "undocumented": sum(not r["documented"] for r in public),
        "kinds": dict(sorted(collections.Counter(r["kind"] for r in public).items())),
        "_rows": rows,
    }

if mode == "list":
    if list_target not in report:
        sys.exit(f"error: '{list_target}' is not a library target ({', '.join(targets)})")
    for r in sorted(report[list_target]["_rows"], key=lambda r: (r["spi"], r["path"], r["kind"])):
        flags = ("spi " if r["spi"] else "") + ("" if r["documented"] else "undocumented")
        print(f"{r['kind']:<16} {r['path']}  {flags}".rstrip())
elif mode == "json":
    total = {k: sum(v[k] for v in report.values()) for k in ("public", "extensions", "spi", "undocumented")}
    print(json.dumps({"targets": {t: {k: v for k, v in r.items() if k != "_rows"} for t, r in report.items()},
                      "total": total}, indent=2))
else:
    print(f"{'target':<24}{'public':>8}{'ext':>6}{'spi':>6}{'undocumented':>14}")
    for target, r in report.items():
        print(f"{target:<24}{r['public']:>8}{r['extensions']:>6}{r['spi']:>6}{r['undocumented']:>14}")
    print(f"{'total':<24}{sum(r['public'] for r in report.values()):>8}"
          f"{sum(r['extensions'] for r in report.values()):>6}{sum(r['spi'] for r in report.values()):>6}"
          f"{sum(r['undocumented'] for r in report.values()):>14}")

failed = False
if budget_file:
    budget = {}
    for number, line in enumerate(open(budget_file), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            sys.exit(f"error: {budget_file}:{number}: expected 'Target count', got '{line}'")
        budget[parts[0]] = int(parts[1])
    for target, r in report.items():
        if target not in budget:
            print(f"error: {target} has {r['public']} public declarations and no budget in {budget_file}", file=sys.stderr)
            failed = True
        elif r["public"] > budget[target]:
            print(f"error: {target} has {r['public']} public declarations, over its budget of {budget[target]} "
                  f"({budget_file}); make the new ones package/internal or raise the budget on purpose", file=sys.stderr)
            failed = True
if require_docs == "1":
    for target, r in report.items():
        for row in r["_rows"]:
            if not row["spi"] and not row["documented"]:
                print(f"error: {target}: public {row['kind']} {row['path']} has no doc comment", file=sys.stderr)
                failed = True
sys.exit(1 if failed else 0)
PY
