"""The core the HTTP test doubles share: listen addresses, one server thread per address, a
JSON-lines request log, answering a request, forwarding one upstream, and running until SIGTERM or
SIGINT. Standard library only: a double starts in a blink."""

from __future__ import annotations

import http.client
import json
import signal
import sys
import threading
import time
import urllib.parse
from http.server import ThreadingHTTPServer
from pathlib import Path

# The listen-address rule of the sandbox's servers (HOST:PORT, never all interfaces) holds for the doubles too.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "sandbox" / "emulator"))
from listen import parse_address  # noqa: E402 pylint: disable=wrong-import-position

__all__ = ["RequestLog", "forward", "parse_address", "reply", "run", "serve"]

# Headers that belong to one connection and are not forwarded.
HOP_BY_HOP = frozenset((
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailers",
    "transfer-encoding", "upgrade",
))


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


def reply(handler, status, payload=b"", headers=(("Content-Type", "text/plain"),)):
    """Send a whole answer from a BaseHTTPRequestHandler: status, headers, length, body."""
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(payload)


def forward(upstream, handler, body, timeout=60):
    """Send the handler's request on to the upstream URL; (status, headers, payload) of its answer."""
    target = urllib.parse.urlsplit(upstream)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=timeout)
    try:
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
        connection.request(handler.command, handler.path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}]
        return response.status, kept, payload
    finally:
        connection.close()


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
