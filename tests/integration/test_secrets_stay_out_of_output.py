"""A service's env may hold secrets: no task that touches the services prints one, even when it fails,
even at -vvv. Each run fails one such task on purpose (the fault-injecting proxy, a test double, denies
one AWS action), and the whole output of the run is searched for the planted secret."""

from __future__ import annotations

import contextlib
import sys

import pytest

from harness import REPO
from stacks import IMAGES, REGION

sys.path.insert(0, str(REPO / "tests" / "doubles"))

import aws_fault_proxy  # noqa: E402  pylint: disable=wrong-import-position
from http_double import RequestLog, serve  # noqa: E402  pylint: disable=wrong-import-position

SECRET = "planted-s3cret-7f3a1c"
SERVICES = [{"name": "web", "image": "nginx:1", "ports": ["80:80"], "env": {"API_TOKEN": SECRET, "MODE": "prod"}},
            {"name": "worker", "image": "worker:2", "env": {"DB_PASSWORD": SECRET}}]


@contextlib.contextmanager
def denying(upstream, action, log):
    """The emulator behind a proxy that answers `action` with AccessDenied (AuthFailure for EC2's query protocol);
    PutParameter only for the env's parameter, not for the stack's lock."""
    code = "AccessDenied" if action in ("CreateLogGroup", "PutParameter") else "UnauthorizedOperation"
    faults = aws_fault_proxy.Faults([(action, 1000, code, "/env" if action == "PutParameter" else "")])
    (server,) = serve([("127.0.0.1", 0)], aws_fault_proxy.make_handler(faults, upstream, RequestLog(str(log))))
    try:
        yield "http://%s:%d" % server.server_address[:2]
    finally:
        server.shutdown()


def stack(endpoint, **changes):
    return {"leaky": dict({"spot_region": REGION, "spot_endpoint_url": endpoint, "spot_image_id": IMAGES["arm64"],
                           "spot_pull_repo": "https://example.com/site.git", "spot_services": SERVICES}, **changes)}


# The task that fails, and how: an AWS action the proxy denies, or bad input next to the secret.
CASES = {
    "Create the log groups with their retention": ("CreateLogGroup", {}),
    "Store the services' environment as a SecureString": ("PutParameter", {}),
    "Write the launch template": ("CreateLaunchTemplate", {}),
    "Check the stack's variables against the stack API": (None, {"spot_services": [dict(SERVICES[0], ports=["80"]), SERVICES[1]]}),
    "Check that the user-data fits in EC2's 16 KB": (None, {"spot_instance_vars": {"docker_daemon_options": {"labels": ["x" * 17000]}}}),
}


@pytest.mark.parametrize("task", sorted(CASES))
def test_a_failing_task_that_touches_the_services_prints_no_secret(aws, tmp_path, task):
    aws.reset()
    action, changes = CASES[task]
    with (denying(aws.url, action, tmp_path / "proxy.jsonl") if action else contextlib.nullcontext(aws.url)) as endpoint:
        run = aws.playbook("provision", stack(endpoint, **changes), "-vvv")
    assert run.rc != 0
    failed, _message = run.failure("leaky")
    assert failed == task
    assert SECRET not in run.output
