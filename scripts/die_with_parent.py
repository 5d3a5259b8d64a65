"""A benchmark child of txn dies with its parent: txn passes its pid in TXN_PARENT_PID; this asks Linux for
SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG) and exits at once if the parent is already gone. The same
rule as txn's own children (Sources/txn/ChildProcess.swift)."""
import ctypes, os, signal, sys

PR_SET_PDEATHSIG = 1


def die_with_parent():
    parent = os.environ.get("TXN_PARENT_PID")
    if parent is None or not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != int(parent):
        sys.exit(1)
    # This process's own children (one per size) check against it in turn.
    os.environ["TXN_PARENT_PID"] = str(os.getpid())
