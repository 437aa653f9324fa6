"""Runs of one stack at once: the stack's lock (the SSM parameter /spotkit/<stack>/lock) lets one through and
stops the other, naming the holder; a stale lock is broken; a fresh one stops a run before any change.

One small stack (no domain), one account; the tests run in file order, the first one creating the stack.
playbooks/image.yml, which takes the lock too and, for a stack that bakes no image, only looks the stack up,
stands for the longer provisioning runs where the test is about the lock alone.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import json

import pytest

from stacks import example_stacks

STACK = "blog"
LOCK = "/spotkit/%s/lock" % STACK
TAKE = "Take the stack's lock, so that no other run changes it meanwhile"


@pytest.fixture(scope="module")
def stacks(aws):
    aws.reset()
    return {STACK: dict(example_stacks(aws.url)[STACK], spot_domain="")}


def put_lock(aws, holder, expires_in):
    """A lock of another run, as spotkit.ec2.stack_lock writes it, expiring in expires_in seconds (past when negative)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    lock = {"holder": holder, "pid": 4242, "run": "provisioning, play 'Provision the stacks' of /elsewhere",
            "acquired": (now - datetime.timedelta(hours=2)).strftime(stamp),
            "expires": (now + datetime.timedelta(seconds=expires_in)).strftime(stamp), "token": "test-token"}
    aws.client("ssm").put_parameter(Name=LOCK, Type="String", Value=json.dumps(lock))


def parameters(aws):
    return [parameter["Name"] for parameter in aws.client("ssm").describe_parameters()["Parameters"]]


def test_of_two_runs_started_together_one_provisions_and_the_other_names_it(aws, stacks, tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("# Deploy\n")
    stacks = {STACK: dict(stacks[STACK], spot_cost_summary_path=str(summary))}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda ignored: aws.playbook("provision", stacks), range(2)))
    done = [run for run in runs if run.rc == 0]
    stopped = [run for run in runs if run.rc != 0]
    assert len(done) == 1 and len(stopped) == 1, [run.explain() for run in runs]
    task, message = stopped[0].failure(STACK)
    assert task == TAKE, stopped[0].explain()
    # The holder: the AWS identity and user@host, the pid of its ansible-playbook, what it runs.
    assert message.startswith("Stack blog is locked by another run: arn:aws:"), message
    assert "@" in message and ", pid " in message and "running provisioning, play 'Provision the stacks'" in message
    assert stopped[0].changed_tasks(STACK) == []
    assert done[0].stats(STACK)["changed"] > 0
    # The stack is whole, once, and the lock is gone.
    left = aws.inventory_of_resources()
    assert (len(left["addresses"]), left["groups"], left["launch templates"]) == (1, ["spotkit-blog"], ["spotkit-blog"])
    assert LOCK not in parameters(aws)
    # The cost, for CI's job summary: after what was there, in a block of its own.
    text = summary.read_text()
    assert text.startswith("# Deploy\n<!-- BEGIN spotkit.ec2 cost of stack blog -->\n```text\nblog in eu-west-1, "), text
    assert "  total  " in text and text.endswith("\n```\n<!-- END spotkit.ec2 cost of stack blog -->\n")


def test_a_stale_lock_is_broken_and_the_run_goes_on(aws, stacks):
    put_lock(aws, "ci@dead-runner", -60)
    run = aws.playbook("image", stacks)
    assert run.rc == 0, run.explain()
    assert run.stats(STACK)["changed"] == 0, run.changed_tasks(STACK)
    assert dict(run.task_results(STACK))[TAKE]["broken"]["holder"] == "ci@dead-runner"
    assert LOCK not in parameters(aws)


def test_a_fresh_lock_stops_the_run_before_any_change_and_a_check_warns(aws, stacks):
    put_lock(aws, "ci@other-runner", 600)
    with aws.recording():
        run = aws.playbook("provision", stacks)
    assert run.rc != 0
    task, message = run.failure(STACK)
    assert task == TAKE
    assert "locked by another run: ci@other-runner, pid 4242, running provisioning" in message, message
    assert "delete the SSM parameter %s" % LOCK in message
    # Nothing but the lock was asked for: no look-up, no create.
    assert set(aws.actions()) <= {"GetCallerIdentity", "PutParameter", "GetParameter"}, aws.actions()
    assert [body["Name"] for body in aws.requests("AmazonSSM.PutParameter")] == [LOCK]

    check = aws.playbook("image", stacks, "--check")
    assert check.rc == 0, check.explain()
    assert check.stats(STACK)["changed"] == 0, check.changed_tasks(STACK)
    assert any("locked by another run: ci@other-runner" in warning for warning in check.warnings(STACK)), check.warnings(STACK)
    # Neither run touched the other's lock.
    assert json.loads(aws.client("ssm").get_parameter(Name=LOCK)["Parameter"]["Value"])["token"] == "test-token"
    aws.client("ssm").delete_parameter(Name=LOCK)
