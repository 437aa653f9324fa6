"""Test double: an HTTP proxy in front of the AWS emulator that injects AWS errors.

A freshly launched instance may see AuthFailure or UnauthorizedOperation for a while, until its
instance profile is usable; moto never refuses a request, so a retry cannot be shown against it
alone. This proxy answers the first COUNT calls of an action from each client address with an
error (AuthFailure unless another code is given) and forwards everything else unchanged. Actions
are those of EC2's query protocol (Action=...) and of the JSON protocols (X-Amz-Target: Service.Action,
as CloudWatch Logs and SSM speak), which get AccessDenied as JSON. Each request is logged as one
JSON line: time, client, action, injected error code or null, status.

    python aws_fault_proxy.py --listen 172.17.0.1:45462 --upstream http://127.0.0.1:45461 \\
        --fail DescribeAddresses=1:UnauthorizedOperation --fail AssociateAddress=2 --log faults.jsonl
"""

from __future__ import annotations

import argparse
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler

from http_double import RequestLog, forward, parse_address, reply, run

# What EC2 answers for these codes: HTTP status and message.
ERRORS = {
    "AuthFailure": (401, "AWS was not able to validate the provided access credentials"),
    "UnauthorizedOperation": (403, "You are not authorized to perform this operation."),
    "AccessDenied": (400, "User is not authorized to perform this action"),
}


def parse_fault(text):
    """ACTION=COUNT[:CODE] -> (action, count, code)."""
    action, rest = text.split("=", 1) if "=" in text else (text, "")
    count, code = rest.split(":", 1) if ":" in rest else (rest, "AuthFailure")
    if not action or not count.isdigit() or code not in ERRORS:
        raise argparse.ArgumentTypeError(
            "expected ACTION=COUNT[:CODE] with CODE one of %s, got %r" % (", ".join(ERRORS), text)
        )
    return action, int(count), code


def error_body(code, json_protocol=False):
    """The body AWS sends with an error: EC2's XML, or a JSON protocol's JSON."""
    if json_protocol:
        return ('{"__type": "%sException", "message": "%s"}' % (code, ERRORS[code][1])).encode()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>%s</Code>'
        "<Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>"
        % (code, ERRORS[code][1], uuid.uuid4())
    ).encode()


def request_action(path, content_type, body, target=""):
    """The AWS action of a request: the JSON protocol's X-Amz-Target, or the query protocol's Action
    (form body or query string); None when it has neither."""
    if target:
        return target.rsplit(".", 1)[-1]
    query = urllib.parse.urlsplit(path).query
    if content_type.startswith("application/x-www-form-urlencoded"):
        query = "%s&%s" % (query, body.decode("utf-8", "replace"))
    values = urllib.parse.parse_qs(query).get("Action")
    return values[0] if values else None


class Faults:
    """How many errors are still to be injected per (client, action); shared by all threads.

    Each fault is (action, count, code), or (action, count, code, about): then only requests whose body holds
    `about` get the error (one SSM parameter's PutParameter, say, and not another's)."""

    def __init__(self, faults):
        self.plan = {fault[0]: (fault[1], fault[2], fault[3].encode() if len(fault) > 3 else b"") for fault in faults}
        self.injected = {}
        self.lock = threading.Lock()

    def take(self, client, action, body=b""):
        """The error code to answer this request with, or None to forward it."""
        if action not in self.plan:
            return None
        count, code, about = self.plan[action]
        if about not in body:
            return None
        with self.lock:
            done = self.injected.get((client, action), 0)
            if done >= count:
                return None
            self.injected[(client, action)] = done + 1
        return code


def make_handler(faults, upstream, log):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            """Requests go to the JSON log, not to stderr."""

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            client = self.client_address[0]
            target = self.headers.get("X-Amz-Target", "")
            action = request_action(self.path, self.headers.get("Content-Type", ""), body, target)
            code = faults.take(client, action, body)
            if code:
                content_type = "application/x-amz-json-1.1" if target else "text/xml"
                status, headers, payload = ERRORS[code][0], [("Content-Type", content_type)], error_body(code, bool(target))
            else:
                status, headers, payload = forward(upstream, self, body)
            # Logged before the answer leaves, so a client that got it finds it in the log.
            log.write(client=client, action=action, injected=code, status=status)
            reply(self, status, payload, headers)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

    return Handler


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", action="append", type=parse_address, required=True, metavar="HOST:PORT")
    parser.add_argument("--upstream", required=True, help="URL of the AWS emulator")
    parser.add_argument("--fail", action="append", type=parse_fault, default=[], metavar="ACTION=COUNT[:CODE]")
    parser.add_argument("--log", help="append one JSON line per request to this file")
    args = parser.parse_args(argv)
    handler = make_handler(Faults(args.fail), args.upstream, RequestLog(args.log))
    return run(args.listen, handler, "aws fault proxy (test double) -> %s" % args.upstream)


if __name__ == "__main__":
    sys.exit(main())
