"""Footprint of the interruption watcher between notices: steady CPU % and peak memory of its process tree.

    .venv/bin/python benchmarks/watcher_footprint.py [--seconds 60] [--interval 5]

Renders /usr/local/sbin/spotkit-watch as the interruption_watcher role writes it, runs it for --seconds against
the IMDSv2 test double (tests/doubles/imds.py, in this process, with no notice posted), polling every --interval
seconds (the role's default: 5), then stops it. Prints the polls the double answered, the CPU seconds of the
watcher's whole tree (bash and any process it started, from the kernel's accounting of waited-for children) as a
share of one CPU, and the peak of the tree's summed RSS and PSS, sampled from /proc every 20 ms
(benchmarks/measure_tree.py). Targets for a t4g.nano: at most 0.1 % CPU and 10 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "collections"), str(REPO / "tests"), str(REPO / "tests" / "doubles"), str(REPO / "benchmarks")]
import imds  # noqa: E402 pylint: disable=wrong-import-position
from http_double import RequestLog, serve  # noqa: E402 pylint: disable=wrong-import-position
from measure_tree import _children, _pss, _rss  # noqa: E402 pylint: disable=wrong-import-position
from harness.role_variables import render_role_template  # noqa: E402 pylint: disable=wrong-import-position
from ansible_collections.spotkit.ec2.plugins.filter._stack_names import stack_names  # noqa: E402 pylint: disable=wrong-import-position

MIB = 1024.0 * 1024.0


def tree_memory(root):
    """(summed RSS, summed PSS) of root and its descendants, in bytes."""
    tree, pending, rss, pss = _children(), [root], 0, 0
    while pending:
        pid = pending.pop()
        rss, pss = rss + _rss(pid), pss + _pss(pid)
        pending.extend(tree.get(pid, ()))
    return rss, pss


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--interval", type=float, default=5)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="spotkit-watch-bench-"))
    log = work / "imds.jsonl"
    metadata = imds.instance_metadata("i-0123456789abcdef0", "eu-west-1")
    (server,) = serve([("127.0.0.1", 0)], imds.make_handler(metadata, RequestLog(str(log))))
    script = work / "spotkit-watch"
    script.write_text(render_role_template("interruption_watcher", "spotkit-watch.j2", {
        "interruption_watcher_stack": "blog", "interruption_watcher_region": "eu-west-1",
        "interruption_watcher_imds_url": "http://127.0.0.1:%d" % server.server_address[1],
        "interruption_watcher_interval": args.interval, "interruption_watcher_python": sys.executable,
        "_interruption_watcher_names": stack_names("blog", region="eu-west-1")}))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    with open(work / "watch.log", "w", encoding="utf-8") as output:
        process = subprocess.Popen(["bash", str(script)], stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    peaks = {"rss": 0, "pss": 0}
    done = threading.Event()

    def sample():
        while not done.is_set():
            rss, pss = tree_memory(process.pid)
            peaks.update(rss=max(peaks["rss"], rss), pss=max(peaks["pss"], pss))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    time.sleep(args.seconds)
    done.set()
    sampler.join()
    os.killpg(process.pid, signal.SIGTERM)
    process.wait()
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server.shutdown()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    polls = sum(1 for line in log.read_text().splitlines() if "instance-action" in json.loads(line)["path"])
    print(json.dumps({
        "seconds": round(wall, 1), "interval": args.interval, "polls": polls, "cpu_seconds": round(cpu, 3),
        "cpu_percent": round(100 * cpu / wall, 3), "peak_tree_rss_mib": round(peaks["rss"] / MIB, 1),
        "peak_tree_pss_mib": round(peaks["pss"] / MIB, 1),
        "output": (work / "watch.log").read_text().splitlines(),
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
