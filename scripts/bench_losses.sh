#!/usr/bin/env bash
# Gram against sliced Wasserstein at equal wall time: every texture in Notebooks/data at 256x256, one
# process per run, release build. Prints one row per run: texture, loss, optimiser, iterations,
# evaluations, seconds, s/iteration, s/evaluation, Gram loss and SW distance of the result to the source.
# Usage: scripts/bench_losses.sh [SECONDS] [OUTDIR]   (run it under the shared build lock)
# RUNS="gram:lbfgs:1 sw:lbfgs:4" and TEXTURES="Notebooks/data/gravel.png" choose other runs (loss:optimiser:redraw);
# EXTRA="--sw-weight 0.02 --projections 32" adds options to every run; TXN=path runs another build of txn (A/B).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-40}
out=${2:-/tmp/txn-bench-losses}
mkdir -p "$out"
txn=${TXN:-.build/release/txn}
runs=${RUNS:-"gram:lbfgs:1 sw:adam:1 sw:lbfgs:1"}
printf "%-8s %-8s %-6s %6s %6s %6s %7s %8s %8s %12s %10s\n" texture loss opt redraw iters evals seconds s/iter s/eval gram_loss sw_dist
for tex in ${TEXTURES:-Notebooks/data/*.png}; do
    name=$(basename "$tex" .png)
    for run in $runs; do
        IFS=: read -r loss opt redraw <<< "$run"
        log="$out/${name}_${loss}_${opt}_${redraw}.log"
        "$txn" synth "$tex" --source-size 256 --size 256 --loss "$loss" --optimizer "$opt" --redraw "$redraw" --steps 100000 \
            --seconds "$seconds" --seed 1 --every 1000000 ${EXTRA:-} -o "$out/${name}_${loss}_${opt}_${redraw}.png" > "$log"
        awk -v t="$name" -v l="$loss" -v o="$opt" -v r="$redraw" '
            /^wrote/ { for (i = 1; i <= NF; i++) { if ($i == "after") it = $(i+1); if ($i == "iterations,") ev = $(i+1); if ($i == "s") s = $(i-1) } }
            /^distance/ { g = $6; sub(",", "", g); w = $9 }
            END { printf "%-8s %-8s %-6s %6d %6d %6d %7.1f %8.3f %8.3f %12s %10s\n", t, l, o, r, it, ev, s, s/it, s/ev, g, w }' "$log"
    done
done
