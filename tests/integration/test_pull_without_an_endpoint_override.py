"""playbooks/pull.yml as it runs on AWS itself: the settings name no endpoint override. botocore's
AWS_ENDPOINT_URL points the run at the emulator, so the play takes the path real AWS takes (an
override of none, not of Ansible's omit placeholder, which a lookup refuses). --tags always runs
what every pull runs first: the settings, the services' env from SSM, the roles' argument checks."""

from __future__ import annotations

import json
import os
import sys

from harness.aws import CREDENTIALS
from harness.playbook import environment, run_playbook
from stacks import REGION

SETTINGS = {
    "spot_stack": "blog", "spot_region": REGION, "spot_pull_repo": "https://example.com/site.git", "spot_pull_version": "main",
    "spot_services": [{"name": "blog", "image": "nginx:1", "ports": ["80:80"], "volumes": [], "pull": "always",
                       "log_retention_days": 30}],
    "spot_env_parameter": "/spotkit/blog/env", "spot_env_version": 1,
}


def test_the_pull_play_reads_the_env_with_no_endpoint_override(aws, tmp_path):
    aws.reset()
    aws.client("ssm").put_parameter(Name="/spotkit/blog/env", Type="SecureString", Value=json.dumps({"blog": {"K": "v"}}))
    settings = tmp_path / "stack.json"
    settings.write_text(json.dumps(SETTINGS))
    env = environment(without=("AWS_", "ANSIBLE_"))
    env.update(CREDENTIALS, AWS_ENDPOINT_URL=aws.url, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)

    with aws.recording():
        run = run_playbook("playbooks/pull.yml", "-i", "localhost,", "-c", "local", "--tags", "always",
                           "-e", "_common_settings_file=%s" % settings, "-e", "ansible_python_interpreter=%s" % sys.executable,
                           env=env)

    assert run.rc == 0, run.explain()
    assert "spot_endpoint_url" not in SETTINGS
    assert [body["Name"] for body in aws.requests("AmazonSSM.GetParameter")] == ["/spotkit/blog/env:1"]
    assert dict(run.task_results("localhost"))["Read the services' env from the stack's SSM parameter"].get("failed") is not True
