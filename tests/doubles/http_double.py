"""What the HTTP test doubles share: listen addresses, one server thread per address, a JSON-lines
request log, and running until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from http.server import ThreadingHTTPServer


def parse_address(text):
    """HOST:PORT -> (host, port); all-interfaces addresses are refused."""
    host, port = text.rpartition(":")[::2]
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % text)
    if host in ("0.0.0.0", "::", ""):
        raise argparse.ArgumentTypeError("refusing to listen on all interfaces (%r)" % text)
    return host, int(port)


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


def run_until_signalled(servers, banner):
    """Print the banner (the caller waits for it), serve until SIGTERM or SIGINT, then stop."""
    print("%s on %s" % (banner, ", ".join("%s:%d" % server.server_address[:2] for server in servers)), flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *args: stop.set())
    stop.wait()
    for server in servers:
        server.shutdown()
    return 0
