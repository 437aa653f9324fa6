"""Start, wait for, reset and stop the AWS emulator (aws_emulator.py) as a background process.

The one way the sandbox, the tests, the molecule scenarios and the benchmarks run the emulator:

    python emulator_process.py start --listen 127.0.0.1:4566 [--listen 172.17.0.1:4566] --state-dir DIR
    python emulator_process.py stop --state-dir DIR
    python emulator_process.py reset --url http://127.0.0.1:4566

`start` returns once every address answers, or at once when the first one already does (a running
emulator is kept): it prints "started" or "running". The emulator runs in DIR, its process id in
DIR/emulator.pid, its output in DIR/emulator.log. `stop` stops the process that pidfile names, and
only if it is the emulator: a process id can be reused. It prints "stopped" or "absent". Python
callers use EmulatorProcess, which does the same.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from listen import parse_address

SERVER = Path(__file__).resolve().with_name("aws_emulator.py")
# How aws_emulator.py says, once every address is bound, where it listens.
LISTENING = "aws emulator listening on "


class EmulatorProcess:
    """The emulator on `addresses` ([(host, port)]), its pidfile and log in `state_dir`.

    Port 0 takes a free port: once started, `addresses` and `urls` hold the one the system gave.
    """

    def __init__(self, addresses, state_dir, python=sys.executable):
        self.addresses = list(addresses)
        self.state_dir = Path(state_dir)
        self.python = python
        self.pidfile = self.state_dir / "emulator.pid"
        self.log = self.state_dir / "emulator.log"
        self._child = None

    @property
    def urls(self):
        return ["http://%s:%d" % address for address in self.addresses]

    @property
    def url(self):
        return self.urls[0]

    @staticmethod
    def answers(url):
        """True when a moto server answers at url: only moto's dashboard says 200 there."""
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def start(self, timeout=60):
        """Start the emulator unless it answers; True when this call started it."""
        if self.answers(self.url):
            return False
        self.state_dir.mkdir(parents=True, exist_ok=True)
        argv = [self.python, str(SERVER)]
        for host, port in self.addresses:
            argv += ["--listen", "%s:%d" % (host, port)]
        with open(self.log, "wb") as log:
            # A session of its own: it outlives the run that started it, as a server should.
            self._child = subprocess.Popen(argv, cwd=self.state_dir, stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)
        self.pidfile.write_text("%d\n" % self._child.pid)
        deadline = time.monotonic() + timeout
        # What this process says it bound, not what answers: on a port it could not take, another
        # server may answer.
        self.addresses = self._wait(timeout, deadline, "say where it listens", self._bound)
        for url in self.urls:
            self._wait(timeout, deadline, "answer on %s" % url, lambda url=url: self.answers(url))
        return True

    def _wait(self, timeout, deadline, what, done):
        """done()'s first true value, while the child runs and until the deadline."""
        while not (value := done()):
            if self._child.poll() is not None:
                raise RuntimeError("the AWS emulator exited with %s:\n%s" % (self._child.returncode, self._log_tail()))
            if time.monotonic() > deadline:
                raise RuntimeError("the AWS emulator did not %s within %d s:\n%s" % (what, timeout, self._log_tail()))
            time.sleep(0.1)
        return value

    def _bound(self):
        """The addresses of the emulator's "listening on" line, once it has printed it."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return None
        for line in lines:
            if line.startswith(LISTENING):
                return [parse_address(address) for address in line[len(LISTENING):].split(", ")]
        return None

    def stop(self, timeout=30):
        """Stop the emulator that the pidfile names; True when there was one to stop."""
        try:
            pid = int(self.pidfile.read_text())
        except (OSError, ValueError):
            return False
        self.pidfile.unlink()
        if not _is_emulator(pid):
            return False
        os.kill(pid, signal.SIGTERM)
        if self._child is not None and self._child.pid == pid:
            self._child.wait(timeout=timeout)
            return True
        deadline = time.monotonic() + timeout
        while _is_emulator(pid):
            if time.monotonic() > deadline:
                raise RuntimeError("the AWS emulator (pid %d) did not stop within %d s" % (pid, timeout))
            time.sleep(0.2)
        return True

    def reset(self):
        """Empty every account and region of the emulator."""
        reset(self.url)

    def _log_tail(self):
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""


def reset(url):
    request = urllib.request.Request(url + "/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def _is_emulator(pid):
    """True while pid is a running aws_emulator.py (not a zombie, not a reused pid)."""
    try:
        cmdline = Path("/proc/%d/cmdline" % pid).read_bytes()
        state = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return SERVER.name.encode() in cmdline and state != "Z"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start the emulator unless it answers, and wait for it")
    start.add_argument("--listen", action="append", type=parse_address, required=True, metavar="HOST:PORT")
    start.add_argument("--state-dir", required=True, help="where the pidfile and the log go")
    start.add_argument("--timeout", type=int, default=60)
    stop = commands.add_parser("stop", help="stop the emulator that DIR/emulator.pid names")
    stop.add_argument("--state-dir", required=True)
    reset_command = commands.add_parser("reset", help="empty the emulator's accounts")
    reset_command.add_argument("--url", required=True)
    args = parser.parse_args(argv)

    if args.command == "start":
        started = EmulatorProcess(args.listen, args.state_dir).start(timeout=args.timeout)
        print("started" if started else "running")
    elif args.command == "stop":
        print("stopped" if EmulatorProcess([], args.state_dir).stop() else "absent")
    else:
        reset(args.url)
        print("reset")
    return 0


if __name__ == "__main__":
    sys.exit(main())
