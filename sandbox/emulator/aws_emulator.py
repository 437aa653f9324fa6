"""Local stand-in for the AWS APIs: moto in server mode, one shared state on several addresses.

The sandbox and the tests use it where no AWS account exists. It listens only on the addresses
given (loopback, and the Docker bridge gateway so that containers reach it), never on all of them.
moto_gaps.py adds the few calls that provisioning and teardown make and moto lacks; moto_lifecycle.py
adds the launch lifecycle hooks, the instance maintenance policy and capacity rebalancing; ec2_signals.py
what EC2 does by itself that a drill asks for (a rebalance recommendation).

    python aws_emulator.py --listen 127.0.0.1:4566 --listen 172.17.0.1:4566

This runs it in the foreground; emulator_process.py starts, waits for, resets and stops it in the
background, and every caller goes through that.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from moto.server import ThreadedMotoServer

import ec2_signals
import moto_gaps
import moto_lifecycle
import moto_iam
from emulator_process import LISTENING
from listen import parse_address


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", action="append", type=parse_address, required=True, metavar="HOST:PORT")
    args = parser.parse_args(argv)
    moto_gaps.install()
    moto_lifecycle.install()
    moto_iam.install()
    ec2_signals.install()

    # Every server thread dispatches to moto's process-wide backends, so they share one state.
    servers = [ThreadedMotoServer(ip_address=host, port=port, verbose=False) for host, port in args.listen]
    for server in servers:
        server.start()
    print(LISTENING + ", ".join("%s:%d" % server.get_host_and_port() for server in servers), flush=True)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *args: stop.set())
    stop.wait()
    for server in servers:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
