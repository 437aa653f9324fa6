"""Seconds to the first HTTP 200: a plain cloud-init boot beside the sandbox's replacements, from the stack image and
from the base image, interleaved.

    .venv/bin/python benchmarks/boot_compare.py [--runs 3]

The plain boot is the approach this project replaces: a user-data in which cloud-init installs
docker.io, writes one unit that pulls the blog's image and runs it, and starts it. It boots in the
sandbox's instance image with the same container options, and pulls the same image from the sandbox's
registry. A replacement is the termination drill's (playbooks/drill.yml), watched as
benchmarks/sandbox_boot.py watches it, after `site.yml` set the launch template to the stack image (baked) or to
the base image (`spot_image_bake: false`); that switch is not timed. Each is timed from its container's start to the
first HTTP 200 on its port (or the redirect to HTTPS, which the example blog answers on port 80 once its Caddy
runs: sandbox_boot.serving). Prints every run, each median and its ratio to the plain boot's, then the bake: seconds
from the builder's boot to its power-off (the sandbox's hypervisor's log) and the stack image's size.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# pylint: disable=wrong-import-position
from sandbox_boot import REPO, Watcher, instances, playbook, run, serving, started_at  # noqa: E402

INSTANCE_IMAGE = "spotkit-instance:trixie"
HOST_NAME = "host.spotkit.test"
IMAGE = HOST_NAME + ":5001/spotkit/blog:latest"
PLAIN_PORT = 8090
PLAIN_CONTAINER = "spotkit-bench-plain"
PLAIN_USER_DATA = """#cloud-config
packages: [docker.io]
write_files:
  # What the sandbox's stack also tells its Docker: the registry speaks plain HTTP, and IPv6 stays as it is.
  - path: /etc/docker/daemon.json
    content: '{"insecure-registries": ["%(host)s:5001"]}'
  - path: /etc/systemd/system/docker.service.d/sandbox.conf
    content: |
      [Service]
      Environment=DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1
  - path: /etc/systemd/system/blog.service
    content: |
      [Unit]
      Requires=docker.service
      After=docker.service
      [Service]
      ExecStartPre=-/usr/bin/docker rm -f blog
      ExecStartPre=/usr/bin/docker pull %(image)s
      ExecStart=/usr/bin/docker run --rm --name blog -p 80:80 %(image)s
      Restart=always
      [Install]
      WantedBy=multi-user.target
runcmd:
  - [systemctl, daemon-reload]
  - [systemctl, enable, --now, --no-block, blog.service]
""" % {"host": HOST_NAME, "image": IMAGE}


def plain_boot(seed_root, timeout=600):
    """Seconds from a plain cloud-init instance's container start to its first HTTP 200."""
    seed = Path(seed_root) / "seed"
    seed.mkdir(exist_ok=True)
    (seed / "user-data").write_text(PLAIN_USER_DATA)
    (seed / "meta-data").write_text("instance-id: i-plain%d\nlocal-hostname: plain\n" % time.time_ns())
    run("docker", "run", "--detach", "--name", PLAIN_CONTAINER, "--hostname", "plain",
        # Docker's name for its bridge's gateway, where the sandbox's registry listens.
        "--add-host", "%s:host-gateway" % HOST_NAME,
        "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
        "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
        "--cgroupns", "host", "--tmpfs", "/run", "--tmpfs", "/run/lock",
        "--volume", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--volume", "%s:/var/lib/cloud/seed/nocloud:ro" % seed,
        "--volume", "/var/lib/docker", "--publish", "127.0.0.1:%d:80" % PLAIN_PORT,
        INSTANCE_IMAGE, "/lib/systemd/systemd")
    try:
        start = started_at(PLAIN_CONTAINER)
        deadline = time.time() + timeout
        while not serving("http://127.0.0.1:%d/" % PLAIN_PORT, timeout=1):
            if time.time() > deadline:
                sys.exit("the plain cloud-init boot did not serve within %d s" % timeout)
            time.sleep(0.2)
        return time.time() - start
    finally:
        run("docker", "rm", "--force", "--volumes", PLAIN_CONTAINER)


def replacement_boot(baked):
    """Seconds from the drill's replacement container start to its first HTTP 200, from the stack image or not."""
    playbook("site.yml", "--extra-vars", json.dumps({"spot_image_bake": baked}))
    watcher = Watcher(instances())
    watcher.start()
    playbook("playbooks/drill.yml")
    watcher.stop.set()
    watcher.join()
    if watcher.first_200 is None:
        sys.exit("the drill's replacement %s never answered HTTP 200" % watcher.instance_id)
    return watcher.first_200 - started_at(watcher.container_id)


def bake_figures():
    """(seconds from the newest builder's boot to its power-off, stack image MiB, its Docker data MiB)."""
    log = (REPO / ".sandbox" / "hypervisor.log").read_text()
    stamp = r"hypervisor: (\S+) "
    booted = re.findall(stamp + r"booting builder (\S+)", log)
    if not booted:
        return None
    off = dict((builder, when) for when, builder in re.findall(stamp + r"builder (\S+) powered off", log))
    image = re.findall(r"image (\S+) committed", log)[-1]

    def at(text):
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").timestamp()
    when, builder = booted[-1]
    size = int(run("docker", "image", "inspect", "--format", "{{.Size}}", "spotkit-sandbox-ami:" + image))
    data = int(run("docker", "run", "--rm", "--volume", "spotkit-sandbox-ami-%s:/data:ro" % image, "--entrypoint", "du",
                   INSTANCE_IMAGE, "--summarize", "--bytes", "/data").split()[0])
    return at(off[builder]) - at(when), size / 2 ** 20, data / 2 ** 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not serving():
        print("bringing the sandbox up: ansible-playbook site.yml", flush=True)
        playbook("site.yml")
    times = {"plain cloud-init boot": [], "replacement, baked": [], "replacement, not baked": []}
    with tempfile.TemporaryDirectory() as seed_root:
        for number in range(1, args.runs + 1):
            for name, measure in (("plain cloud-init boot", lambda: plain_boot(seed_root)),
                                  ("replacement, baked", lambda: replacement_boot(True)),
                                  ("replacement, not baked", lambda: replacement_boot(False))):
                seconds = measure()
                times[name].append(seconds)
                print("run %d  %-24s container start -> first HTTP 200  %.1f s" % (number, name, seconds), flush=True)
    plain = statistics.median(times["plain cloud-init boot"])
    for name, values in times.items():
        median = statistics.median(values)
        print("median %-24s %.1f s  (%.2fx the plain cloud-init boot)" % (name, median, median / plain))
    # The sandbox as the inventory has it again: from the stack image.
    playbook("site.yml")
    bake = bake_figures()
    if bake:
        print("bake: builder boot -> power-off %.0f s; stack image %.0f MiB (committed container) + %.0f MiB (its Docker data)" % bake)
    return 0


if __name__ == "__main__":
    sys.exit(main())
