#!/usr/bin/env bash
# Manual end-to-end check of LineEditor on a real pseudo-terminal (tmux). Not run by `swift test`.
#
#   bash Tests/txnTests/pty/line_editor_pty.sh [work-dir]
#
# Builds a throwaway package (in work-dir, default /tmp/txn-le-harness) that depends on this txn checkout by path, with a
# copy of the program's LineEditor.swift (it lives in the executable, which no package can import), and runs a mini
# REPL on it, then drives it with tmux send-keys and prints what the screen shows after each step.
# Read README.md beside this file for what to expect.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
work="${1:-/tmp/txn-le-harness}"
command -v tmux >/dev/null || { echo "needs tmux (apt-get install -y tmux)"; exit 1; }

mkdir -p "$work/Sources/LEHarness" "$work/Sources/CLibEdit"
cp "$repo/Sources/txn/LineEditor.swift" "$work/Sources/LEHarness/"
cp "$repo/Sources/CLibEdit/"* "$work/Sources/CLibEdit/"
cat > "$work/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription
let package = Package(
    name: "LEHarness",
    dependencies: [.package(name: "txn", path: "$repo")],
    targets: [.systemLibrary(name: "CLibEdit", pkgConfig: "libedit"),
              .executableTarget(name: "LEHarness", dependencies: ["CLibEdit", .product(name: "TxnNotebook", package: "txn"),
                                                                 .product(name: "TxnFiles", package: "txn"),
                                                                 .product(name: "TxnTensor", package: "txn")])],
    swiftLanguageModes: [.v5]
)
SWIFT
cat > "$work/Sources/LEHarness/main.swift" <<'SWIFT'
import Foundation
import TxnNotebook

// Like the REPL: a SIGINT handler that only sets a flag, installed without SA_RESTART.
nonisolated(unsafe) var sigintCount: Int32 = 0
var action = sigaction()
action.__sigaction_handler.sa_handler = { _ in sigintCount += 1 }
sigemptyset(&action.sa_mask)
action.sa_flags = 0
sigaction(SIGINT, &action, nil)

let historyPath = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "/tmp/txn-le-harness.history"
let editor = LineEditor(program: "le-harness", historyFile: historyPath)
let words = ["load", "loss", "layers", "save", "synth", "synthesize", "size=", "data/", "gravel.png", "grass.png"]
editor.completer = { line, cursor in
    let characters = Array(line)
    var start = cursor
    while start > 0, !characters[start - 1].isWhitespace { start -= 1 }
    let word = String(characters[start..<cursor])
    return (start, words.filter { $0.hasPrefix(word) })
}
while true {
    switch editor.readLine(prompt: "\u{1B}[1;34mtxn>\u{1B}[0m ") {
    case .line(let line):
        print("LINE [\(line)]" + (sigintCount > 0 ? " (sigint handler calls: \(sigintCount))" : ""))
        editor.addHistory(line)
        if line == "busy" {  // a "computation": Ctrl-C now must reach the process's SIGINT handler
            let before = sigintCount
            for _ in 0..<30 where sigintCount == before { usleep(100_000) }
            print(sigintCount > before ? "BUSY INTERRUPTED BY SIGINT" : "BUSY DONE")
        }
    case .interrupted:
        print("INTERRUPTED (sigint handler calls: \(sigintCount))")
    case .endOfFile:
        print("EOF")
        exit(0)
    }
}
SWIFT

echo "== building harness in $work"
(cd "$work" && swift build 2>&1 | tail -2)
bin="$work/.build/debug/LEHarness"
hist="$work/history"
rm -f "$hist"
session="txn-le-$$"

step() {  # step "description" keys...
    local what="$1"; shift
    tmux send-keys -t "$session" "$@"
    sleep 0.6
    echo "---- $what"
    screen | tail -n "${LINES_PER_STEP:-3}"
}
screen() { tmux capture-pane -p -t "$session" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'; }
start() {
    tmux new-session -d -s "$session" -x 80 -y 24 "env TERM=xterm-256color LANG=C.UTF-8 '$bin' '$hist'; echo '[exited]'; sleep 30"
    sleep 1
}

start
step "type a line" 'load "gravel.png" size=256' Enter
step "second line, UTF-8" 'print "héllo ✓"' Enter
step "Up twice recalls the first line" Up Up
step "Ctrl-A, insert at start, Ctrl-E, append" C-a 'x = ' C-e ' seed=1' Enter
step "Tab on a unique prefix completes it plus a space" 'lay' Tab
step "Ctrl-C abandons the line, fresh prompt" C-c
step "Tab on 'sy': common prefix 'synth' inserted" 'sy' Tab
step "second Tab lists the candidates" Tab
step "'s' then Tab Tab: list in columns" C-u 's' Tab Tab
step "Ctrl-C mid-line with the cursor moved left" C-u 'abc def' C-a C-f C-c
kill -INT "$(pgrep -n -x LEHarness)"; sleep 0.3
step "SIGINT from outside while at the prompt: handler runs, the prompt keeps reading" 'abc' Enter
step "'size' Tab completes 'size=' without a space" 'size' Tab
step "Ctrl-R searches history" C-u C-r 'héllo'
step "Enter accepts the found line" Enter
step "Ctrl-C during a computation raises SIGINT as usual" 'busy' Enter
sleep 0.5; tmux send-keys -t "$session" C-c; sleep 3.5
echo "---- (after busy)"; screen | tail -n 3
step "Ctrl-D on a non-empty line does nothing" 'abc' C-d
step "Ctrl-D on an empty line ends" C-u C-d
echo "==== whole screen of the first session"
screen
tmux kill-session -t "$session"

echo "==== history file"
cat "$hist"

start
step "second session: Up recalls the last line of the first session" Up
step "Up again" Up
tmux send-keys -t "$session" C-u C-d
sleep 0.5
tmux kill-session -t "$session" 2>/dev/null || true
