"""What the HTTP test doubles share: listen addresses, one server thread per address, a JSON-lines
request log, and running until SIGTERM or SIGINT."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

# The emulator's rule for listen addresses (HOST:PORT, never all interfaces) holds for the doubles too.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "roles" / "sandbox" / "files"))
from aws_emulator import parse_address  # noqa: E402 pylint: disable=wrong-import-position

__all__ = ["RequestLog", "parse_address", "run", "serve"]


class RequestLog:
    """Appends one JSON object per line to a file (or nowhere); safe across threads."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def write(self, **entry):
        if not self.path:
            return
        line = json.dumps(dict(time=time.time(), **entry), sort_keys=True)
        with self.lock, open(self.path, "a", encoding="utf-8") as stream:
            stream.write(line + "\n")


def serve(addresses, handler):
    """Start one server thread per (host, port); return the servers (call .shutdown() to stop)."""
    servers = []
    for host, port in addresses:
        server = ThreadingHTTPServer((host, port), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    return servers


def run(addresses, handler, banner):
    """Serve on every address, print the banner (callers wait for it), and stop at SIGTERM or SIGINT."""
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    # Blocked before the server threads start, so they inherit it and only sigwait() sees the signal.
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    servers = serve(addresses, handler)
    print("%s on %s" % (banner, ", ".join("%s:%d" % server.server_address[:2] for server in servers)), flush=True)
    signal.sigwait(stop_signals)
    for server in servers:
        server.shutdown()
    return 0
