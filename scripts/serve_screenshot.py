#!/usr/bin/env python3
"""Screenshot of a page that keeps an event stream open (so `chromium --screenshot` cannot wait for
it): drives headless Chromium over the DevTools pipe, waits, captures. Used for docs/serve.png.

    python3 scripts/serve_screenshot.py http://127.0.0.1:5055/ docs/serve.png --wait 3
"""
import argparse, base64, json, os, subprocess, sys, tempfile, time

a = argparse.ArgumentParser()
a.add_argument("url")
a.add_argument("output")
a.add_argument("--wait", type=float, default=3.0)
a.add_argument("--width", type=int, default=1400)
a.add_argument("--height", type=int, default=1250)
args = a.parse_args()

to_browser_r, to_browser_w = os.pipe()
from_browser_r, from_browser_w = os.pipe()
profile = tempfile.mkdtemp(prefix="txn-shot-")
browser = subprocess.Popen(
    ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
     f"--user-data-dir={profile}", f"--window-size={args.width},{args.height}", "--remote-debugging-pipe", "about:blank"],
    pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    preexec_fn=lambda: (os.dup2(to_browser_r, 3), os.dup2(from_browser_w, 4)))
os.close(to_browser_r); os.close(from_browser_w)
buffer, next_id = b"", 0

def call(method, params=None, session=None, timeout=30):
    global buffer, next_id
    next_id += 1
    message = {"id": next_id, "method": method, "params": params or {}}
    if session: message["sessionId"] = session
    os.write(to_browser_w, json.dumps(message).encode() + b"\0")
    deadline = time.time() + timeout
    while time.time() < deadline:
        while b"\0" in buffer:
            raw, buffer = buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == next_id:
                if "error" in reply: sys.exit(f"{method}: {reply['error']}")
                return reply["result"]
        buffer += os.read(from_browser_r, 1 << 20)
    sys.exit(f"{method}: no answer in {timeout} s")

try:
    target = call("Target.createTarget", {"url": args.url})["targetId"]
    session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    time.sleep(args.wait)
    shot = call("Page.captureScreenshot", {"format": "png"}, session)
    open(args.output, "wb").write(base64.b64decode(shot["data"]))
    print(f"wrote {args.output}")
finally:
    browser.kill()
    browser.wait()
