"""What the agent benches share: the server's API key, a free port, an
authenticated API call and a polling wait. Imported by footprint.py and
restart.py (run from this folder's scripts, so it is on sys.path)."""

import socket
import sys
import time
import urllib.request

KEY = "bench-key-0123456789abcdef"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
    req.add_header("Authorization", f"Bearer {KEY}")
    with urllib.request.urlopen(req, timeout=30) as answer:
        return answer.read()


def wait_for(what, check, timeout=60.0, every=0.05):
    """Polls `check` until it returns something true (returned), or exits
    naming `what` after `timeout` seconds. Errors count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception:
            pass
        time.sleep(every)
    sys.exit(f"timed out waiting for {what}")
