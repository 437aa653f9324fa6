"""The sandbox's hypervisor for the stack image's builders: a test double of what EC2 does for an instance while
provisioning waits on it, and of CreateImage's disk copy. The sandbox's instances are containers, which its boot step
creates once provisioning is over; a builder must boot while provisioning waits, and its image must become a disk
that later instances boot from.

    python hypervisor.py --config .sandbox/hypervisor.json [--poll 1]

The config (JSON): `stacks`, name -> `endpoint_url`, `region`, `access_key`, `secret_key` (the AWS emulator's);
`boot`, the command (argv) that makes the instance containers match the emulator (the sandbox's boot step, instances
only); `label` (the sandbox's container label), `prefix` (of an instance container's name), `ami_repository` (of the
Docker images that stand for stack images) and `instance_image` (the instance image, which copies disks).

Every --poll seconds, per stack:
- a builder (tag spotkit:role=builder) that the emulator runs and no container is: the boot command runs;
- a builder whose container has powered off (its bake ends with `systemctl poweroff`) while the emulator says it runs:
  the emulator stops it (StopInstances), as EC2 does when an instance shuts down with the behaviour "stop";
- an image of the stack made from a builder (tag spotkit:builder) that has no Docker image yet: the builder's
  container is committed as <ami_repository>:<image id>, and its Docker data (a volume, which a commit leaves out) is
  copied to the volume <ami_repository>-<image id>; the boot step boots instances of that image id from both;
- a Docker image of an image id the emulator no longer has (deregistered): removed with its volume, once no
  container uses it.
One line per act, timestamped. While the emulator does not answer, nothing happens (said once a minute). SIGTERM stops it.
Standard library, boto3 and the docker CLI.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time

import boto3
from botocore.config import Config

OUTAGE_LOG_EVERY = 60.0
RUNNING = ("pending", "running")


def log(line):
    # Timestamped: benchmarks/boot_compare.py reads a bake's time from the builder's boot to its power-off.
    print("hypervisor: %s %s" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), line), flush=True)


def docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=600)


def ami_volume(config, image_id):
    return "%s-%s" % (config["ami_repository"], image_id)


class Stack:
    """One stack's view of the emulator: its builders and its images made from them."""

    def __init__(self, name, emulator):
        self.name = name
        self.ec2 = boto3.session.Session().client(
            "ec2", endpoint_url=emulator["endpoint_url"], region_name=emulator["region"],
            aws_access_key_id=emulator["access_key"], aws_secret_access_key=emulator["secret_key"],
            config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10))

    def builders(self):
        """{instance id: state name} of the stack's builders that have not gone."""
        pages = self.ec2.get_paginator("describe_instances").paginate(Filters=[
            {"Name": "tag:spotkit:stack", "Values": [self.name]}, {"Name": "tag:spotkit:role", "Values": ["builder"]}])
        return {instance["InstanceId"]: instance["State"]["Name"]
                for page in pages for reservation in page["Reservations"] for instance in reservation["Instances"]
                if instance["State"]["Name"] not in ("shutting-down", "terminated")}

    def images(self):
        """{image id: the builder it was made from} of the stack's images."""
        found = self.ec2.describe_images(Owners=["self"], Filters=[{"Name": "tag:spotkit:stack", "Values": [self.name]}])
        return {image["ImageId"]: {tag["Key"]: tag["Value"] for tag in image.get("Tags", [])}.get("spotkit:builder", "")
                for image in found["Images"]}

    def stop(self, instance_id):
        self.ec2.stop_instances(InstanceIds=[instance_id])


def containers(config):
    """{instance id: container state} of the instance containers."""
    listed = docker("ps", "--all", "--filter", "label=%s=instance" % config["label"],
                    "--format", "{{.Names}} {{.State}}").stdout.split("\n")
    return {name[len(config["prefix"]):]: state for name, state in (line.split() for line in listed if line.strip())}


def ami_images(config):
    """Image ids that have a Docker image standing for them."""
    listed = docker("images", config["ami_repository"], "--format", "{{.Tag}}").stdout.split()
    return set(listed)


def commit(config, image_id, builder):
    """The builder's container as the image's Docker image, and its Docker data as the image's volume."""
    container = config["prefix"] + builder
    mounts = json.loads(docker("container", "inspect", "--format", "{{json .Mounts}}", container).stdout)
    (data,) = [mount["Name"] for mount in mounts if mount["Destination"] == "/var/lib/docker"]
    volume = ami_volume(config, image_id)
    docker("volume", "create", "--label", "%s=ami" % config["label"], volume)
    # The instance's Docker data holds its own overlay layers (whiteouts, xattrs): copied with every attribute.
    docker("run", "--rm", "--cap-add", "SYS_ADMIN", "--volume", "%s:/from:ro" % data, "--volume", "%s:/to" % volume,
           "--entrypoint", "cp", config["instance_image"], "-a", "/from/.", "/to/")
    docker("commit", "--change", "LABEL %s=ami" % config["label"], container, "%s:%s" % (config["ami_repository"], image_id))


def remove(config, image_id):
    """The Docker image and volume of a deregistered image; False while a container still uses them."""
    if docker("rmi", "%s:%s" % (config["ami_repository"], image_id), check=False).returncode != 0:
        return False
    docker("volume", "rm", "--force", ami_volume(config, image_id))
    return True


class Hypervisor:
    def __init__(self, config):
        self.config = config
        self.stacks = [Stack(name, emulator) for name, emulator in config["stacks"].items()]
        self.booted = set()
        self.down_since = None

    def step(self):
        builders, images = {}, {}
        for stack in self.stacks:
            builders.update((instance, (stack, state)) for instance, state in stack.builders().items())
            images.update(stack.images())
        present = containers(self.config)
        running = {instance: stack for instance, (stack, state) in builders.items() if state in RUNNING}
        for instance, stack in running.items():
            if present.get(instance) == "exited":
                log("builder %s powered off: stopping it" % instance)
                stack.stop(instance)
        waiting = [instance for instance in running if instance not in present]
        if any(instance not in self.booted for instance in waiting):
            log("booting builder %s" % ", ".join(waiting))
            boot = subprocess.run(self.config["boot"], capture_output=True, text=True, check=False, timeout=900)
            if boot.returncode == 0:
                self.booted.update(waiting)
            else:
                log("the boot command failed (%d), tried again: %s" % (boot.returncode, (boot.stdout + boot.stderr)[-2000:]))
        made = ami_images(self.config)
        for image_id, builder in images.items():
            if builder and image_id not in made and builder in present:
                log("image %s from builder %s: committing" % (image_id, builder))
                commit(self.config, image_id, builder)
                log("image %s committed" % image_id)
        for image_id in made - set(images):
            if remove(self.config, image_id):
                log("image %s deregistered: removed" % image_id)

    def run(self, poll, stopping):
        while not stopping():
            try:
                self.step()
                if self.down_since is not None:
                    log("the emulator answers again")
                self.down_since = None
            # Any error, botocore's, Docker's or the network's: tried again at the next poll.
            except Exception as error:  # pylint: disable=broad-except
                self.outage(error)
            time.sleep(poll)

    def outage(self, error):
        now = time.monotonic()
        if self.down_since is None or now - self.down_since >= OUTAGE_LOG_EVERY:
            log("no step: %s" % error)
            self.down_since = now


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--poll", type=float, default=1.0)
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as config_file:
        config = json.load(config_file)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    log("watching %s" % ", ".join(config["stacks"]))
    Hypervisor(config).run(args.poll, lambda: bool(stop))
    return 0


if __name__ == "__main__":
    sys.exit(main())
