"""The rule for the listen addresses of the sandbox's servers and of the test doubles.

HOST:PORT, and never all interfaces: they listen on loopback, and on the Docker bridge's gateway
where containers reach them. Imports nothing heavy, so that any server can share it.
"""

from __future__ import annotations

import argparse


def parse_address(text):
    """HOST:PORT -> (host, port); an argparse type."""
    host, port = text.rpartition(":")[::2]
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % text)
    if host in ("0.0.0.0", "::", ""):
        raise argparse.ArgumentTypeError("refusing to listen on all interfaces (%r)" % text)
    return host, int(port)
