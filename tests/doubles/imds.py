"""Test double: an instance metadata service that speaks IMDSv2 only.

PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1 to 21600) returns a session
token. A GET answers only when X-aws-ec2-metadata-token carries a live token, else 401, as EC2 does
for an instance that requires IMDSv2 (HttpTokens=required). It serves the instance-id,
placement/region and placement/availability-zone of one instance, and its instance identity
document (/latest/dynamic/instance-identity/document, JSON sent as text/plain). Each request is
logged as one JSON line: time, client, method, path, token (none, valid, invalid), status, agent
(the User-Agent: which program of the instance asked).

The spot notices answer 404 until a test posts one: PUT or POST /spotkit-double/<notice> with the JSON
body that EC2 would serve, DELETE /spotkit-double/<notice> takes it back, where <notice> is
spot/instance-action or events/recommendations/rebalance (served under /latest/meta-data/). Only the
double has /spotkit-double/, and it needs no token: it is the test's hand, not the instance's.
--refuse-tokens STATUS answers every token request with STATUS (401 or 403), as an instance whose
metadata service refuses sessions.

    python imds.py --listen 172.17.0.1:45463 --instance-id i-0123456789abcdef0 --region eu-west-1 --log imds.jsonl
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

from http_double import RequestLog, parse_address, reply, run

TOKEN_PATH = "/latest/api/token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
MAX_TTL = 21600
# What a test may post, and where the instance reads it.
CONTROL_PREFIX = "/spotkit-double/"
NOTICES = ("spot/instance-action", "events/recommendations/rebalance")
NOTICE_PREFIX = "/latest/meta-data/"


class Tokens:
    """Issued tokens and when they expire; shared by all threads."""

    def __init__(self):
        self.expiry = {}
        self.lock = threading.Lock()

    def issue(self, ttl):
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.expiry[token] = time.monotonic() + ttl
        return token

    def check(self, token):
        """'none', 'valid' or 'invalid' (unknown or expired)."""
        if not token:
            return "none"
        with self.lock:
            expiry = self.expiry.get(token)
        return "valid" if expiry is not None and expiry > time.monotonic() else "invalid"


def instance_metadata(instance_id, region):
    """Path -> text, for what the double serves about one instance."""
    zone = region + "a"
    document = {
        "accountId": "123456789012", "architecture": "arm64", "availabilityZone": zone, "imageId": "ami-12345678",
        "instanceId": instance_id, "instanceType": "t4g.nano", "pendingTime": "2024-01-01T00:00:00Z",
        "privateIp": "10.0.0.10", "region": region, "version": "2017-09-30",
    }
    return {
        "/latest/meta-data/instance-id": instance_id,
        "/latest/meta-data/placement/region": region,
        "/latest/meta-data/placement/availability-zone": zone,
        "/latest/dynamic/instance-identity/document": json.dumps(document, indent=2),
    }


def make_handler(metadata, log, refuse_tokens=None):
    """metadata: path -> text, which the notices a test posts join and leave."""
    tokens = Tokens()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            """Requests go to the JSON log, not to stderr."""

        def reply(self, status, text="", token="none"):
            # Logged before the answer leaves, so a client that got it finds it in the log.
            log.write(client=self.client_address[0], method=self.command, path=self.path, token=token, status=status,
                      agent=self.headers.get("User-Agent", ""))
            reply(self, status, text.encode())

        def post_notice(self):
            notice = self.path[len(CONTROL_PREFIX):]
            if notice not in NOTICES:
                return self.reply(404)
            if self.command == "DELETE":
                metadata.pop(NOTICE_PREFIX + notice, None)
                return self.reply(200)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            try:
                json.loads(body)
            except ValueError:
                return self.reply(400, "a notice is the JSON that EC2 serves")
            metadata[NOTICE_PREFIX + notice] = body
            return self.reply(200)

        def do_POST(self):  # pylint: disable=invalid-name
            if self.path.startswith(CONTROL_PREFIX):
                return self.post_notice()
            return self.reply(405)

        def do_DELETE(self):  # pylint: disable=invalid-name
            if self.path.startswith(CONTROL_PREFIX):
                return self.post_notice()
            return self.reply(405)

        def do_PUT(self):  # pylint: disable=invalid-name
            if self.path.startswith(CONTROL_PREFIX):
                return self.post_notice()
            if self.path != TOKEN_PATH:
                return self.reply(404)
            if refuse_tokens:
                return self.reply(refuse_tokens)
            # EC2 refuses token requests that went through a proxy.
            if self.headers.get("X-Forwarded-For"):
                return self.reply(403)
            ttl = self.headers.get(TTL_HEADER, "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= MAX_TTL:
                return self.reply(400)
            return self.reply(200, tokens.issue(int(ttl)))

        def do_GET(self):  # pylint: disable=invalid-name
            token = tokens.check(self.headers.get(TOKEN_HEADER))
            if token != "valid":
                return self.reply(401, token=token)
            value = metadata.get(self.path)
            if value is None:
                return self.reply(404, token=token)
            return self.reply(200, value, token=token)

    return Handler


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", action="append", type=parse_address, required=True, metavar="HOST:PORT")
    parser.add_argument("--instance-id", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--log", help="append one JSON line per request to this file")
    parser.add_argument("--refuse-tokens", type=int, choices=(401, 403), help="answer every token request so")
    args = parser.parse_args(argv)
    metadata = instance_metadata(args.instance_id, args.region)
    return run(args.listen, make_handler(metadata, RequestLog(args.log), args.refuse_tokens), "IMDSv2 (test double) for %s" % args.instance_id)


if __name__ == "__main__":
    sys.exit(main())
