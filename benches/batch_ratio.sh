#!/usr/bin/env bash
# The batch's time against its parse-only floor, in the same run: ROUNDS alternating runs of
# each given `keyward` binary and of `examples/batch_parse_only` over FILE, each timed by wall
# clock and by `perf stat -e task-clock` (CPU), medians. The figures of benches/README.md's
# batch table come from here.
#
#   bash benches/batch_ratio.sh ROUNDS DATA_DIR FILE KEYWARD...
#
# DATA_DIR holds the files `examples/batch_input DATA_DIR` writes; FILE is `mixed`, `console` or
# `console-refs` (run with `--policies DATA_DIR/policies.json`). Give several KEYWARD binaries
# (another commit's build, say) to compare them in the same rounds. The floor is taken from
# $CARGO_TARGET_DIR (or target)/release/examples.
set -euo pipefail
[[ $# -ge 4 ]] || { sed -n '2,12p' "$0" >&2; exit 2; }
rounds=$1 data=$2 file=$3
shift 3
examples=${CARGO_TARGET_DIR:-target}/release/examples
command -v perf > /dev/null || { echo "perf is needed" >&2; exit 2; }
extra=() floor_extra=()
if [[ $file == console-refs ]]; then
    extra=(--policies "$data/policies.json")
    floor_extra=("$data/policies.json")
fi
declare -A wall cpu
for _ in $(seq "$rounds"); do
    for bin in "$@" floor; do
        if [[ $bin == floor ]]; then
            command=("$examples/batch_parse_only" "$data/$file.jsonl" "${floor_extra[@]}")
        else
            command=("$bin" authorize --batch "$data/$file.jsonl" "${extra[@]}")
        fi
        start=$(date +%s%N)
        ms=$(perf stat -e task-clock -x, "${command[@]}" 2>&1 > /dev/null |
            awk -F, '/task-clock/ {print int($1)}')
        wall[$bin]+="$(( ($(date +%s%N) - start) / 1000000 )) "
        cpu[$bin]+="$ms "
    done
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
# shellcheck disable=SC2086 # the lists are split on purpose
floor_wall=$(median ${wall[floor]}) floor_cpu=$(median ${cpu[floor]})
for bin in "$@" floor; do
    # shellcheck disable=SC2086
    w=$(median ${wall[$bin]}) c=$(median ${cpu[$bin]})
    printf '%s %s: wall %s ms (%.2fx the floor), CPU %s ms (%.2fx)\n' "$file" "$bin" "$w" \
        "$(echo "$w / $floor_wall" | bc -l)" "$c" "$(echo "$c / $floor_cpu" | bc -l)"
done
