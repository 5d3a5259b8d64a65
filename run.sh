#!/usr/bin/env bash
# The main command: prepares a fresh machine (apt packages, weights), builds txn in release mode, and
# runs Notebooks/gatys.txn end to end on the shipped texture. Writes out/gatys_result.png and the
# rendered notebook out/gatys.html. Extra arguments go to txn, e.g. ./run.sh --set size=128.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash scripts/bootstrap.sh
swift build -c release --product txn
mkdir -p out
.build/release/txn Notebooks/gatys.txn --outdir out --report out/gatys.html "$@"
echo
echo "texture:  $(pwd)/out/gatys_result.png"
echo "notebook: $(pwd)/out/gatys.html"
