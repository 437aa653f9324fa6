"""Figures of a sandbox instance's first boot, measured on the interruption drill's replacement.

    .venv/bin/python benchmarks/sandbox_boot.py

Brings the sandbox up with `ansible-playbook site.yml` unless the site already answers, then runs
`playbooks/drill.yml` and watches the replacement instance boot. Prints:
- seconds from the container's start to: cloud-init's hand-off to the first pull (the user-data's
  packages, virtualenv, wheels and collections done), the first HTTP 200 on the site's port, and
  ansible-pull done (the end of cloud-init's final stage, whose last command it is);
- the CPU seconds the instance container used until then (its services' containers left out);
- the instance container's peak memory: the cgroup's own peak (page cache included), and the
  sampled peak of its working set (usage less inactive file cache) and of its RSS; the services'
  containers, which the instance's Docker puts in cgroups of their own, separately;
- the user-data's size in bytes;
- the drill: seconds from the termination to serving again.
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sandbox" / "tools"))
# pylint: disable=wrong-import-position
from harness import REPO  # noqa: E402
from site_fetch import fetch  # noqa: E402
from harness.playbook import run_playbook  # noqa: E402

SITE = "http://127.0.0.1:8080/"
LABEL = "spotkit.sandbox"
CGROUP_MEMORY = Path("/sys/fs/cgroup/memory/docker")
CGROUP_CPU = Path("/sys/fs/cgroup/cpuacct/docker")
MIB = 1024 * 1024


def run(*command, **options):
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True, **options).stdout


def playbook(*args):
    """Run a playbook from the checkout (default inventory: the sandbox); its messages."""
    result = run_playbook(*args)
    if result.rc != 0:
        sys.exit("ansible-playbook %s failed:\n%s" % (" ".join(args), result.explain()))
    return result.messages()


def serving(url=SITE, timeout=2):
    """True when the site at url answers HTTP: 200, or its redirect to HTTPS (the example blog's answer on port 80,
    which comes from the same Caddy that serves HTTPS)."""
    return fetch(url, timeout=timeout)["status"] in (200, 301, 308)


def instances():
    """{instance id: container id} of the running instance containers."""
    lines = run("docker", "ps", "--no-trunc", "--filter", "label=%s=instance" % LABEL,
                "--format", '{{.Label "%s.instance-id"}} {{.ID}}' % LABEL).split("\n")
    return dict(line.split() for line in lines if line.strip())


def cpu_seconds(container_id):
    """CPU seconds the container's own cgroup has used (its service containers' cgroups are apart), or None."""
    try:
        return int((CGROUP_CPU / container_id / "cpuacct.usage").read_text()) / 1e9
    except (OSError, ValueError):
        return None


def memory_stat(container_id):
    stat = {}
    try:
        for line in (CGROUP_MEMORY / container_id / "memory.stat").read_text().splitlines():
            key, value = line.split()
            stat[key] = int(value)
        stat["usage"] = int((CGROUP_MEMORY / container_id / "memory.usage_in_bytes").read_text())
        stat["max_usage"] = int((CGROUP_MEMORY / container_id / "memory.max_usage_in_bytes").read_text())
    except (OSError, ValueError):
        return None
    return stat


class Watcher(threading.Thread):
    """Samples the replacement's memory and notes its first HTTP 200, until stopped."""

    def __init__(self, old_ids):
        super().__init__(daemon=True)
        self.old_ids = set(old_ids)
        self.stop = threading.Event()
        self.instance_id = self.container_id = None
        self.first_200 = None
        self.peak_working_set = self.peak_rss = self.peak_cgroup = 0
        self.service_peaks = {}
        # (time, CPU seconds) of the replacement's container, one per sample.
        self.cpu = []

    def run(self):
        while not self.stop.is_set():
            current = instances()
            new = {iid: cid for iid, cid in current.items() if iid not in self.old_ids}
            if new and self.container_id is None:
                self.instance_id, self.container_id = next(iter(new.items()))
            if self.container_id:
                self.sample()
                # The old instance's container is gone once its replacement's exists only.
                if self.first_200 is None and set(current) == {self.instance_id} and serving():
                    self.first_200 = time.time()
            time.sleep(0.5)

    def sample(self):
        used = cpu_seconds(self.container_id)
        if used is not None:
            self.cpu.append((time.time(), used))
        stat = memory_stat(self.container_id)
        if stat:
            self.peak_cgroup = max(self.peak_cgroup, stat["max_usage"])
            self.peak_working_set = max(self.peak_working_set, stat["usage"] - stat.get("total_inactive_file", 0))
            self.peak_rss = max(self.peak_rss, stat.get("total_rss", 0))
        inner = subprocess.run(["docker", "exec", "spotkit-sandbox-" + self.instance_id, "docker", "ps", "-q", "--no-trunc"],
                               capture_output=True, text=True, check=False).stdout.split()
        for container in inner:
            stat = memory_stat(container)
            if stat:
                self.service_peaks[container] = max(self.service_peaks.get(container, 0), stat["max_usage"])


def started_at(container):
    text = run("docker", "inspect", "--format", "{{.State.StartedAt}}", container).strip()
    text = re.sub(r"(\.\d{6})\d*Z$", r"\1+00:00", text).replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(text).timestamp()


def in_instance(instance_id, *command):
    return run("docker", "exec", "spotkit-sandbox-" + instance_id, *command)


def boot_times(instance_id, start):
    """Wall-clock times of the hand-off to ansible-pull and of cloud-init's end, from the instance."""
    status = json.loads(in_instance(instance_id, "cat", "/run/cloud-init/status.json"))["v1"]
    uptime = float(in_instance(instance_id, "cat", "/proc/uptime").split()[0])
    # status.json counts in seconds since the (shared) kernel booted.
    boot = time.time() - uptime
    log = in_instance(instance_id, "cat", "/var/log/spotkit-pull.log")
    # The first pull of this instance: an instance of the stack image has its builder's pulls in the log before.
    pulls = [datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc).timestamp()
             for stamp in re.findall(r"^Starting Ansible Pull at (\S+ \S+)$", log, re.MULTILINE)]
    handoff = min((stamp for stamp in pulls if stamp >= int(start)), default=None)
    return handoff, boot + status["modules-final"]["finished"]


def main():
    if not serving():
        print("bringing the sandbox up: ansible-playbook site.yml", flush=True)
        playbook("site.yml")
    old = instances()
    if len(old) != 1:
        sys.exit("expected one running sandbox instance, found %r" % old)

    watcher = Watcher(old)
    watcher.start()
    drill_started = time.time()
    drill_messages = playbook("playbooks/drill.yml")
    drill_seconds = time.time() - drill_started
    watcher.stop.set()
    watcher.join()

    instance_id = watcher.instance_id
    start = started_at(watcher.container_id)
    handoff, pull_done = boot_times(instance_id, start)
    user_data = REPO / ".sandbox" / "instances" / instance_id / "seed" / "user-data"
    # The last sample before the pull ended: the CPU that the boot and the first pull took, the services' containers
    # left out.
    boot_cpu = next((used for when, used in reversed(watcher.cpu) if when <= pull_done), None)
    reported = re.search(r"drill termination \S+: down ([\d.]+) s", " ".join(drill_messages))

    rows = [
        ("replacement instance", instance_id),
        ("container start -> cloud-init hand-off to ansible-pull (s)", "%.1f" % (handoff - start) if handoff else "n/a"),
        ("container start -> first HTTP 200 (s)", "%.1f" % (watcher.first_200 - start) if watcher.first_200 else "never"),
        ("container start -> ansible-pull done = cloud-init done (s)", "%.1f" % (pull_done - start)),
        ("instance container CPU, start -> ansible-pull done (CPU-s)", "%.1f" % boot_cpu if boot_cpu is not None else "n/a"),
        ("instance container peak memory, cgroup incl. page cache (MiB)", "%.0f" % (watcher.peak_cgroup / MIB)),
        ("instance container peak working set, sampled (MiB)", "%.0f" % (watcher.peak_working_set / MIB)),
        ("instance container peak RSS, sampled (MiB)", "%.0f" % (watcher.peak_rss / MIB)),
        ("service containers' peak memory, cgroup (MiB)", ", ".join("%.0f" % (v / MIB) for v in watcher.service_peaks.values()) or "n/a"),
        ("user-data size (bytes)", user_data.stat().st_size),
        ("drill: termination -> serving again, as the drill reports (s)", reported.group(1) if reported else "n/a"),
        ("drill: playbook wall time (s)", "%.0f" % drill_seconds),
    ]
    width = max(len(row[0]) for row in rows)
    for name, value in rows:
        print("%-*s  %s" % (width, name, value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
