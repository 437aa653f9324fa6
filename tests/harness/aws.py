"""The emulated AWS account that provisioning tests and benchmarks work in: boto3 clients, an empty
account on demand, playbook runs against it, and what it holds."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import urllib.parse
import urllib.request

import boto3
import yaml

# It puts sandbox/emulator on sys.path.
from harness import emulator  # noqa: F401 pylint: disable=unused-import
from harness.playbook import environment, run_playbook

# The emulator's names of S3's IAM actions.
import moto_iam  # noqa: E402 pylint: disable=wrong-import-order

REGION = "eu-west-1"
# Where a stack elsewhere keeps its site-down alarm and a topic for it (Route 53's metrics are there only).
HEALTH_CHECK_REGION = "us-east-1"
# The public hosted zone of the example stacks' domains; reset() creates it, as a user would.
ZONE = "example.com"
TAG = "spotkit:stack"
# Where a service's signing name is not its IAM prefix.
IAM_PREFIXES = {"monitoring": "cloudwatch"}
# Unlikely strings: Ansible masks every occurrence of a secret in its output.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "spotkit-test-access-key", "AWS_SECRET_ACCESS_KEY": "spotkit-test-secret-key"}


class Aws:
    """The account of one running emulator (harness.emulator); playbooks run in `workdir`'s inventories."""

    def __init__(self, emulator, workdir, credentials=None):
        self.emulator = emulator
        self.url = emulator.url
        self.workdir = workdir
        # next() of a count is atomic: tests may run playbooks from several threads at once.
        self.runs = itertools.count(1)
        # Whose calls these are: an IAM user's access key once the emulator enforces IAM (enforce_iam()).
        self.credentials = credentials or CREDENTIALS

    @property
    def emulator_url(self):
        return self.url

    def client(self, service, region=REGION):
        return boto3.client(service, endpoint_url=self.url, region_name=region,
                            aws_access_key_id=self.credentials["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"])

    def reset(self):
        """An empty account, but for the hosted zone the example stacks' domains live in."""
        self.emulator.reset()
        self.client("route53").create_hosted_zone(Name=ZONE, CallerReference="spotkit-tests")

    def playbook(self, playbook, stacks, *args, forks=32):
        """Run playbooks/<playbook>.yml on an inventory of `stacks` ({name: variables})."""
        inventory = self.workdir / ("inventory-%d.yml" % next(self.runs))
        # The emulator runs no instance, so no builder would ever bake: a stack bakes its image only where a test
        # sets spot_image_bake itself (test_stack_image, with the builder double).
        inventory.write_text(yaml.safe_dump({"spot_stacks": {"hosts": stacks, "vars": {"spot_image_bake": False}}}))
        env = environment(without=("AWS_", "ANSIBLE_"))
        env.update(self.credentials, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                   ANSIBLE_FORKS=str(forks), ANSIBLE_DEPRECATION_WARNINGS="false")
        return run_playbook("-i", inventory, "playbooks/%s.yml" % playbook, *args, env=env, timeout=600)

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
            # Alerting, in the stacks' region and in us-east-1.
            "topics": self._in_both_regions("sns", lambda sns: [t["TopicArn"] for t in sns.list_topics()["Topics"]]),
            "subscriptions": self._in_both_regions("sns", lambda sns: [s["Endpoint"] for s in sns.list_subscriptions()["Subscriptions"]]),
            "alarms": self._in_both_regions("cloudwatch", lambda cw: [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]]),
            "event rules": self._in_both_regions("events", lambda events: [r["Name"] for r in events.list_rules()["Rules"]]),
            "metric filters": [f["filterName"] for f in self.client("logs").describe_metric_filters()["metricFilters"]],
            "health checks": [c["Id"] for c in self.client("route53").list_health_checks()["HealthChecks"]],
            "buckets": [b["Name"] for b in self.client("s3").list_buckets()["Buckets"]],
        }

    def _in_both_regions(self, service, names):
        return sorted(name for region in (REGION, HEALTH_CHECK_REGION) for name in names(self.client(service, region)))

    def refreshes(self, group):
        """The group's instance refreshes, newest first, as Auto Scaling describes them."""
        return self.client("autoscaling").describe_instance_refreshes(AutoScalingGroupName=group)["InstanceRefreshes"]

    # --- what was asked of it (moto's request recorder)

    @contextlib.contextmanager
    def recording(self):
        """Record the requests made inside the block; read them with requests()."""
        self._recorder("reset-recording")
        self._recorder("start-recording")
        try:
            yield
        finally:
            self._recorder("stop-recording")

    def requests(self, target):
        """The bodies of the recorded requests of a JSON-protocol action, e.g. AmazonSSM.GetParameter."""
        with urllib.request.urlopen(self.url + "/moto-api/recorder/download-recording", timeout=30) as response:
            lines = response.read().decode().splitlines()
        bodies = []
        for entry in map(json.loads, filter(None, lines)):
            headers = {key.lower(): value for key, value in entry["headers"].items()}
            if headers.get("x-amz-target") == target:
                body = base64.b64decode(entry["body"]) if entry["body_encoded"] else entry["body"]
                bodies.append(json.loads(body or "{}"))
        return bodies

    def actions(self):
        """The names of the recorded requests' actions, of the JSON protocol (X-Amz-Target) or the query one (Action=)."""
        return [pair[1] for pair in self._recorded_actions()]

    def iam_actions(self):
        """The recorded requests' actions as IAM names them, service:Action; REST protocols' but S3's (Route 53) left out."""
        return ["%s:%s" % (IAM_PREFIXES.get(service, service), action) for service, action in self._recorded_actions() if action]

    def _recorded_actions(self):
        """(signing name, action name) of each recorded request; the signing name from its credential scope."""
        with urllib.request.urlopen(self.url + "/moto-api/recorder/download-recording", timeout=30) as response:
            lines = response.read().decode().splitlines()
        found = []
        for entry in map(json.loads, filter(None, lines)):
            headers = {key.lower(): value for key, value in entry["headers"].items()}
            body = base64.b64decode(entry["body"]).decode(errors="replace") if entry["body_encoded"] else entry["body"] or ""
            url = urllib.parse.urlsplit(entry.get("url", ""))
            action = headers.get("x-amz-target", "").rpartition(".")[2] or urllib.parse.parse_qs(
                body + "&" + url.query).get("Action", [""])[0]
            # Credential=KEY/DATE/REGION/SERVICE/aws4_request
            scope = headers.get("authorization", "").partition("Credential=")[2].split(",")[0].split("/")
            service = scope[3] if len(scope) > 3 else ""
            if service == "s3":
                # REST: the method, the path and the query name the call, as the emulator checks it.
                query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
                action = moto_iam.s3_action(entry.get("method", ""), urllib.parse.unquote(url.path), query)
            found.append((service, action))
        return found

    def enforce_iam(self, enforced=True):
        """From now on, check the action of every call against its caller's IAM policies, or stop checking.

        moto then refuses an access key that is not an IAM user's, and checks actions only: not resources,
        nor conditions."""
        request = urllib.request.Request(self.url + "/moto-api/reset-auth", data=b"0" if enforced else b"inf",
                                         method="POST", headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def _recorder(self, action):
        request = urllib.request.Request(self.url + "/moto-api/recorder/" + action, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
