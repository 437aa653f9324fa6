"""Provisioning tests: the real ansible-playbook against the AWS emulator (moto in server mode).

One emulator process serves the whole session, on a free loopback port; each test module resets its
state. Its AWS clients and playbooks reach it through AwsGapsDouble (aws_gaps_double.py), a proxy
that answers the few calls moto does not implement and forwards everything else.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import yaml

from aws_gaps_double import AwsGapsDouble
from stacks import REGION, TAG, ZONE

REPO = Path(__file__).resolve().parents[2]
EMULATOR = REPO / "roles" / "sandbox" / "files" / "aws_emulator.py"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
# Unlikely strings: Ansible masks every occurrence of a secret in its output.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "spotkit-test-access-key", "AWS_SECRET_ACCESS_KEY": "spotkit-test-secret-key"}


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the AWS emulator exited with %s" % process.returncode)
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the AWS emulator did not answer on %s within %ds" % (url, timeout))


@dataclass
class PlaybookRun:
    """The outcome of one ansible-playbook run, read from the JSON stdout callback."""

    rc: int
    result: dict
    stderr: str

    def stats(self, host):
        return self.result["stats"][host]

    def task_results(self, host):
        """(task name without its role prefix, result) of every task that ran on the host."""
        for play in self.result["plays"]:
            for task in play["tasks"]:
                if host in task["hosts"]:
                    yield task["task"]["name"].rpartition(" : ")[2], task["hosts"][host]

    def changed_tasks(self, host):
        return [name for name, result in self.task_results(host) if result.get("changed")]

    def failure(self, host):
        """(task name, message) of the host's failed task, or None."""
        for name, result in self.task_results(host):
            if result.get("failed") and not result.get("ignore_errors"):
                return name, result.get("msg", "")
        return None

    def explain(self):
        return json.dumps({host: self.failure(host) for host in self.result.get("stats", {})}, indent=1) + self.stderr[-3000:]


class Aws:
    """The emulated AWS account: boto3 clients, state reset, and playbook runs against it."""

    def __init__(self, emulator_url, double, workdir):
        self.emulator_url = emulator_url
        self.double = double
        self.url = double.url
        self.workdir = workdir
        self.runs = 0

    def client(self, service, region=REGION):
        return boto3.client(service, endpoint_url=self.url, region_name=region,
                            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def reset(self):
        """An empty account, but for the hosted zone the example stacks' domains live in."""
        request = urllib.request.Request(self.emulator_url + "/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=30).read()
        self.double.reset()
        self.client("route53").create_hosted_zone(Name=ZONE, CallerReference="spotkit-tests")

    def playbook(self, playbook, stacks, *args):
        """Run playbooks/<playbook>.yml on an inventory of `stacks` ({name: variables})."""
        self.runs += 1
        inventory = self.workdir / ("inventory-%d.yml" % self.runs)
        inventory.write_text(yaml.safe_dump({"spot_stacks": {"hosts": stacks}}))
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "ANSIBLE_"))}
        env.update(CREDENTIALS)
        env.update({
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_FORKS": "32",
            "ANSIBLE_DEPRECATION_WARNINGS": "false",
            "ANSIBLE_NOCOLOR": "1",
        })
        command = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), "playbooks/%s.yml" % playbook, *args]
        process = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
        try:
            result = json.loads(process.stdout)
        except ValueError:
            pytest.fail("ansible-playbook printed no JSON (rc %d):\n%s\n%s" % (process.returncode, process.stdout[-3000:], process.stderr[-3000:]))
        return PlaybookRun(process.returncode, result, process.stderr)

    # --- what the account holds

    def tagged_resources(self):
        """ARNs of every resource tagged spotkit:stack, except terminated instances (AWS lists those for an hour)."""
        tagging = self.client("resourcegroupstaggingapi")
        arns = [item["ResourceARN"] for item in tagging.get_resources(TagFilters=[{"Key": TAG}])["ResourceTagMappingList"]]
        ec2 = self.client("ec2")
        terminated = {
            instance["InstanceId"]
            for reservation in ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["terminated"]}])["Reservations"]
            for instance in reservation["Instances"]
        }
        return sorted(arn for arn in arns if arn.rsplit("/", 1)[-1] not in terminated)

    def inventory_of_resources(self):
        """Everything a stack could have created, including what carries no tag."""
        ec2, iam = self.client("ec2"), self.client("iam")
        zone_id = self.client("route53").list_hosted_zones()["HostedZones"][0]["Id"]
        records = self.client("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        return {
            "security groups": [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"],
            "addresses": [a["PublicIp"] for a in ec2.describe_addresses()["Addresses"]],
            "launch templates": [t["LaunchTemplateName"] for t in ec2.describe_launch_templates()["LaunchTemplates"]],
            "groups": [g["AutoScalingGroupName"] for g in self.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]],
            "roles": [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("spotkit-")],
            "instance profiles": [p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]],
            "log groups": [g["logGroupName"] for g in self.client("logs").describe_log_groups()["logGroups"]],
            "parameters": [p["Name"] for p in self.client("ssm").describe_parameters()["Parameters"]],
            "records": [r["Name"] for r in records if r["Type"] not in ("NS", "SOA")],
        }


@pytest.fixture(scope="session")
def aws(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("aws")
    port = _free_port()
    log = (workdir / "emulator.log").open("w")
    process = subprocess.Popen([sys.executable, str(EMULATOR), "--listen", "127.0.0.1:%d" % port],
                               stdout=log, stderr=subprocess.STDOUT)
    emulator_url = "http://127.0.0.1:%d" % port
    double = None
    try:
        _wait_for(emulator_url, process)
        double = AwsGapsDouble(emulator_url).start()
        yield Aws(emulator_url, double, workdir)
    finally:
        if double is not None:
            double.stop()
        process.terminate()
        process.wait(timeout=30)
        log.close()
