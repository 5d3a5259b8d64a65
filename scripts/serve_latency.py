#!/usr/bin/env python3
"""Latency of a running `txn serve` while it synthesises: a bounded load test, loopback only.

Starts a Gatys job, waits until it iterates, opens N event streams (time to their first event),
then loads the page, script, style, API and an image R times each (one connection per request),
and prints the 50th/95th percentiles and the maximum. Stops the job at the end.

    .build/release/txn serve --port 5055 &
    python3 scripts/serve_latency.py --port 5055 --streams 50 --rounds 50 --size 256
"""
import argparse, json, socket, sys, time

def request(port, method, path, body=b"", timeout=10.0):
    start = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    s.sendall(head.encode() + b"\r\n" + body)
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1], time.perf_counter() - start

def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, -(-len(v) * p // 100) - 1))]

def main():
    a = argparse.ArgumentParser()
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--streams", type=int, default=50)
    a.add_argument("--rounds", type=int, default=50)
    a.add_argument("--size", type=int, default=256)
    a.add_argument("--source", default="gravel")
    a.add_argument("--interval", type=float, default=0.02, help="seconds between requests (spreads them over the run)")
    args = a.parse_args()
    if not (1 <= args.streams <= 200 and 1 <= args.rounds <= 500 and 0 <= args.interval <= 1):
        sys.exit("streams must be 1-200, rounds 1-500 and interval 0-1 s (a bounded test)")
    body = json.dumps({"method": "gatys", "source": args.source, "size": args.size, "steps": 5000}).encode()
    status, reply, _ = request(args.port, "POST", "/api/jobs", body)
    assert status == 201, reply
    job = json.loads(reply)["id"]

    def iteration():
        _, r, _ = request(args.port, "GET", f"/api/jobs/{job}")
        return json.loads(r).get("progress", {}).get("iteration", 0)

    deadline = time.time() + 120
    while iteration() < 2 and time.time() < deadline:
        time.sleep(0.1)
    before = iteration()
    streams, first_event = [], []
    for _ in range(args.streams):
        start = time.perf_counter()
        s = socket.create_connection(("127.0.0.1", args.port), timeout=10)
        s.sendall(f"GET /api/jobs/{job}/events HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n\r\n".encode())
        data = b""
        while b"event: state" not in data:
            data += s.recv(65536)
        first_event.append(time.perf_counter() - start)
        streams.append(s)
    latency = []
    paths = ["/", "/app.js", "/app.css", "/api/sources", f"/api/jobs/{job}", f"/api/sources/{args.source}/image"]
    for _ in range(args.rounds):
        for path in paths:
            status, _, seconds = request(args.port, "GET", path)
            assert status == 200, (path, status)
            latency.append(seconds)
            time.sleep(args.interval)
    after = iteration()
    request(args.port, "POST", f"/api/jobs/{job}/stop")
    for s in streams:
        s.close()
    ms = lambda v: f"{v * 1000:.1f} ms"
    print(f"{len(latency)} requests during a {args.size}x{args.size} synthesis (iterations {before}->{after}): "
          f"p50 {ms(pct(latency, 50))}, p95 {ms(pct(latency, 95))}, max {ms(max(latency))}")
    print(f"{args.streams} event streams, time to the first event: p50 {ms(pct(first_event, 50))}, "
          f"p95 {ms(pct(first_event, 95))}, max {ms(max(first_event))}")

main()
