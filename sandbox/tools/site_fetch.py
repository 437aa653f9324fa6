"""Ask a sandbox site for a URL as a visitor's browser would, and say what came back. Standard library only.

    python site_fetch.py https://blog.localhost:8443/ --cafile .sandbox/acme-ca.pem [--wait 120]

A name under .localhost is this machine (RFC 6761; browsers and curl resolve it so): the request goes
to 127.0.0.1 with the name in TLS's SNI and in the Host header. HTTPS is verified against --cafile (the
sandbox's ACME CA), else the system's roots. Redirects are not followed. Prints one JSON object:
`status` (0 when nothing answered, then `error`), `location`, `alt_svc`, and for HTTPS the
certificate's `serial` (hex), `issuer` and `names`. --wait asks every second until the status is 200
and exits 1 when it never was.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import ssl
import sys
import time
import urllib.parse


def _address(host):
    return "127.0.0.1" if host == "localhost" or host.endswith(".localhost") else host


def fetch(url, cafile=None, timeout=5.0):
    """What a GET of url answered: a dict (above), the body under `body`."""
    parts = urllib.parse.urlsplit(url)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    result = {"status": 0, "location": None, "alt_svc": None, "body": ""}
    try:
        sock = socket.create_connection((_address(parts.hostname), port), timeout=timeout)
        if secure:
            sock = ssl.create_default_context(cafile=cafile).wrap_socket(sock, server_hostname=parts.hostname)
            cert = sock.getpeercert()
            result.update(serial=cert["serialNumber"], issuer=dict(item for rdn in cert["issuer"] for item in rdn),
                          names=[value for kind, value in cert.get("subjectAltName", ()) if kind == "DNS"])
        connection = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
        connection.sock = sock
        try:
            connection.request("GET", urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, "")))
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
    except (OSError, http.client.HTTPException) as error:
        result["error"] = "%s: %s" % (type(error).__name__, error)
        return result
    result.update(status=response.status, location=response.getheader("Location"), alt_svc=response.getheader("Alt-Svc"),
                  body=body.decode(errors="replace"))
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("url")
    parser.add_argument("--cafile")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--wait", type=float, default=0, metavar="SECONDS")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.wait
    while True:
        result = fetch(args.url, args.cafile, args.timeout)
        if result["status"] == 200 or time.monotonic() >= deadline:
            break
        time.sleep(1)
    del result["body"]
    print(json.dumps(result, sort_keys=True))
    return 0 if result["status"] == 200 or not args.wait else 1


if __name__ == "__main__":
    sys.exit(main())
