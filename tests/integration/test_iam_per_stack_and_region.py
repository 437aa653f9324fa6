"""IAM is global: one stack name in two regions owns two roles, and the operator's managed policies stay attached."""

from __future__ import annotations

import json

import pytest

from stacks import IMAGES, REGION

OTHER_REGION = "eu-central-1"
STACK = {"spot_image_id": IMAGES["arm64"], "spot_pull_repo": "https://example.com/site.git",
         "spot_services": [{"name": "web", "image": "nginx:1", "ports": ["80:80"]}]}


def inventory(aws, region, **changes):
    return {"twin": dict(STACK, spot_region=region, spot_endpoint_url=aws.url, **changes)}


def role_names(aws):
    return sorted(role["RoleName"] for role in aws.client("iam").list_roles()["Roles"] if role["RoleName"].startswith("spotkit-"))


@pytest.fixture(scope="module", name="policy_arn")
def fixture_policy_arn(aws):
    aws.reset()
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]}]}
    return aws.client("iam").create_policy(PolicyName="site-assets", PolicyDocument=json.dumps(document))["Policy"]["Arn"]


def test_the_same_stack_in_two_regions_has_two_roles_and_one_teardown_leaves_the_other(aws, policy_arn):
    for region in (REGION, OTHER_REGION):
        run = aws.playbook("provision", inventory(aws, region))
        assert run.rc == 0, run.explain()
    assert role_names(aws) == ["spotkit-twin-%s" % OTHER_REGION, "spotkit-twin-%s" % REGION]

    run = aws.playbook("teardown", inventory(aws, OTHER_REGION))
    assert run.rc == 0, run.explain()
    assert role_names(aws) == ["spotkit-twin-%s" % REGION]
    profile = aws.client("iam").get_instance_profile(InstanceProfileName="spotkit-twin-%s" % REGION)["InstanceProfile"]
    assert [role["RoleName"] for role in profile["Roles"]] == ["spotkit-twin-%s" % REGION]


def test_declared_managed_policies_are_attached_and_kept(aws, policy_arn):
    iam = aws.client("iam")
    name = "spotkit-twin-%s" % REGION
    stacks = inventory(aws, REGION, spot_instance_policy_arns=[policy_arn])
    run = aws.playbook("provision", stacks)
    assert run.rc == 0, run.explain()
    assert run.changed_tasks("twin") == ["Create the instance role"]
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]] == [policy_arn]

    again = aws.playbook("provision", stacks)
    assert again.rc == 0 and again.stats("twin")["changed"] == 0, again.changed_tasks("twin")

    # One attached by hand and not declared is detached; the declared one stays.
    by_hand = iam.create_policy(PolicyName="by-hand", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": ["*"]}]}))
    iam.attach_role_policy(RoleName=name, PolicyArn=by_hand["Policy"]["Arn"])
    run = aws.playbook("provision", stacks)
    assert run.rc == 0, run.explain()
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]] == [policy_arn]

    run = aws.playbook("teardown", stacks)
    assert run.rc == 0, run.explain()
    assert role_names(aws) == []
