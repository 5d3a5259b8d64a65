#!/usr/bin/env bash
# Runs the whole test suite, installing what is missing first (system libraries, weights).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash scripts/bootstrap.sh
swift build --build-tests
swift test --skip-build "$@"
