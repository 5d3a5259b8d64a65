#!/usr/bin/env python3
"""Issue 19's attacks on `txn serve`, on loopback only, bounded in count and time: the page's latency during each.

Starts `txn serve --port 0` over a fresh data folder, then, one after another:
  baseline      nothing else going on
  half-heads    N connections that send half a request head and wait (the idle timeout closes them)
  resets        R event-stream requests for a finished job, each reset (RST) right after it is sent
  scan-bombs    B clients uploading a 4000x4000 progressive JPEG of 10,000 scans, again and again
  big-uploads   U clients at once uploading a 19 MB PNG
and, during each, loads the page (GET /, a new connection each, 20 ms apart) and prints its p50/p95/max, with the
server's resident memory (VmRSS) before and after. Needs only the Python standard library.

    swift build -c release
    python3 scripts/load_test.py --txn .build/release/txn
"""
import argparse, json, os, random, re, resource, socket, struct, subprocess, sys, tempfile, threading, time, zlib

HOST = "127.0.0.1"


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, -(-len(v) * p // 100) - 1))] if v else float("nan")


def request(port, method, path, body=b"", headers=(), timeout=60.0):
    """One request on a new connection; (status, body, seconds). Status 0: no answer (timeout, reset)."""
    start = time.perf_counter()
    try:
        s = socket.create_connection((HOST, port), timeout=timeout)
        head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n"
        for h in headers:
            head += h + "\r\n"
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        try:
            s.sendall(head.encode() + b"\r\n" + body)
        except OSError:
            pass  # a server may answer (503, 413) and close before the body is all sent: read what it said
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
        s.close()
        status = int(data.split(b" ", 2)[1])
        return status, data.split(b"\r\n\r\n", 1)[1], time.perf_counter() - start
    except (OSError, ValueError, IndexError):
        return 0, b"", time.perf_counter() - start


def page_latencies(port, count, interval=0.02):
    """GET / `count` times, a new connection each; seconds of the answered ones, and how many were not answered."""
    seconds, failed = [], 0
    for _ in range(count):
        status, _, t = request(port, "GET", "/", timeout=30)
        if status == 200:
            seconds.append(t)
        else:
            failed += 1
        time.sleep(interval)
    return seconds, failed


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# A hostile progressive JPEG made byte by byte: a flat grey image (all coefficients zero, so each scan is a few bytes
# of end-of-band runs) followed by the same AC refinement scan again and again (Tests/TxnTestSupport/ScanBombJPEG.swift
# makes the same file for the tests).
def scan_bomb(width, height, scans):
    def segment(marker, payload):
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + bytes(payload)

    def bits_to_bytes(bits):
        bits += "1" * (-len(bits) % 8)
        out = bytearray()
        for i in range(0, len(bits), 8):
            b = int(bits[i:i + 8], 2)
            out.append(b)
            if b == 0xFF:
                out.append(0)
        return bytes(out)

    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    runs, left = "", blocks
    while left > 0:
        run = max(16384, min(left, 32767))
        runs += "0" + format(run - 16384, "014b")
        left -= run
    runs = bits_to_bytes(runs)
    one_code = [1] + [0] * 15
    out = b"\xFF\xD8" + segment(0xDB, [0] + [1] * 64)
    out += segment(0xC2, [8, height >> 8, height & 0xFF, width >> 8, width & 0xFF, 1, 1, 0x11, 0])
    out += segment(0xC4, [0x00] + one_code + [0x00]) + segment(0xC4, [0x10] + one_code + [0xE0])
    out += segment(0xDA, [1, 1, 0, 0, 0, 0x00]) + bits_to_bytes("0" * blocks)
    out += segment(0xDA, [1, 1, 0, 1, 63, 0x00]) + runs
    out += (segment(0xDA, [1, 1, 0, 1, 63, 0x10]) + runs) * (scans - 2)
    return out + b"\xFF\xD9"


def big_png(width, height, seed=1):
    """An RGBA PNG of random (incompressible) pixels, stored with zlib level 0: about width*height*4 bytes."""
    rng = random.Random(seed)
    row = width * 4
    raw = b"".join(b"\x00" + rng.randbytes(row) for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b""))


def during(port, pid, name, attack, rounds, results):
    """Runs `attack()` (which returns a summary string) in a thread while the page is loaded `rounds` times."""
    before = rss_mib(pid)
    summary = {}
    thread = threading.Thread(target=lambda: summary.setdefault("text", attack()))
    thread.start()
    time.sleep(0.3)  # the attack under way
    seconds, failed = page_latencies(port, rounds)
    thread.join(timeout=300)
    time.sleep(0.5)
    after = rss_mib(pid)
    row = (name, len(seconds), failed, pct(seconds, 50) * 1e3, pct(seconds, 95) * 1e3, max(seconds, default=float("nan")) * 1e3,
           before, after, summary.get("text", "(still running)"))
    results.append(row)
    print(f"{name:12} page p50 {row[3]:7.1f} ms  p95 {row[4]:7.1f} ms  max {row[5]:7.1f} ms  unanswered {failed:3}  "
          f"RSS {before:6.0f} -> {after:6.0f} MiB  {row[8]}", flush=True)


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--txn", required=True, help="the txn binary (a release build)")
    a.add_argument("--rounds", type=int, default=100, help="page loads during each attack")
    a.add_argument("--half-heads", type=int, default=3000)
    a.add_argument("--resets", type=int, default=1000)
    a.add_argument("--bombs", type=int, default=2, help="clients uploading the scan bomb at once")
    a.add_argument("--bomb-seconds", type=float, default=10)
    a.add_argument("--big-uploads", type=int, default=40)
    args = a.parse_args()
    if not (1 <= args.rounds <= 1000 and 0 <= args.half_heads <= 20000 and 0 <= args.resets <= 5000
            and 0 <= args.bombs <= 16 and 0 < args.bomb_seconds <= 60 and 0 <= args.big_uploads <= 200):
        sys.exit("rounds 1-1000, half-heads 0-20000, resets 0-5000, bombs 0-16, bomb-seconds 0-60, big-uploads 0-200 "
                 "(a bounded test)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    half_heads = min(args.half_heads, hard - 500)

    data = tempfile.mkdtemp(prefix="txn-load-")
    server = subprocess.Popen([args.txn, "serve", "--port", "0", "--data", data], stdout=subprocess.PIPE, text=True)
    try:
        port = None
        for _ in range(10):
            line = server.stdout.readline()
            print("server:", line.rstrip())
            m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            if m:
                port = int(m.group(1))
            if port and ("data in" in line or "uploads in" in line):
                break
        assert port, "the server printed no URL"
        pid = server.pid
        print(f"descriptor limit {hard}; half-head connections {half_heads}; CPU: "
              + next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
              + f", {os.cpu_count()} cores", flush=True)
        results = []
        during(port, pid, "baseline", lambda: "", args.rounds, results)

        def half_head_attack():
            held, refused = [], 0
            for _ in range(half_heads):
                try:
                    s = socket.create_connection((HOST, port), timeout=5)
                    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                    held.append(s)
                except OSError:
                    refused += 1
            opened = time.time()
            time.sleep(2.5)  # the page is loaded meanwhile
            closed = 0
            for s in held:
                s.settimeout(max(0.01, opened + 25 - time.time()))
                try:
                    if s.recv(1) == b"":
                        closed += 1
                except ConnectionResetError:
                    closed += 1
                except OSError:
                    pass
                s.close()
            return f"{len(held)} held, {refused} not connected, {closed} closed by the server within 25 s"
        during(port, pid, "half-heads", half_head_attack, args.rounds, results)

        body = json.dumps({"method": "gatys", "source": "gravel", "size": 16, "steps": 1}).encode()
        status, reply, _ = request(port, "POST", "/api/jobs", body, ["Content-Type: application/json"])
        job = json.loads(reply)["id"] if status == 201 else None
        for _ in range(600):
            if job is None or json.loads(request(port, "GET", f"/api/jobs/{job}")[1]).get("status") in ("done", "error", "stopped"):
                break
            time.sleep(0.1)

        def reset_attack():
            if job is None:
                return "no job (the model is missing?)"
            for _ in range(args.resets):
                s = socket.create_connection((HOST, port), timeout=5)
                s.sendall(f"GET /api/jobs/{job}/events HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            time.sleep(1)
            status, stream, _ = request(port, "GET", f"/api/jobs/{job}/events", timeout=10)
            return f"{args.resets} resets; a stream afterwards: {status}, {stream.count(b'event:')} events"
        during(port, pid, "resets", reset_attack, args.rounds, results)

        bomb = scan_bomb(4000, 4000, 10000)

        def bomb_attack():
            outcomes, lock = {}, threading.Lock()
            stop = time.time() + args.bomb_seconds

            def client():
                while time.time() < stop:
                    status, _, t = request(port, "POST", "/api/sources", bomb, ["Content-Type: image/jpeg"])
                    with lock:
                        outcomes.setdefault(status, []).append(t)
                    if status == 503:
                        time.sleep(0.2)
            threads = [threading.Thread(target=client) for _ in range(args.bombs)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return f"{len(bomb) // 1024} KB bomb x {args.bombs} clients: " + ", ".join(
                f"{n} x {s} (median {pct(ts, 50):.2f} s)" for s, ts in sorted(outcomes.items()) for n in [len(ts)])
        during(port, pid, "scan-bombs", bomb_attack, args.rounds, results)

        big = big_png(2200, 2200)

        def big_attack():
            outcomes, lock = {}, threading.Lock()

            def client():
                status, _, _ = request(port, "POST", "/api/sources", big, ["Content-Type: image/png"], timeout=120)
                with lock:
                    outcomes[status] = outcomes.get(status, 0) + 1
            threads = [threading.Thread(target=client) for _ in range(args.big_uploads)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return f"{len(big) / 2**20:.1f} MB x {args.big_uploads} at once: " + ", ".join(f"{n} x {s}" for s, n in sorted(outcomes.items()))
        during(port, pid, "big-uploads", big_attack, args.rounds, results)

        print("\n| attack | page p50 | page p95 | max | unanswered | server RSS before → after | what happened |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, _, failed, p50, p95, mx, before, after, text in results:
            print(f"| {name} | {p50:.1f} ms | {p95:.1f} ms | {mx:.1f} ms | {failed} | {before:.0f} → {after:.0f} MiB | {text} |")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
