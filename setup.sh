#!/usr/bin/env bash
# One-time set-up: system libraries, weights, and a release build of txn (.build/release/txn).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash scripts/bootstrap.sh
swift build -c release --product txn
echo "setup: done; run .build/release/txn --help"
