"""The sandbox's notification endpoint: an HTTP endpoint subscribed to the stacks' SNS topics, which
writes every message it gets to a file, one line each, where a user would get an e-mail.

    python notification_endpoint.py --listen 127.0.0.1:5003 --messages .sandbox/notifications.log

It behaves as a real SNS HTTP endpoint does: a SubscriptionConfirmation is confirmed by visiting its
SubscribeURL (which the emulator answers), a Notification is written as

    2026-11-30T12:04:05.123Z spotkit-blog-us-east-1: blog: instance i-0abc left the group at ...

(the time SNS sent it, the topic's name, the message; an alarm's notification is its subject, then
its JSON, on one line). It does not check SNS's signatures: the emulator signs with a certificate of
its own, and the endpoint listens on loopback only. GET / answers 200, so that the sandbox can tell
it is up. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "emulator"))
from listen import parse_address  # noqa: E402 pylint: disable=wrong-import-position

# The SubscribeURL is the emulator's: no proxy of this machine's environment has a say.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Messages:
    """Appends one line per message to a file; safe across threads."""

    def __init__(self, path):
        self.path = Path(path)
        self.lock = threading.Lock()

    def write(self, timestamp, topic_arn, text):
        line = "%s %s: %s\n" % (timestamp, topic_arn.rsplit(":", 1)[-1], " ".join(text.split()))
        with self.lock, open(self.path, "a", encoding="utf-8") as stream:
            stream.write(line)


def handler_for(messages):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # pylint: disable=invalid-name
            self._answer(200, b"spotkit sandbox notification endpoint\n")

        def do_POST(self):  # pylint: disable=invalid-name
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                kind = self.headers.get("x-amz-sns-message-type") or body.get("Type")
                if kind == "SubscriptionConfirmation":
                    with OPENER.open(body["SubscribeURL"], timeout=15) as answer:
                        answer.read()
                    messages.write(body.get("Timestamp", ""), body["TopicArn"], "(subscription confirmed)")
                elif kind == "Notification":
                    text = body.get("Message", "")
                    if body.get("Subject"):
                        text = "%s %s" % (body["Subject"], text)
                    messages.write(body.get("Timestamp", ""), body["TopicArn"], text)
            except (OSError, ValueError, KeyError) as exc:
                # SNS retries what an endpoint does not take.
                self._answer(500, ("%s\n" % exc).encode())
                return
            self._answer(200, b"")

        def _answer(self, status, payload):
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            return

    return Handler


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=parse_address, required=True, metavar="HOST:PORT")
    parser.add_argument("--messages", required=True, help="the file the messages are appended to")
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(args.listen, handler_for(Messages(args.messages)))
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: threading.Thread(target=server.shutdown).start())
    # The bound address: port 0 takes a free port, which the caller reads here.
    print("notification endpoint listening on %s:%d, messages in %s" % (server.server_address[:2] + (args.messages,)), flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
