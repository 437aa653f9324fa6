"""Run ansible-playbook and read what it did from its JSON result.

Every test, verifier and benchmark runs playbooks through run_playbook(): the stdout callback is
ansible.posix.json (bundled with the ansible package), so results, recaps and messages are read
from data, never scraped from the text output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness import REPO

ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
# Verbose output (-v...) goes to stderr, so that stdout stays one JSON document.
JSON_OUTPUT = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
               "ANSIBLE_VERBOSE_TO_STDERR": "1"}


class NoResult(RuntimeError):
    """ansible-playbook printed no JSON result: it stopped before the run (bad arguments, syntax)."""


def environment(without=()):
    """This process's environment without the variables whose names start with a prefix in `without`."""
    return {key: value for key, value in os.environ.items() if not key.startswith(tuple(without))}


def run_playbook(*args, cwd=REPO, env=None, timeout=1200):
    """Run `ansible-playbook ARGS` in cwd with env (default: this process's environment)."""
    env = dict(os.environ if env is None else env, **JSON_OUTPUT)
    started = time.monotonic()
    process = subprocess.run([str(ANSIBLE_PLAYBOOK), *map(str, args)], cwd=cwd, env=env, capture_output=True,
                             text=True, timeout=timeout, check=False)
    seconds = time.monotonic() - started
    try:
        result = json.loads(process.stdout)
    except ValueError:
        raise NoResult("ansible-playbook %s printed no JSON (rc %d):\n%s\n%s" % (
            " ".join(map(str, args)), process.returncode, process.stdout[-3000:], process.stderr[-3000:])) from None
    return PlaybookRun(process.returncode, result, process.stderr, process.stdout, seconds)


def _flat(text):
    """A message with its line breaks and runs of spaces undone, as a reader sees it."""
    return " ".join(str(text).split())


@dataclass
class PlaybookRun:
    """The outcome of one ansible-playbook run, read from the JSON stdout callback."""

    rc: int
    result: dict
    stderr: str
    stdout: str = ""
    seconds: float = 0.0

    @property
    def output(self):
        """Everything the run printed: for checks that a value appears nowhere."""
        return self.stdout + self.stderr

    def hosts(self):
        return sorted(self.result.get("stats", {}))

    def stats(self, host=None):
        """The host's recap: ok, changed, failures, unreachable, skipped, rescued, ignored.

        Without a host, the recap of the run's only host.
        """
        if host is None:
            (host,) = self.hosts()
        return self.result["stats"][host]

    def task_results(self, host):
        """(task name without its role prefix, result) of every task that ran on the host."""
        for play in self.result["plays"]:
            for task in play["tasks"]:
                if host in task["hosts"]:
                    yield task["task"]["name"].rpartition(" : ")[2], task["hosts"][host]

    def _results(self, host=None):
        """Every result of the host (or of all hosts), each item of a loop as a result of its own."""
        for name in [host] if host else self.hosts():
            for _task, result in self.task_results(name):
                yield result
                yield from result.get("results", [])

    def changed_tasks(self, host):
        return [name for name, result in self.task_results(host) if result.get("changed")]

    def failure(self, host):
        """(task name, message) of the failure that stopped the host, or None.

        The last failed task: one that a rescue handled comes before it. A loop's message is its
        failed items'.
        """
        failed = [(name, result) for name, result in self.task_results(host)
                  if result.get("failed") and not result.get("ignore_errors")]
        if not failed:
            return None
        name, result = failed[-1]
        items = [item.get("msg", "") for item in result.get("results", []) if item.get("failed")]
        return name, " ".join(items) or result.get("msg", "")

    def messages(self, host=None):
        """The `msg` of every result (debug messages, failures), line breaks undone."""
        return [_flat(result["msg"]) for result in self._results(host) if result.get("msg")]

    def warnings(self, host=None):
        """The warnings of every result, line breaks undone."""
        return [_flat(warning) for result in self._results(host) for warning in result.get("warnings", [])]

    def explain(self):
        return json.dumps({host: self.failure(host) for host in self.hosts()}, indent=1) + self.stderr[-3000:]
