"""The stack image (spot_image_bake): baked once, again only when its inputs change, pruned to spot_image_keep,
launched by the launch template, predicted by --check, removed by teardown.

One stack, provisioned once for the module and changed step by step: the tests run in this file's order. The
emulator runs nothing on an instance: tests/doubles/builder_double.py plays the builder (it tags it
spotkit:bake=done and stops it). The project is a local git repository, which the controller asks for its commit.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness import REPO
from stacks import example_stacks

sys.path.insert(0, str(REPO / "tests" / "doubles"))
from builder_double import builder_double  # noqa: E402 pylint: disable=wrong-import-position

STACK = "blog"
# Look at the builder every second rather than every 15.
FAST = ("-e", "_spot_instance_bake_poll_delay=1")


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


class Project:
    """A git repository with one branch, main, as the stack's spot_pull_repo."""

    def __init__(self, path):
        self.path = path
        subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
        git(path, "config", "user.email", "tests@example.com")
        git(path, "config", "user.name", "tests")
        self.commit()

    @property
    def url(self):
        return "file://%s" % self.path

    def commit(self):
        git(self.path, "commit", "-q", "--allow-empty", "-m", "change")
        return git(self.path, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def world(aws, tmp_path_factory):
    aws.reset()
    project = Project(tmp_path_factory.mktemp("project") / "site")
    stacks = {STACK: example_stacks(aws.url)[STACK]}
    # No domain: the image needs none, and the runs are shorter without one.
    stacks[STACK].update(spot_pull_repo=project.url, spot_image_bake=True, spot_image_keep=2, spot_domain="")
    world = {"aws": aws, "ec2": aws.client("ec2"), "project": project, "stacks": stacks, "torn_down": False}
    with builder_double(aws.client("ec2")) as world["double"]:
        yield world
        if not world["torn_down"]:
            aws.playbook("teardown", stacks)


def provision(world, *args):
    run = world["aws"].playbook("provision", world["stacks"], *FAST, *args)
    assert run.rc == 0, run.explain()
    return run


def images(world):
    found = world["ec2"].describe_images(Owners=["self"], Filters=[{"Name": "tag:spotkit:stack", "Values": [STACK]}])["Images"]
    return sorted(({**image, "Tags": {t["Key"]: t["Value"] for t in image.get("Tags", [])}} for image in found),
                  key=lambda image: image["CreationDate"], reverse=True)


def launched_image(world):
    versions = world["ec2"].describe_launch_template_versions(LaunchTemplateName="spotkit-" + STACK, Versions=["$Latest"])
    return versions["LaunchTemplateVersions"][0]["LaunchTemplateData"]["ImageId"]


def live_builders(world):
    reservations = world["ec2"].describe_instances(Filters=[
        {"Name": "tag:spotkit:role", "Values": ["builder"]},
        {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}])["Reservations"]
    return [instance["InstanceId"] for reservation in reservations for instance in reservation["Instances"]]


def stack_snapshots(world):
    found = world["ec2"].describe_snapshots(OwnerIds=["self"], Filters=[{"Name": "tag:spotkit:stack", "Values": [STACK]}])
    return sorted(snapshot["SnapshotId"] for snapshot in found["Snapshots"])


def test_the_first_run_bakes_one_image_and_launches_it(world):
    run = provision(world)
    assert "Make the stack image from the builder" in run.changed_tasks(STACK)
    (image,) = images(world)
    tags = image["Tags"]
    assert tags["spotkit:role"] == "image" and tags["spotkit:stack"] == STACK
    assert tags["spotkit:commit"] == git(world["project"].path, "rev-parse", "HEAD")
    assert tags["spotkit:images"] == "blog=ghcr.io/you/blog:latest"
    assert len(tags["spotkit:bake-key"]) == 64
    assert image["Name"].startswith("spotkit-%s-" % STACK)
    # The builder was told to bake, with the stack's own user-data, and is gone.
    builder = tags["spotkit:builder"]
    settings = world["double"].served[builder].split('"spot_bake":true', 1)
    assert len(settings) == 2, world["double"].served[builder]
    assert live_builders(world) == []
    (described,) = world["ec2"].describe_instances(InstanceIds=[builder])["Reservations"][0]["Instances"]
    assert {t["Key"]: t["Value"] for t in described["Tags"]}["Name"] == "spotkit-%s-builder" % STACK
    assert described["MetadataOptions"]["HttpTokens"] == "required"
    # The launch template launches the stack image and still records the base image.
    assert launched_image(world) == image["ImageId"]
    template = world["ec2"].describe_launch_templates(LaunchTemplateNames=["spotkit-" + STACK])["LaunchTemplates"][0]
    template_tags = world["ec2"].describe_tags(Filters=[{"Name": "resource-id", "Values": [template["LaunchTemplateId"]]}])["Tags"]
    assert {t["Key"]: t["Value"] for t in template_tags}["spotkit:base-image"] == tags["spotkit:base-image"]
    # Its snapshot carries the stack's tag, so that teardown finds it.
    assert len(stack_snapshots(world)) == 1


def test_an_unchanged_run_bakes_nothing_and_changes_nothing(world):
    before = images(world)
    run = provision(world)
    assert run.stats(STACK)["changed"] == 0, run.changed_tasks(STACK)
    assert [image["ImageId"] for image in images(world)] == [image["ImageId"] for image in before]


def test_check_mode_predicts_the_bake_of_a_new_commit(world):
    world["project"].commit()
    before = images(world)
    run = provision(world, "--check")
    assert "Bake the stack image (check mode)" in run.changed_tasks(STACK)
    assert any("a stack image would be baked" in message for message in run.messages(STACK)), run.messages(STACK)
    assert images(world) == before and live_builders(world) == []


def test_the_image_playbook_bakes_the_new_commit_and_leaves_the_template(world):
    commit = git(world["project"].path, "rev-parse", "HEAD")
    launched = launched_image(world)
    run = world["aws"].playbook("image", world["stacks"], *FAST)
    assert run.rc == 0, run.explain()
    assert "Make the stack image from the builder" in run.changed_tasks(STACK)
    assert "Write the launch template" not in [name for name, _result in run.task_results(STACK)]
    found = images(world)
    assert len(found) == 2
    assert found[0]["Tags"]["spotkit:commit"] == commit
    assert launched_image(world) == launched


def test_a_new_service_image_bakes_again_and_the_oldest_image_goes_with_its_snapshot(world):
    """The image that image.yml baked is the newest but one now; the template launches the newest."""
    oldest = images(world)[-1]
    digest = "sha256:" + "a" * 64
    world["stacks"][STACK]["spot_services"][0]["image"] = "ghcr.io/you/blog@" + digest
    run = provision(world)
    assert "Deregister the older stack images with their snapshots" in run.changed_tasks(STACK)
    found = images(world)
    assert len(found) == 2 and oldest["ImageId"] not in [image["ImageId"] for image in found]
    assert found[0]["Tags"]["spotkit:images"] == "blog=" + digest
    assert launched_image(world) == found[0]["ImageId"]
    assert oldest["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"] not in stack_snapshots(world)
    assert len(stack_snapshots(world)) == 2


def test_a_new_base_image_bakes_again_and_a_failed_bake_fails_the_run_with_its_reason(world):
    """The launch template keeps its image when the bake fails."""
    ec2 = world["ec2"]
    current = world["stacks"][STACK]["spot_image_id"]
    other = next(image["ImageId"] for image in ec2.describe_images(Filters=[{"Name": "architecture", "Values": ["arm64"]}])["Images"]
                 if image["ImageId"] != current and image.get("RootDeviceName"))
    world["stacks"][STACK]["spot_image_id"] = other
    launched = launched_image(world)
    world["double"].error = "container_service: pull of ghcr.io/you/blog failed"
    try:
        run = world["aws"].playbook("provision", world["stacks"], *FAST)
    finally:
        world["double"].error = ""
        world["stacks"][STACK]["spot_image_id"] = current
    assert run.rc != 0
    task, message = run.failure(STACK)
    assert task == "Check that the builder baked the stack image", (task, message)
    assert "failed its bake" in message and "container_service: pull of ghcr.io/you/blog failed" in message, message
    assert launched_image(world) == launched and live_builders(world) == []


def test_teardown_removes_the_images_their_snapshots_and_a_builder(world):
    # A builder that an interrupted run left behind.
    ec2 = world["ec2"]
    base = images(world)[0]["Tags"]["spotkit:base-image"]
    world["double"].stop()
    ec2.run_instances(ImageId=base, MinCount=1, MaxCount=1, TagSpecifications=[{"ResourceType": "instance", "Tags": [
        {"Key": "spotkit:stack", "Value": STACK}, {"Key": "spotkit:role", "Value": "builder"}]}])
    world["stacks"][STACK]["spot_teardown_log_groups"] = True
    run = world["aws"].playbook("teardown", world["stacks"])
    world["torn_down"] = True
    assert run.rc == 0, run.explain()
    assert images(world) == [] and stack_snapshots(world) == [] and live_builders(world) == []
    left = world["aws"].inventory_of_resources()
    assert left == {key: [] for key in left}, json.dumps(left)
