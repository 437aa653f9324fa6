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
