"""--check against an empty account: the run succeeds, reports what it would create, and creates nothing."""

from __future__ import annotations

from stacks import example_stacks, with_state


def test_check_mode_on_an_empty_account_creates_nothing(aws):
    aws.reset()
    run = aws.playbook("provision", with_state(example_stacks(aws.url)), "--check", "--diff")
    assert run.rc == 0, run.explain()
    for stack in ("blog", "uptime"):
        changed = run.changed_tasks(stack)
        for task in ("Create the security group", "Allocate the Elastic IP", "Create the instance role",
                     "Create the log groups with their retention", "Point the stack's domain at its Elastic IP",
                     "Write the launch template", "Keep one spot instance running",
                     "Create the stack's topics (check mode, where they do not exist yet)",
                     "Create the alarms", "Say on the topic when the group launches, cannot launch or loses an instance"):
            assert task in changed, (stack, changed)
    # Only the blog faces the world: the uptime page is on its instance's loopback.
    assert "Check the site from outside" in run.changed_tasks("blog")
    assert "Check the site from outside" not in run.changed_tasks("uptime")
    assert "Store the services' environment as a SecureString" in run.changed_tasks("uptime")
    # The blog's state bucket, with each part of its configuration; the uptime stack has none.
    [bucket] = [result for name, result in run.task_results("blog")
                if name == "Create the state bucket, encrypted, versioned and closed to all but the stack"]
    assert bucket["changed"] and bucket["changes"][0] == "bucket" and "policy" in bucket["changes"]
    assert "Create the state bucket, encrypted, versioned and closed to all but the stack" not in run.changed_tasks("uptime")
    assert aws.tagged_resources() == []
    left = aws.inventory_of_resources()
    assert left == {key: [] for key in left}
