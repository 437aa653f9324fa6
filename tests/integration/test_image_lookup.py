"""With spot_image_id empty, the image comes from Debian's public SSM parameter for the types' architecture.

The emulator holds Debian's image parameters (sandbox/emulator/moto_gaps.py), naming images it
knows; moto's request recorder shows which names the role asked for.
"""

from __future__ import annotations

from stacks import IMAGES, example_stacks


def test_the_parameter_of_each_architecture_is_read(aws):
    aws.reset()
    stacks = example_stacks(aws.url)
    for stack in stacks.values():
        stack["spot_image_id"] = ""
    stacks["uptime"]["spot_instance_types"] = ["t3.nano", "t3a.nano"]
    # Check mode reads what a real run reads (the image among it) and writes nothing.
    with aws.recording():
        run = aws.playbook("provision", stacks, "--check")
    assert run.rc == 0, run.explain()
    asked = [body["Name"] for body in aws.requests("AmazonSSM.GetParameter") if body["Name"].startswith("/aws/service/")]
    assert sorted(asked) == [
        "/aws/service/debian/release/13/latest/amd64", "/aws/service/debian/release/13/latest/arm64",
    ]
    for stack, image in (("blog", IMAGES["arm64"]), ("uptime", IMAGES["x86_64"])):
        found = dict(run.task_results(stack))["Look up what the stack has in AWS"]
        assert found["image"]["image_id"] == image
    assert aws.tagged_resources() == []


def test_the_base_image_is_recorded_and_kept_until_an_update_is_asked(aws):
    """A re-run never replaces the instance for a newer image by itself: the launch template records the one it
    was made from, and only spot_image_update takes the newest (here the emulator's newest is IMAGES["arm64"])."""
    aws.reset()
    stacks = example_stacks(aws.url)
    del stacks["uptime"]
    stacks["blog"]["spot_image_id"] = ""
    run = aws.playbook("provision", stacks)
    assert run.rc == 0, run.explain()
    ec2 = aws.client("ec2")
    template = ec2.describe_launch_templates(LaunchTemplateNames=["spotkit-blog"])["LaunchTemplates"][0]

    def recorded():
        # DescribeTags, which lists the tags added after the template's creation too.
        tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [template["LaunchTemplateId"]]}])["Tags"]
        return {tag["Key"]: tag["Value"] for tag in tags}.get("spotkit:base-image")

    assert recorded() == IMAGES["arm64"]

    # As if the template had been made from an older image, which Debian has since replaced.
    older = next(image["ImageId"] for image in ec2.describe_images(Filters=[{"Name": "architecture", "Values": ["arm64"]}])["Images"]
                 if image["ImageId"] != IMAGES["arm64"] and image.get("RootDeviceName"))
    ec2.create_tags(Resources=[template["LaunchTemplateId"]], Tags=[{"Key": "spotkit:base-image", "Value": older}])
    version = ec2.describe_launch_templates(LaunchTemplateNames=["spotkit-blog"])["LaunchTemplates"][0]["LatestVersionNumber"]

    kept = aws.playbook("provision", stacks)
    assert kept.rc == 0, kept.explain()
    assert "Write the launch template" in kept.changed_tasks("blog")
    assert any("the newest is %s: -e spot_image_update=true takes it" % IMAGES["arm64"] in message for message in kept.messages()), kept.messages()
    data = ec2.describe_launch_template_versions(LaunchTemplateName="spotkit-blog", Versions=["$Latest"])["LaunchTemplateVersions"][0]
    assert data["LaunchTemplateData"]["ImageId"] == older

    again = aws.playbook("provision", stacks)
    assert again.rc == 0 and again.stats("blog")["changed"] == 0, again.changed_tasks("blog")

    updated = aws.playbook("provision", stacks, "-e", "spot_image_update=true")
    assert updated.rc == 0, updated.explain()
    data = ec2.describe_launch_template_versions(LaunchTemplateName="spotkit-blog", Versions=["$Latest"])["LaunchTemplateVersions"][0]
    assert data["LaunchTemplateData"]["ImageId"] == IMAGES["arm64"]
    assert int(data["VersionNumber"]) > version
    assert recorded() == IMAGES["arm64"]
    assert aws.playbook("teardown", stacks).rc == 0
