"""The drill's prober: asks a site every --interval seconds until it is told to stop (SIGTERM or SIGINT),
then writes what it saw as JSON, as a visitor of the site would have seen the drill.

    python site_prober.py --url https://blog.localhost:8443/ --cafile .sandbox/acme-ca.pem --summary .sandbox/drill-probe.json

A request (site_fetch.py's: a .localhost name is this machine, HTTPS verified against --cafile) fails
when it does not get HTTP 200 within --timeout seconds. The summary: `requests`,
`failed`, `down_seconds` (the longest run of failed requests: from its first request to the first answered one
after it, or to the stop when none came; 0 when no request failed), `first_failure` and
`last_failure` (UTC, ISO 8601, or null). Standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import signal
import time

from site_fetch import fetch


def answered(url, timeout, cafile=None):
    # Straight to the site on this machine: no proxy of the environment has a say.
    return fetch(url, cafile, timeout)["status"] == 200


def iso(moment):
    return None if moment is None else datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).isoformat()


class Probe:
    """Counts requests and failures; `down` is the longest run of failed requests, from its first failure to the
    first answer after it (or to the stop)."""

    def __init__(self):
        self.requests = self.failed = 0
        self.first_failure = self.last_failure = self.run_started = None
        self.longest = 0.0

    def record(self, started, ok):
        self.requests += 1
        if not ok:
            self.failed += 1
            self.first_failure = self.first_failure or started
            self.last_failure = started
            if self.run_started is None:
                self.run_started = started
        elif self.run_started is not None:
            self.longest = max(self.longest, started - self.run_started)
            self.run_started = None

    def summary(self, stopped):
        down = self.longest if self.run_started is None else max(self.longest, stopped - self.run_started)
        return {"requests": self.requests, "failed": self.failed, "down_seconds": round(down, 1),
                "first_failure": iso(self.first_failure), "last_failure": iso(self.last_failure)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--cafile", help="PEM roots that verify an HTTPS site (the sandbox's ACME CA)")
    parser.add_argument("--summary", required=True, help="file the JSON summary is written to when stopped")
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args()

    # A flag, not a threading.Event: Event.set() in a signal handler can deadlock with the Event.wait() it interrupts.
    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.append(True))
    probe = Probe()
    while not stopping:
        started = time.time()
        probe.record(started, answered(args.url, args.timeout, args.cafile))
        time.sleep(max(0.0, args.interval - (time.time() - started)))
    with open(args.summary, "w", encoding="utf-8") as stream:
        json.dump(probe.summary(time.time()), stream)
        stream.write("\n")


if __name__ == "__main__":
    main()
