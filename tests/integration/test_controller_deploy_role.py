"""controller_policy.yml's deploy role for GitHub Actions: GitHub's OpenID Connect provider and a role that one
repository's branch may assume, with the generated policy inline; a second run and --check change nothing; both go
with controller_deploy_state=absent and controller_oidc_provider_state=absent."""

from __future__ import annotations

import json

import pytest

from stacks import REGION

ROLE = "spotkit-deploy"
PROVIDER = "token.actions.githubusercontent.com"


def arguments(aws, path, *extra):
    return ("-e", "controller_policy_path=%s" % path, "-e", "controller_deploy_role=%s" % ROLE,
            "-e", "controller_github_repository=you/site", "-e", "controller_github_branch=main",
            "-e", "controller_endpoint_url=%s" % aws.url, *extra)


@pytest.fixture(scope="module", name="world")
def fixture_world(aws, tmp_path_factory):
    aws.reset()
    path = tmp_path_factory.mktemp("deploy-role") / "controller-policy.json"
    stacks = {"blog": {"spot_region": REGION, "spot_domain": "blog.example.com"}}
    return {"aws": aws, "path": path, "stacks": stacks}


def run(world, *extra):
    done = world["aws"].playbook("controller_policy", world["stacks"], *arguments(world["aws"], world["path"], *extra))
    assert done.rc == 0, done.explain()
    return done


def test_the_role_trusts_one_branch_of_one_repository_and_holds_the_policy(world):
    run(world)
    iam = world["aws"].client("iam")
    (provider,) = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert provider["Arn"].endswith(":oidc-provider/" + PROVIDER)
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider["Arn"])["ClientIDList"] == ["sts.amazonaws.com"]
    trust = iam.get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Federated": provider["Arn"]}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {"StringEquals": {PROVIDER + ":aud": "sts.amazonaws.com",
                                                       PROVIDER + ":sub": "repo:you/site:ref:refs/heads/main"}}
    assert iam.list_role_policies(RoleName=ROLE)["PolicyNames"] == [ROLE]
    policy = iam.get_role_policy(RoleName=ROLE, PolicyName=ROLE)["PolicyDocument"]
    assert (json.loads(policy) if isinstance(policy, str) else policy) == json.loads(world["path"].read_text())
    assert iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"] == []


def test_pull_requests_get_a_role_that_only_reads(world):
    iam = world["aws"].client("iam")
    check = ROLE + "-check"
    (statement,) = iam.get_role(RoleName=check)["Role"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Condition"]["StringEquals"][PROVIDER + ":sub"] == "repo:you/site:pull_request"
    policy = iam.get_role_policy(RoleName=check, PolicyName=check)["PolicyDocument"]
    reads = {action for part in (json.loads(policy) if isinstance(policy, str) else policy)["Statement"] for action in part["Action"]}
    everything = {action for part in json.loads(world["path"].read_text())["Statement"] for action in part["Action"]}
    assert reads and reads <= everything
    assert {action.split(":")[1].startswith(("Describe", "Get", "List")) for action in reads} == {True}
    # Check mode reads the lock: it takes none.
    assert "ssm:GetParameter" in reads and "ssm:PutParameter" not in reads


def test_a_second_run_and_check_mode_change_nothing(world):
    for extra in ((), ("--check",)):
        again = run(world, *extra)
        assert again.changed_tasks("localhost") == [], extra


def test_absent_removes_the_role_and_the_provider(world):
    gone = run(world, "-e", "controller_deploy_state=absent", "-e", "controller_oidc_provider_state=absent")
    assert gone.changed_tasks("localhost") == ["Remove the deploy role and the check role", "Remove GitHub Actions' provider"]
    iam = world["aws"].client("iam")
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    assert [role["RoleName"] for role in iam.list_roles()["Roles"]] == []


@pytest.mark.parametrize("given", [(), ("-e", "controller_policy_path=")], ids=["missing", "empty"])
def test_without_a_path_the_playbook_fails_first_naming_the_variable(world, given):
    failed = world["aws"].playbook("controller_policy", world["stacks"], *given)
    assert failed.rc != 0
    name, message = failed.failure("localhost")
    assert name == "Check where the policy goes"
    assert "controller_policy_path must be" in message and 'got ""' in message, message
