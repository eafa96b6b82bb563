#!/usr/bin/env bash
# Instruction counts of the hot paths, repeatable whatever the machine's load: each example run
# under `valgrind --tool=callgrind` with N and with 1 (or 0) iterations, the difference over the
# iterations' difference. The figures of benches/README.md come from here.
#
#   bash benches/instructions.sh [TARGET_DIR]
#
# TARGET_DIR is a cargo target directory whose release examples are built
# (`cargo build --release -p keyward-benches --examples` and `-p keyward-cli`); the default is
# $CARGO_TARGET_DIR or target. Give an older commit's own target directory to compare.
set -euo pipefail
target=${1:-${CARGO_TARGET_DIR:-target}}
examples=$target/release/examples
keyward=$target/release/keyward
command -v valgrind > /dev/null || { echo "valgrind is needed" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The instructions of one run: the whole process, or with --server the sum of its third and
# later threads (serve_requests: the server's worker, audit writer and blocking pool).
instructions() {
    local out=$work/cg.out
    if [[ $1 == --server ]]; then
        shift
        valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out" "$@" > /dev/null 2>&1
        local total=0 file
        for file in "$out"-*; do
            case $file in *-01 | *-02) continue ;; esac
            total=$((total + $(awk '/^(summary|totals):/ {print $2; exit}' "$file")))
        done
        rm -f "$out"-*
        echo "$total"
    else
        valgrind --tool=callgrind --callgrind-out-file="$out" "$@" 2> "$work/err" > /dev/null
        awk '/I +refs:/ {gsub(",", "", $NF); print $NF}' "$work/err"
    fi
}

# per WHAT N M COMMAND...: (count at N - count at M) / (N - M), COMMAND given N or M as {}.
per() {
    local what=$1 n=$2 m=$3
    shift 3
    local server="" args_n=() args_m=() a
    if [[ $1 == --server ]]; then server=--server; shift; fi
    for a in "$@"; do args_n+=("${a//\{\}/$n}"); args_m+=("${a//\{\}/$m}"); done
    local high low
    high=$(instructions $server "${args_n[@]}")
    low=$(instructions $server "${args_m[@]}")
    printf '%-58s %12s\n' "$what" "$(( (high - low) / (n - m) ))"
}

batch_dir=$work/batch
"$examples/batch_input" "$batch_dir" > /dev/null
for f in mixed console console-refs; do
    head -n 2000 "$batch_dir/$f.jsonl" > "$batch_dir/$f-2000.jsonl"
    : > "$batch_dir/$f-0.jsonl"
done

echo "instructions per iteration ($target)"
for case in a b c; do
    per "decision ($case), verdict" 10001 1 "$examples/decision_loop" {} "$case"
done
per "request context of case (b)" 1001 1 "$examples/context_loop" {}
per "gated Encrypt and gated Decrypt, one of each" 2001 1 "$examples/gated_calls" {}
per "2 KB key policy parsed, validated, compiled" 2000 0 "$examples/compile_loop" {}
per "lint of the 2.5 KB policy, every rule" 21 1 "$examples/lint_loop" {}
per "diff of the two 2.5 KB policies" 21 1 "$examples/diff_latency" {}
per "4 KiB Encrypt+Decrypt round trip (kms)" 4000 0 "$examples/crypto_loop" {} kms
per "4 KiB raw AES-256-GCM seal+open (its baseline)" 4000 0 "$examples/crypto_loop" {} raw
for f in mixed console; do
    per "batch, a line of $f.jsonl" 2000 0 "$keyward" authorize --batch "$batch_dir/$f-{}.jsonl"
    per "  its parse-only floor" 2000 0 "$examples/batch_parse_only" "$batch_dir/$f-{}.jsonl"
done
policies=$batch_dir/policies.json
per "batch, a line of console-refs.jsonl (--policies)" 2000 0 \
    "$keyward" authorize --batch "$batch_dir/console-refs-{}.jsonl" --policies "$policies"
per "  its parse-only floor" 2000 0 \
    "$examples/batch_parse_only" "$batch_dir/console-refs-{}.jsonl" "$policies"
per "server: signed Encrypt (HTTP, SigV4, decision, AES-GCM, audit)" 2001 1 \
    --server "$examples/serve_requests" {} signed
per "server: the same Encrypt unsigned, refused (the floor)" 2001 1 \
    --server "$examples/serve_requests" {} unsigned
