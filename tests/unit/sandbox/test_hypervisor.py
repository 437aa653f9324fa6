"""The sandbox's hypervisor (sandbox/tools/hypervisor.py) against the real emulator (moto in server mode), with the
docker CLI replaced by a recorder of its calls that answers from a table of containers and images."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

TOOLS = Path(__file__).resolve().parents[3] / "sandbox" / "tools"
sys.path.insert(0, str(TOOLS))
import hypervisor  # noqa: E402 pylint: disable=wrong-import-position

KEYS = {"region": "us-east-1", "access_key": "testing", "secret_key": "testing"}


class FakeDocker:
    """What the hypervisor asks the docker CLI: instance containers (id -> state), stack images' tags, calls made."""

    def __init__(self):
        self.containers = {}
        self.images = set()
        self.calls = []
        self.in_use = set()

    def __call__(self, *args, check=True):
        self.calls.append(args)
        out, code = "", 0
        if args[:1] == ("ps",):
            out = "\n".join("spotkit-sandbox-%s %s" % item for item in self.containers.items())
        elif args[:1] == ("images",):
            out = "\n".join(sorted(self.images))
        elif args[:2] == ("container", "inspect"):
            out = json.dumps([{"Destination": "/var/lib/docker", "Name": "data-of-" + args[-1]}, {"Destination": "/run"}])
        elif args[:1] == ("commit",):
            self.images.add(args[-1].split(":")[1])
        elif args[:1] == ("rmi",):
            tag = args[1].split(":")[1]
            code = 1 if tag in self.in_use else 0
            if not code:
                self.images.discard(tag)
        return type("Completed", (), {"stdout": out, "returncode": code})()


class World:
    """The hypervisor under test, the emulator's EC2, the fake docker, and the file the boot command appends to."""

    def __init__(self, machine, ec2, fake, booted):
        self.machine, self.ec2, self.fake, self.booted = machine, ec2, fake, booted


@pytest.fixture(name="emulator", scope="module")
def fixture_emulator():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield "http://%s:%d" % (host, port)
    server.stop()


@pytest.fixture(name="world")
def fixture_world(emulator, monkeypatch, tmp_path):
    """A hypervisor of stack `blog` (and its emulator's EC2), its fake docker, and a file its boot command appends to."""
    requests = boto3.client("ec2", endpoint_url=emulator, region_name=KEYS["region"], aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    fake = FakeDocker()
    monkeypatch.setattr(hypervisor, "docker", fake)
    booted = tmp_path / "booted"
    config = {"stacks": {"blog": dict(KEYS, endpoint_url=emulator)}, "label": "spotkit.sandbox",
              "prefix": "spotkit-sandbox-", "ami_repository": "spotkit-sandbox-ami", "instance_image": "spotkit-instance:t",
              "boot": ["sh", "-c", "echo boot >>%s" % booted]}
    yield World(hypervisor.Hypervisor(config), requests, fake, booted)
    for reservation in requests.describe_instances()["Reservations"]:
        requests.terminate_instances(InstanceIds=[instance["InstanceId"] for instance in reservation["Instances"]])
    for image in requests.describe_images(Owners=["self"])["Images"]:
        requests.deregister_image(ImageId=image["ImageId"])


def launch(ec2, role):
    image = ec2.describe_images()["Images"][0]["ImageId"]
    tags = [{"Key": "spotkit:stack", "Value": "blog"}] + ([{"Key": "spotkit:role", "Value": role}] if role else [])
    (instance,) = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[
        {"ResourceType": "instance", "Tags": tags}])["Instances"]
    return instance["InstanceId"]


def state(ec2, instance_id):
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"]


@pytest.mark.parametrize("exit_code,boots", [(0, 1), (3, 2)], ids=["booted once", "a failed boot is tried again"])
def test_a_running_builder_without_a_container_is_booted_until_the_boot_succeeds(world, exit_code, boots):
    machine, ec2, booted = world.machine, world.ec2, world.booted
    machine.config["boot"] = ["sh", "-c", "echo boot >>%s; exit %d" % (booted, exit_code)]
    launch(ec2, "builder")
    machine.step()
    machine.step()
    assert booted.read_text() == "boot\n" * boots


def test_an_instance_that_is_no_builder_is_left_to_the_boot_step(world):
    machine, ec2, booted = world.machine, world.ec2, world.booted
    launch(ec2, "")
    machine.step()
    assert not booted.exists()


def test_a_builder_that_powered_off_is_stopped(world):
    machine, ec2, fake = world.machine, world.ec2, world.fake
    builder, other = launch(ec2, "builder"), launch(ec2, "")
    fake.containers.update({builder: "exited", other: "exited"})
    machine.step()
    assert (state(ec2, builder), state(ec2, other)) == ("stopped", "running")


def test_an_image_of_a_builder_is_committed_with_its_docker_data(world):
    machine, ec2, fake = world.machine, world.ec2, world.fake
    builder = launch(ec2, "builder")
    fake.containers[builder] = "exited"
    image = ec2.create_image(InstanceId=builder, Name="blog-1", TagSpecifications=[{"ResourceType": "image", "Tags": [
        {"Key": "spotkit:stack", "Value": "blog"}, {"Key": "spotkit:builder", "Value": builder}]}])["ImageId"]
    machine.step()
    made = [call for call in fake.calls if call[0] in ("volume", "run", "commit")]
    assert made == [
        ("volume", "create", "--label", "spotkit.sandbox=ami", "spotkit-sandbox-ami-" + image),
        ("run", "--rm", "--cap-add", "SYS_ADMIN", "--volume", "data-of-spotkit-sandbox-%s:/from:ro" % builder,
         "--volume", "spotkit-sandbox-ami-%s:/to" % image, "--entrypoint", "cp", "spotkit-instance:t", "-a", "/from/.", "/to/"),
        ("commit", "--change", "LABEL spotkit.sandbox=ami", "spotkit-sandbox-" + builder, "spotkit-sandbox-ami:" + image)]
    fake.calls.clear()
    machine.step()
    assert [call for call in fake.calls if call[0] == "commit"] == []


def test_the_image_of_a_deregistered_image_goes_once_no_container_uses_it(world):
    machine, fake = world.machine, world.fake
    fake.images.update({"ami-12345678", "ami-87654321"})
    fake.in_use.add("ami-87654321")
    machine.step()
    assert fake.images == {"ami-87654321"}
    assert ("volume", "rm", "--force", "spotkit-sandbox-ami-ami-12345678") in fake.calls
    assert ("volume", "rm", "--force", "spotkit-sandbox-ami-ami-87654321") not in fake.calls
