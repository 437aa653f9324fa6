"""The controller's policy (playbooks/controller_policy.yml) suffices to provision and tear down a stack, and the
actions it names are needed: the runs are an IAM user's whose only policy is the generated one, against an emulator
that enforces IAM.

moto checks actions only: the policy's resources are widened to "*" and its conditions dropped here, and
tests/unit/roles/controller reads them. One stack without a domain, provisioned and torn down once for the module;
and, between them, what pull.yml calls on an instance is made as a user holding the stack's instance policy. Then,
for two actions drawn from those that the provisioning run made, a provisioning run without that action fails and names
it (drawn from provisioning's only: a teardown-only action would cost a whole provisioning run first). The seed of the draw
is printed; SPOTKIT_POLICY_SEED=<seed> draws the same actions again, SPOTKIT_POLICY_ACTIONS=all tries every one of them
(about 22 minutes), SPOTKIT_POLICY_ACTIONS=<action>,<action> those.
"""

from __future__ import annotations

import datetime
import json
import os
import random

import botocore.exceptions
import pytest

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.spotkit.ec2.plugins.modules import stack_eip_attach, stack_launch_hook
from harness.aws import Aws
from harness.emulator import running_emulator
from stacks import IMAGES, REGION

STACK = "gate"
USER = "spotkit-deployer"
# AWS lets every caller ask who it is, whatever its policies; moto too.
ALWAYS_ALLOWED = {"sts:GetCallerIdentity"}
# Needed, but a run goes on without it: the cost then comes from its dated table, and says why.
FALLS_BACK = {"ec2:DescribeSpotPriceHistory"}
# Asked by amazon.aws's iam_role, which goes on when it is denied (seen with SPOTKIT_POLICY_SEED=1830772874).
TOLERATED = {"iam:ListRolePolicies"}
# Denied, these fail the run with amazon.aws's own message, which drops AWS's reason (the action): then that message
# is what a run says. All of them, found with SPOTKIT_POLICY_ACTIONS=all: ec2_security_group's messages name what it
# did, amazon.aws.ssm_parameter's message for its tags is empty.
UNNAMED = {"ec2:AuthorizeSecurityGroupIngress": "Unable to authorize ingress rules: ",
           "ec2:CreateSecurityGroup": "Unable to create security group: ", "ssm:ListTagsForResource": ""}


def stacks(url):
    return {STACK: {"spot_region": REGION, "spot_endpoint_url": url, "spot_image_id": IMAGES["arm64"],
                    "spot_pull_repo": "https://example.com/site.git", "spot_teardown_log_groups": True,
                    "spot_services": [{"name": "web", "image": "nginx:1", "ports": ["80:80"], "env": {"GREETING": "hello"},
                                       "volumes": ["/var/lib/web:/data"], "state": ["/var/lib/web"]}]}}


def reads_of(policy):
    """What the deploy role's check role holds (roles/controller): the policy's Describe, Get and List actions."""
    return [action for action in policy_actions(policy) if action.split(":")[1].startswith(("Describe", "Get", "List"))]


def widened(policy, without=()):
    """The policy as moto can check it: every resource "*", no condition; the actions `without` left out."""
    statements = [{"Effect": "Allow", "Action": [action for action in statement["Action"] if action not in without],
                   "Resource": "*"} for statement in policy["Statement"]]
    return {"Version": "2012-10-17", "Statement": [statement for statement in statements if statement["Action"]]}


class Account:
    """The emulator's account: `admin` unchecked, `user` the IAM user that runs the playbooks under enforcement."""

    def __init__(self, admin, policy):
        self.admin = admin
        self.policy = policy
        self.user = None
        self.instance_calls = {}
        self.check_run = None

    def create_user(self):
        iam = self.admin.client("iam")
        iam.create_user(UserName=USER)
        self.allow()
        key = iam.create_access_key(UserName=USER)["AccessKey"]
        self.user = Aws(self.admin.emulator, self.admin.workdir / "user",
                        {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]})
        self.user.workdir.mkdir(exist_ok=True)

    def reset(self):
        """An empty account again, with the user and the whole policy."""
        self.admin.reset()
        self.create_user()

    def allow(self, without=()):
        """The user's only policy: the generated one, less the actions `without` (while IAM is not enforced)."""
        self.admin.client("iam").put_user_policy(UserName=USER, PolicyName="controller",
                                                 PolicyDocument=json.dumps(widened(self.policy, without)))

    def reader(self):
        """An IAM user whose only policy is the policy's reads (reads_of), as a pull request's check run holds."""
        iam = self.admin.client("iam")
        iam.create_user(UserName="spotkit-checker")
        readonly = widened(self.policy, without=set(policy_actions(self.policy)) - set(reads_of(self.policy)))
        iam.put_user_policy(UserName="spotkit-checker", PolicyName="check", PolicyDocument=json.dumps(readonly))
        key = iam.create_access_key(UserName="spotkit-checker")["AccessKey"]
        return Aws(self.admin.emulator, self.user.workdir,
                   {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]})

    def run(self, playbook, *args, user=None):
        """Run a playbook as the user (or `user`), under enforcement; its IAM actions recorded."""
        self.admin.enforce_iam()
        try:
            with self.admin.recording():
                run = (user or self.user).playbook(playbook, stacks(self.admin.url), *args)
        finally:
            self.admin.enforce_iam(False)
        run.iam_actions = set(self.admin.iam_actions())
        return run


@pytest.fixture(scope="module", name="account")
def fixture_account(tmp_path_factory):
    """An emulator of its own: IAM enforcement would refuse the other tests' access keys."""
    with running_emulator(tmp_path_factory.mktemp("enforcing-emulator")) as emulator:
        admin = Aws(emulator, tmp_path_factory.mktemp("controller-policy"))
        path = admin.workdir / "controller-policy.json"
        run = admin.playbook("controller_policy", stacks(admin.url), "-e", "controller_policy_path=%s" % path)
        assert run.rc == 0, run.explain()
        account = Account(admin, json.loads(path.read_text()))
        account.reset()
        yield account


@pytest.fixture(scope="module", name="full_runs")
def fixture_full_runs(account):
    """Provision and teardown as the user with the whole policy: (provision run, teardown run); in between, what
    an instance of the stack does (account.instance_calls)."""
    provision = account.run("provision")
    if provision.rc == 0:
        account.instance_calls = instance_calls(account)
        account.check_run = account.run("provision", "--check", user=account.reader())
    return provision, account.run("teardown")


def instance_calls(account):
    """The AWS calls of pull.yml on an instance of the stack, made under enforcement by an IAM user whose only policy
    is the stack's instance policy (widened as above): {call: its error, empty when it worked}."""
    iam, name = account.admin.client("iam"), "spotkit-%s-%s" % (STACK, REGION)
    policy = iam.get_role_policy(RoleName=name, PolicyName=name)["PolicyDocument"]
    iam.create_user(UserName="spotkit-instance")
    iam.put_user_policy(UserName="spotkit-instance", PolicyName="instance", PolicyDocument=json.dumps(
        widened(json.loads(policy) if isinstance(policy, str) else policy)))
    key = iam.create_access_key(UserName="spotkit-instance")["AccessKey"]
    instance = Aws(account.admin.emulator, account.admin.workdir,
                   {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]})
    (group,) = account.admin.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    instance_id = group["Instances"][0]["InstanceId"]
    ec2 = instance.client("ec2")
    s3, bucket = instance.client("s3"), "spotkit-%s-%s-%s" % (STACK, REGION, account.admin.client("sts").get_caller_identity()["Account"])
    calls = {
        # The eip role's module, whole: it finds the address and associates it.
        "stack_eip_attach": lambda: stack_eip_attach.Attacher(lambda: ec2, STACK, instance_id, REGION).attempt(),
        # The eip role's launch hook: a failed attempt's heartbeat, then CONTINUE (the instance waits on the hook).
        "stack_launch_hook": lambda: launch_hook(instance, instance_id),
        # pull.yml's lookup of the services' env.
        "ssm GetParameter": lambda: instance.client("ssm").get_parameter(Name="/spotkit/%s/env" % STACK, WithDecryption=True),
        # A builder's bake outcome (amazon.aws.ec2_tag reads the tags, then sets them).
        "bake tags": lambda: (ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [instance_id]}]),
                              ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "spotkit:bake", "Value": "done"}])),
        # The state of a service: saved, restored, and a missing one found missing (ListBucket: NoSuchKey, not AccessDenied).
        "state": lambda: (s3.put_object(Bucket=bucket, Key="state/web.tar.gz", Body=b"state", Metadata={"sha256": "0" * 64}),
                          s3.get_object(Bucket=bucket, Key="state/web.tar.gz"), s3.list_objects_v2(Bucket=bucket, Prefix="state/")),
    }
    errors = {}
    account.admin.enforce_iam()
    try:
        for call, make in calls.items():
            try:
                make()
                errors[call] = ""
            except botocore.exceptions.ClientError as exc:
                errors[call] = str(exc)
    finally:
        account.admin.enforce_iam(False)
    return errors


def launch_hook(instance, instance_id):
    """What spotkit.ec2.stack_launch_hook asks and does for a failed attempt, then for one that succeeded."""
    clients = [RetryingBotoClientWrapper(instance.client(service), AWSRetry.jittered_backoff(retries=1))
               for service in ("autoscaling", "ec2")]
    for attempt, action in (("failed", "heartbeat"), ("succeeded", "continue")):
        decided = stack_launch_hook.decide({"stack": STACK, "attempt": attempt, "launch_budget": 1200}, instance_id, *clients,
                                           datetime.datetime.now(datetime.timezone.utc))
        assert decided["action"] == action, decided
        stack_launch_hook.act(clients[0], "spotkit-" + STACK, instance_id, action)


def test_the_instance_policy_allows_what_pull_yml_calls(account, full_runs):
    assert full_runs[0].rc == 0, full_runs[0].explain()
    assert account.instance_calls == {"stack_eip_attach": "", "stack_launch_hook": "", "ssm GetParameter": "", "bake tags": "",
                                      "state": ""}


def policy_actions(policy):
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def test_a_pull_requests_check_run_needs_only_the_reads(account, full_runs):
    assert full_runs[0].rc == 0, full_runs[0].explain()
    assert account.check_run.rc == 0, account.check_run.explain()
    assert account.check_run.changed_tasks(STACK) == []


def test_the_policy_provisions_and_tears_down_a_stack(account, full_runs):
    provision, teardown = full_runs
    assert provision.rc == 0, provision.explain()
    assert provision.stats(STACK)["changed"] > 0
    assert teardown.rc == 0, teardown.explain()
    assert account.admin.tagged_resources() == []
    assert {kind: found for kind, found in account.admin.inventory_of_resources().items() if found} == {}


def test_every_action_the_runs_made_is_in_the_policy(account, full_runs):
    made = set().union(*(run.iam_actions for run in full_runs))
    assert made, "nothing recorded"
    assert made - policy_actions(account.policy) == set()


def drawn_actions(candidates):
    """Two of the candidates, drawn by a printed seed; or those SPOTKIT_POLICY_ACTIONS names, all of them with `all`."""
    named = os.environ.get("SPOTKIT_POLICY_ACTIONS")
    if named:
        return "SPOTKIT_POLICY_ACTIONS=" + named, candidates if named == "all" else named.split(",")
    seed = int(os.environ.get("SPOTKIT_POLICY_SEED") or random.SystemRandom().randrange(2 ** 32))
    return "SPOTKIT_POLICY_SEED=%d" % seed, random.Random(seed).sample(candidates, 2)


def test_without_one_action_a_run_fails_and_names_it(account, full_runs):
    how, drawn = drawn_actions(sorted(full_runs[0].iam_actions - ALWAYS_ALLOWED - FALLS_BACK - TOLERATED))
    print("%s draws %s" % (how, ", ".join(drawn)))
    wrong = {}
    for action in drawn:
        account.allow(without=[action])
        failed = account.run("provision")
        message = (failed.failure(STACK) or ("", ""))[1] if failed.rc != 0 else None
        if message is None:
            wrong[action] = "provisioning worked without it"
        elif action not in failed.output and not message.startswith(UNNAMED.get(action, "\0")):
            wrong[action] = message
        # An empty account for the next action: quicker than a teardown.
        account.reset()
    assert wrong == {}, how
