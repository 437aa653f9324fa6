"""The two stacks of inventory/example: created, checked resource by resource, re-run, changed, torn down.

The tests of this module share one account and run in file order: first what the first run
created (read-only), then a second run, a change, a check-mode run, and teardown last.
"""

from __future__ import annotations

import base64
import copy
import json

import pytest
import yaml

from stacks import IMAGES, REGION, TAG, ZONE, example_stacks, with_state

STACKS = ("blog", "uptime")
SESSION_MANAGER = ("ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                   "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel")


@pytest.fixture(scope="module")
def provisioned(aws):
    aws.reset()
    stacks = with_state(example_stacks(aws.url))
    # One stack with an env (uptime) and one without: the blog's env holds no secret, only its name.
    del stacks["blog"]["spot_services"][0]["env"]
    run = aws.playbook("provision", stacks)
    assert run.rc == 0, run.explain()
    return stacks, run


def tags_of(items):
    return {item["Key"]: item["Value"] for item in items}


def security_group(aws, stack):
    groups = aws.client("ec2").describe_security_groups(Filters=[{"Name": "tag:%s" % TAG, "Values": [stack]}])["SecurityGroups"]
    assert len(groups) == 1
    return groups[0]


def inbound(group):
    """{(protocol, port): [cidrs]} of a security group."""
    rules = {}
    for permission in group["IpPermissions"]:
        assert permission["FromPort"] == permission["ToPort"]
        cidrs = [r["CidrIp"] for r in permission.get("IpRanges", [])] + [r["CidrIpv6"] for r in permission.get("Ipv6Ranges", [])]
        rules.setdefault((permission["IpProtocol"], permission["FromPort"]), []).extend(cidrs)
    return rules


def address(aws, stack):
    addresses = aws.client("ec2").describe_addresses(Filters=[{"Name": "tag:%s" % TAG, "Values": [stack]}])["Addresses"]
    assert len(addresses) == 1, addresses
    return addresses[0]


def template_version(aws, stack, version="$Default"):
    return aws.client("ec2").describe_launch_template_versions(
        LaunchTemplateName="spotkit-%s" % stack, Versions=[version])["LaunchTemplateVersions"][0]


def group(aws, stack):
    return aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=["spotkit-%s" % stack])["AutoScalingGroups"][0]


def user_data(aws, stack):
    return base64.b64decode(template_version(aws, stack)["LaunchTemplateData"]["UserData"]).decode()


def settings_of(text):
    cloud_config = yaml.safe_load(text)
    files = {item["path"]: item for item in cloud_config["write_files"]}
    return json.loads(files["/etc/spotkit/stack.json"]["content"])


def with_extra_port(stacks):
    """The stacks, with one more port published by the uptime service."""
    changed = copy.deepcopy(stacks)
    changed["uptime"]["spot_services"][0]["ports"].append("8080:8080")
    return changed


def test_first_run_creates_both_stacks(provisioned):
    run = provisioned[1]
    for stack in STACKS:
        assert run.stats(stack)["changed"] > 0
        assert run.stats(stack)["failures"] == 0


def test_security_group_opens_the_services_ports_and_ssh_only_to_its_cidrs(aws, provisioned):
    assert inbound(security_group(aws, "blog")) == {
        ("tcp", 80): ["0.0.0.0/0"], ("tcp", 443): ["0.0.0.0/0"], ("udp", 443): ["0.0.0.0/0"],
    }
    # Uptime Kuma's page is on the instance's loopback only (127.0.0.1:3001:3001).
    assert inbound(security_group(aws, "uptime")) == {("tcp", 22): ["203.0.113.7/32"]}
    for stack in STACKS:
        sg = security_group(aws, stack)
        assert sg["GroupName"] == "spotkit-%s" % stack
        assert tags_of(sg["Tags"]) == {TAG: stack, "Name": "spotkit-%s" % stack}


def test_one_elastic_ip_per_stack_and_the_record_points_at_it(aws, provisioned):
    route53 = aws.client("route53")
    zone_id = route53.list_hosted_zones_by_name(DNSName=ZONE)["HostedZones"][0]["Id"]
    records = {r["Name"]: r for r in route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] if r["Type"] == "A"}
    assert len(aws.client("ec2").describe_addresses()["Addresses"]) == 2
    for stack, domain in (("blog", "blog.example.com."), ("uptime", "status.example.com.")):
        eip = address(aws, stack)
        assert eip["Domain"] == "vpc"
        assert tags_of(eip["Tags"])["Name"] == "spotkit-%s" % stack
        assert records[domain]["ResourceRecords"] == [{"Value": eip["PublicIp"]}]


def test_instance_role_may_only_touch_its_own_stack(aws, provisioned):
    iam = aws.client("iam")
    for stack in STACKS:
        # IAM is global: the region is part of the name, so one stack name in two regions owns two roles.
        name = "spotkit-%s-%s" % (stack, REGION)
        role = iam.get_role(RoleName=name)["Role"]
        trust = role["AssumeRolePolicyDocument"]
        assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "ec2.amazonaws.com"}]
        assert tags_of(role["Tags"])[TAG] == stack
        assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == []
        assert iam.list_role_policies(RoleName=name)["PolicyNames"] == [name]
        policy = iam.get_role_policy(RoleName=name, PolicyName=name)["PolicyDocument"]
        if isinstance(policy, str):
            policy = json.loads(policy)
        by_action = {}
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in statement["Action"]:
                by_action.setdefault(action, []).append(statement)
        account = aws.client("sts").get_caller_identity()["Account"]
        logs = ["arn:aws:logs:%s:%s:log-group:/spotkit/%s/*" % (REGION, account, stack)]
        logs.append(logs[0] + ":log-stream:*")
        for action in ("logs:CreateLogStream", "logs:PutLogEvents", "logs:CreateLogGroup"):
            assert [s["Resource"] for s in by_action[action]] == [logs]
        # Provisioning sets the retention; the instance cannot.
        assert "logs:PutRetentionPolicy" not in by_action
        # Metrics only under the stack's own namespace, so no instance publishes another stack's.
        [metrics] = by_action["cloudwatch:PutMetricData"]
        assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "spotkit/%s" % stack}}
        eip_arn = "arn:aws:ec2:%s:%s:elastic-ip/%s" % (REGION, account, address(aws, stack)["AllocationId"])
        associate = by_action["ec2:AssociateAddress"]
        assert [eip_arn] in [s["Resource"] for s in associate]
        for statement in associate:
            if statement["Resource"] != [eip_arn]:
                assert statement["Condition"] == {"StringEquals": {"aws:ResourceTag/spotkit:stack": stack}}
        # Session Manager (on by default): its agent's five actions, which take no resource, and nothing else.
        [session] = by_action["ssm:UpdateInstanceInformation"]
        assert session["Resource"] == ["*"] and sorted(session["Action"]) == sorted(SESSION_MANAGER)
        # Only the parameters the instance reads: uptime's env; blog has none, so no other SSM or KMS action.
        if stack == "uptime":
            env = ["arn:aws:ssm:%s:%s:parameter/spotkit/%s/env" % (REGION, account, stack)]
            [parameters] = by_action["ssm:GetParameter"]
            assert parameters["Resource"] == env
            [decrypt] = by_action["kms:Decrypt"]
            assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "ssm.%s.amazonaws.com" % REGION,
                                                             "kms:EncryptionContext:PARAMETER_ARN": env}}
        else:
            assert not {action for action in by_action if action.startswith(("ssm:", "kms:"))} - set(SESSION_MANAGER), by_action
        # The only actions on every resource: reads, and metrics held to one namespace by a condition.
        # The interruption watcher publishes what the instance is told to the stack's topic, and no other.
        [publish] = by_action["sns:Publish"]
        assert publish["Resource"] == ["arn:aws:sns:%s:%s:spotkit-%s-%s" % (REGION, account, stack, REGION)]
        # On an interruption notice the watcher detaches the instance from its own group, and from no other.
        [detach] = by_action["autoscaling:DetachInstances"]
        assert detach["Resource"] == ["arn:aws:autoscaling:%s:%s:autoScalingGroup:*:autoScalingGroupName/spotkit-%s"
                                      % (REGION, account, stack)]
        # A new instance completes its own group's launch hook, and no other's.
        for action in ("autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"):
            [hook] = by_action[action]
            assert hook["Resource"] == detach["Resource"]
        assert {action for action in by_action if action.startswith("autoscaling:")} == {
            "autoscaling:DetachInstances", "autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat",
            "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities"}
        unscoped = {action for action, statements in by_action.items() for s in statements if "*" in s["Resource"]}
        assert unscoped == {"ec2:DescribeAddresses", "ec2:DescribeInstances", "ec2:DescribeTags", "cloudwatch:PutMetricData",
                            "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities", *SESSION_MANAGER}
        # A builder of the stack image tags itself with how its bake ended: the stack's instances, two keys.
        [tag] = by_action["ec2:CreateTags"]
        assert tag["Condition"]["StringEquals"] == {"aws:ResourceTag/spotkit:stack": stack}
        assert tag["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": ["spotkit:bake", "spotkit:bake-error"]}


def test_instance_profile_holds_the_role(aws, provisioned):
    for stack in STACKS:
        name = "spotkit-%s-%s" % (stack, REGION)
        profile = aws.client("iam").get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        assert [role["RoleName"] for role in profile["Roles"]] == [name]
        assert tags_of(profile["Tags"])[TAG] == stack


def test_log_groups_have_each_services_retention(aws, provisioned):
    groups = {g["logGroupName"]: g.get("retentionInDays") for g in aws.client("logs").describe_log_groups()["logGroups"]}
    assert groups == {
        "/spotkit/blog/blog": 90, "/spotkit/blog/system": 30, "/spotkit/blog/ansible-pull": 30,
        "/spotkit/uptime/uptime": 14, "/spotkit/uptime/system": 30, "/spotkit/uptime/ansible-pull": 30,
    }
    account = aws.client("sts").get_caller_identity()["Account"]
    arn = "arn:aws:logs:%s:%s:log-group:/spotkit/blog/blog" % (REGION, account)
    assert aws.client("logs").list_tags_for_resource(resourceArn=arn)["tags"][TAG] == "blog"


def test_launch_template_is_imdsv2_only_encrypted_and_tags_what_it_launches(aws, provisioned):
    for stack in STACKS:
        version = template_version(aws, stack)
        assert version["VersionNumber"] == 1
        data = version["LaunchTemplateData"]
        assert data["ImageId"] == IMAGES["arm64"]
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
        assert data["CreditSpecification"] == {"CpuCredits": "standard"}
        [root] = data["BlockDeviceMappings"]
        assert root["DeviceName"] == "/dev/xvda"
        assert root["Ebs"]["VolumeType"] == "gp3" and root["Ebs"]["Encrypted"] and root["Ebs"]["DeleteOnTermination"]
        # The emulator's image has a 15 GiB root volume, over spot_root_volume_size's default of 10: the
        # image's own size (test_a_larger_root_volume_... sets one over it).
        assert root["Ebs"]["VolumeSize"] == 15
        assert data["IamInstanceProfile"]["Arn"].endswith(":instance-profile/spotkit-%s-%s" % (stack, REGION))
        assert data["SecurityGroupIds"] == [security_group(aws, stack)["GroupId"]]
        specs = {spec["ResourceType"]: tags_of(spec["Tags"]) for spec in data["TagSpecifications"]}
        for resource in ("instance", "volume"):
            assert specs[resource] == {TAG: stack, "Name": "spotkit-%s" % stack}
        # Spot comes from the group: AWS refuses market options in a template of a mixed instances policy.
        assert "InstanceMarketOptions" not in data
        # The key pair only where port 22 is open to someone (the uptime example).
        assert data.get("KeyName") == {"blog": None, "uptime": "uptime-admin"}[stack]
        # moto lists the tags added after creation by DescribeTags only.
        tags = aws.client("ec2").describe_tags(Filters=[{"Name": "resource-id", "Values": [version["LaunchTemplateId"]]}])["Tags"]
        # And the base image the template was made from, which later runs keep.
        assert tags_of(tags) == {TAG: stack, "Name": "spotkit-%s" % stack, "spotkit:base-image": data["ImageId"]}


def test_user_data_carries_the_settings_and_no_secret(aws, provisioned):
    stacks = provisioned[0]
    parameter = aws.client("ssm").get_parameter(Name="/spotkit/uptime/env", WithDecryption=True)["Parameter"]
    for stack in STACKS:
        text = user_data(aws, stack)
        assert text.startswith("#cloud-config\n")
        # The settings, the pull script (the ansible_pull role's, from the same template) and pip's
        # hashed requirements; three quarters of EC2's 16 KB leave room for spot_instance_vars.
        assert len(text.encode()) < 12 * 1024
        settings = settings_of(text)
        assert settings["spot_stack"] == stack
        assert settings["spot_region"] == REGION
        assert settings["spot_pull_repo"] == stacks[stack]["spot_pull_repo"]
        assert [s["name"] for s in settings["spot_services"]] == [s["name"] for s in stacks[stack]["spot_services"]]
        assert all("env" not in service for service in settings["spot_services"])
        assert settings["spot_endpoint_url"] == aws.url
    uptime = user_data(aws, "uptime")
    # Quoted: the settings hold JSON, where the service's read_only is a bare false.
    for name, value in stacks["uptime"]["spot_services"][0]["env"].items():
        assert name not in uptime and json.dumps(value) not in uptime
    assert settings_of(uptime)["spot_env_parameter"] == "/spotkit/uptime/env"
    assert settings_of(uptime)["spot_env_version"] == parameter["Version"]
    # No service of the blog has env: no parameter, nothing about it in the settings.
    assert "spot_env_parameter" not in settings_of(user_data(aws, "blog"))


def test_env_is_one_secure_string_per_stack_that_has_env(aws, provisioned):
    stacks = provisioned[0]
    ssm = aws.client("ssm")
    assert [p["Name"] for p in ssm.describe_parameters()["Parameters"]] == ["/spotkit/uptime/env"]
    parameter = ssm.get_parameter(Name="/spotkit/uptime/env", WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString"
    assert json.loads(parameter["Value"]) == {"uptime": stacks["uptime"]["spot_services"][0]["env"]}


def state_bucket(aws, stack="blog"):
    return "spotkit-%s-%s-%s" % (stack, REGION, aws.client("sts").get_caller_identity()["Account"])


def test_the_blogs_state_bucket_is_encrypted_versioned_private_and_only_the_stacks(aws, provisioned):
    s3, bucket = aws.client("s3"), state_bucket(aws)
    # Only the blog declares state: the uptime stack has no bucket.
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [bucket]
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == REGION
    [rule] = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    [lifecycle] = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert (lifecycle["Status"], lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"],
            lifecycle["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"], lifecycle["Expiration"]) == (
        "Enabled", 30, 1, {"ExpiredObjectDeleteMarker": True})
    assert tags_of(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == {TAG: "blog", "Name": "spotkit-blog"}
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    arns = ["arn:aws:s3:::%s" % bucket, "arn:aws:s3:::%s/*" % bucket]
    plain_http, others = policy["Statement"]
    assert (plain_http["Effect"], plain_http["Principal"], plain_http["Action"], plain_http["Resource"], plain_http["Condition"]) == (
        "Deny", "*", "s3:*", arns, {"Bool": {"aws:SecureTransport": "false"}})
    # Every principal but the instance role is kept out of the objects; who provisions is not named, so that the policy is
    # the same whoever runs.
    account = aws.client("sts").get_caller_identity()["Account"]
    assert (others["Effect"], others["Principal"], others["Resource"]) == ("Deny", "*", arns)
    assert {"s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "s3:ListBucket*"} <= set(others["Action"])
    assert others["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::%s:role/spotkit-blog-%s" % (account, REGION)}}
    # The instance reads and writes state/ and lists the bucket, nothing else of S3; the stack without a bucket, nothing.
    by_sid = {}
    for stack in STACKS:
        name = "spotkit-%s-%s" % (stack, REGION)
        document = aws.client("iam").get_role_policy(RoleName=name, PolicyName=name)["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        by_sid[stack] = {s["Sid"]: (s["Action"], s["Resource"]) for s in document["Statement"] if s["Action"][0].startswith("s3:")}
    assert by_sid == {"uptime": {}, "blog": {"StackState": (["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::%s/state/*" % bucket]),
                                             "ListStackState": (["s3:ListBucket"], ["arn:aws:s3:::%s" % bucket])}}
    # The instance finds its bucket in its settings.
    assert settings_of(user_data(aws, "blog"))["spot_state_bucket"] == bucket
    assert "spot_state_bucket" not in settings_of(user_data(aws, "uptime"))


def test_group_keeps_one_spot_instance_over_the_default_subnets(aws, provisioned):
    stacks = provisioned[0]
    ec2 = aws.client("ec2")
    default_subnets = {s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]}
    for stack in STACKS:
        asg = group(aws, stack)
        assert (asg["MinSize"], asg["MaxSize"], asg["DesiredCapacity"]) == (1, 1, 1)
        assert set(asg["VPCZoneIdentifier"].split(",")) == default_subnets
        assert asg["CapacityRebalance"] is True
        # Only what the alarms read.
        assert [m["Metric"] for m in asg["EnabledMetrics"]] == ["GroupInServiceInstances"]
        policy = asg["MixedInstancesPolicy"]
        assert policy["LaunchTemplate"]["LaunchTemplateSpecification"]["LaunchTemplateName"] == "spotkit-%s" % stack
        assert policy["LaunchTemplate"]["LaunchTemplateSpecification"]["Version"] == "1"
        assert [o["InstanceType"] for o in policy["LaunchTemplate"]["Overrides"]] == stacks[stack]["spot_instance_types"]
        assert policy["InstancesDistribution"] == {
            "OnDemandBaseCapacity": 0, "OnDemandPercentageAboveBaseCapacity": 0, "SpotAllocationStrategy": "capacity-optimized",
        }
        assert {t["Key"]: (t["Value"], t["PropagateAtLaunch"]) for t in asg["Tags"]} == {
            TAG: (stack, True), "Name": ("spotkit-%s" % stack, True),
        }
        [instance] = asg["Instances"]
        described = ec2.describe_instances(InstanceIds=[instance["InstanceId"]])["Reservations"][0]["Instances"][0]
        assert tags_of(described["Tags"])[TAG] == stack
        # Health-gated launch: the instance waits on the hook (no instance runs here to complete it), and the
        # group launches before it terminates (docs/operations.md#a-new-instance).
        assert instance["LifecycleState"] == "Pending:Wait"
        assert asg["HealthCheckGracePeriod"] == 60
        assert asg["InstanceMaintenancePolicy"] == {"MinHealthyPercentage": 100, "MaxHealthyPercentage": 200}
        [hook] = aws.client("autoscaling").describe_lifecycle_hooks(AutoScalingGroupName="spotkit-%s" % stack)["LifecycleHooks"]
        assert (hook["LifecycleHookName"], hook["LifecycleTransition"], hook["HeartbeatTimeout"], hook["DefaultResult"]) == (
            "spotkit-launch", "autoscaling:EC2_INSTANCE_LAUNCHING", 1800, "ABANDON")


def test_second_run_changes_nothing(aws, provisioned):
    stacks = provisioned[0]
    run = aws.playbook("provision", stacks)
    assert run.rc == 0, run.explain()
    for stack in STACKS:
        assert run.stats(stack)["changed"] == 0, run.changed_tasks(stack)
    assert len(aws.client("ec2").describe_addresses()["Addresses"]) == 2


def test_adding_a_port_changes_only_what_it_must(aws, provisioned):
    stacks = with_extra_port(provisioned[0])
    before = {stack: address(aws, stack)["AllocationId"] for stack in STACKS}
    [uptime_instance] = [instance["InstanceId"] for instance in group(aws, "uptime")["Instances"]]

    check = aws.playbook("provision", stacks, "--check")
    assert check.rc == 0, check.explain()
    assert ("tcp", 8080) not in inbound(security_group(aws, "uptime"))

    run = aws.playbook("provision", stacks)
    assert run.rc == 0, run.explain()
    assert run.stats("blog")["changed"] == 0, run.changed_tasks("blog")
    # The port opens; the stack's first public TCP port gets the outside check, its alarm and its topic; the
    # settings in the user-data change, so a new template version rolls the instance.
    assert run.changed_tasks("uptime") == [
        "Create the security group", "Create the stack's topics with their policy and subscriptions",
        "Check the site from outside", "Create the alarms", "Write the launch template", "Keep one spot instance running",
    ]
    # A topic that does not exist yet is created by a task of its own in check mode.
    check_topics = "Create the stack's topics (check mode, where they do not exist yet)"
    assert [task if task != check_topics else "Create the stack's topics with their policy and subscriptions"
            for task in check.changed_tasks("uptime")] == run.changed_tasks("uptime")
    assert inbound(security_group(aws, "uptime"))[("tcp", 8080)] == ["0.0.0.0/0"]
    assert template_version(aws, "uptime")["VersionNumber"] == 2
    assert "8080:8080" in settings_of(user_data(aws, "uptime"))["spot_services"][0]["ports"]
    spec = group(aws, "uptime")["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]
    assert spec["Version"] == "2"
    assert {stack: address(aws, stack)["AllocationId"] for stack in STACKS} == before
    assert aws.refreshes("spotkit-blog") == []
    [refresh] = aws.refreshes("spotkit-uptime")
    # The group took version 2 through the refresh, which rolls back to version 1 should its new instance abandon.
    assert refresh["Preferences"] == {"MinHealthyPercentage": 100, "MaxHealthyPercentage": 200, "SkipMatching": True,
                                      "AutoRollback": True}
    assert refresh["DesiredConfiguration"]["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]["Version"] == "2"
    # The emulator's refresh replaces the instance at once (AWS takes minutes): the group's one
    # instance now runs the new version.
    assert refresh["Status"] == "Successful"
    [instance] = group(aws, "uptime")["Instances"]
    assert instance["InstanceId"] != uptime_instance
    assert instance["LaunchTemplate"]["Version"] == "2"

    # Nothing is outdated any more: a re-run starts no second refresh.
    again = aws.playbook("provision", stacks)
    assert again.rc == 0, again.explain()
    assert [again.stats(stack)["changed"] for stack in STACKS] == [0, 0], again.changed_tasks("uptime")
    assert len(aws.refreshes("spotkit-uptime")) == 1


def test_check_mode_on_provisioned_stacks_reports_nothing_to_change(aws, provisioned):
    run = aws.playbook("provision", with_extra_port(provisioned[0]), "--check", "--diff")
    assert run.rc == 0, run.explain()
    for stack in STACKS:
        assert run.stats(stack)["changed"] == 0, run.changed_tasks(stack)


def test_removing_the_env_removes_its_parameter(aws, provisioned):
    stacks = with_extra_port(provisioned[0])
    del stacks["uptime"]["spot_services"][0]["env"]
    run = aws.playbook("provision", stacks)
    assert run.rc == 0, run.explain()
    assert run.stats("blog")["changed"] == 0, run.changed_tasks("blog")
    # A new launch template version, so the instance that the last refresh launched is outdated in turn.
    # The instance may no longer read the parameter, which is gone.
    assert run.changed_tasks("uptime") == [
        "Allow the instances what the stack needs, on the stack's resources only",
        "Store the services' environment as a SecureString", "Write the launch template", "Keep one spot instance running",
    ]
    assert aws.client("ssm").describe_parameters()["Parameters"] == []
    settings = settings_of(user_data(aws, "uptime"))
    assert "spot_env_parameter" not in settings and "spot_env_version" not in settings


def records_of(aws):
    """{name: values} of the A records of the example zone."""
    route53 = aws.client("route53")
    zone_id = route53.list_hosted_zones_by_name(DNSName=ZONE)["HostedZones"][0]["Id"]
    return {r["Name"].rstrip("."): [v["Value"] for v in r["ResourceRecords"]]
            for r in route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] if r["Type"] == "A"}


def test_a_new_domain_gets_its_record_and_the_old_one_stays_until_teardown(aws, provisioned):
    stacks = with_extra_port(provisioned[0])
    del stacks["uptime"]["spot_services"][0]["env"]
    stacks["blog"]["spot_domain"] = "journal.example.com"
    run = aws.playbook("provision", stacks)
    assert run.rc == 0, run.explain()
    # The outside health check asks the new name: a new check replaces the old one (tasks/alerts.yml), and the alarm
    # follows its id and the name in its description.
    assert run.changed_tasks("blog") == ["Point the stack's domain at its Elastic IP", "Remove the health check that cannot become the wanted one",
                                         "Check the site from outside", "Create the alarms"]
    ip = address(aws, "blog")["PublicIp"]
    assert records_of(aws)["journal.example.com"] == [ip]
    assert records_of(aws)["blog.example.com"] == [ip]


def test_a_larger_root_volume_is_a_new_template_version_of_that_stack_only(aws, provisioned):
    stacks = with_extra_port(provisioned[0])
    del stacks["uptime"]["spot_services"][0]["env"]
    stacks["blog"]["spot_domain"] = "journal.example.com"
    before = template_version(aws, "uptime")["VersionNumber"]
    stacks["blog"]["spot_root_volume_size"] = 24
    run = aws.playbook("provision", stacks)
    assert run.rc == 0, run.explain()
    assert run.stats("uptime")["changed"] == 0, run.changed_tasks("uptime")
    assert run.changed_tasks("blog") == ["Write the launch template", "Keep one spot instance running"]
    version = template_version(aws, "blog")
    assert version["VersionNumber"] == 2
    assert version["LaunchTemplateData"]["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == 24
    assert template_version(aws, "uptime")["VersionNumber"] == before


def test_teardown_removes_every_resource_of_both_stacks(aws, provisioned):
    stacks = copy.deepcopy(provisioned[0])
    # As the eip role does on the instance at boot: the address is in use when teardown starts.
    ec2 = aws.client("ec2")
    for stack in STACKS:
        instance = group(aws, stack)["Instances"][0]["InstanceId"]
        ec2.associate_address(AllocationId=address(aws, stack)["AllocationId"], InstanceId=instance)

    # A record of the zone that is not the stack's (another address) must stay.
    route53 = aws.client("route53")
    zone_id = route53.list_hosted_zones_by_name(DNSName=ZONE)["HostedZones"][0]["Id"]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
        "Name": "www.example.com", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "203.0.113.9"}]}}]})

    # Saves of the blog's state, one deleted since: versions and a delete marker, which teardown must all remove.
    s3, bucket = aws.client("s3"), state_bucket(aws)
    for body in (b"first", b"second", b"third"):
        s3.put_object(Bucket=bucket, Key="state/blog.tar.gz", Body=body)
    s3.put_object(Bucket=bucket, Key="state/gone.tar.gz", Body=b"gone")
    s3.delete_object(Bucket=bucket, Key="state/gone.tar.gz")

    # The inventory says present: the teardown playbook overrides it. The blog's domain is the one of
    # the first run: the record of the domain it had since (journal.example.com) must go too.
    # The blog's state bucket is kept this time, and the run says so.
    for stack in stacks.values():
        stack["spot_state"] = "present"
    stacks["blog"]["spot_state_keep_bucket"] = True
    run = aws.playbook("teardown", stacks)
    assert run.rc == 0, run.explain()
    assert any("kept the state bucket %s" % bucket in message and "spot_state_keep_bucket" in message for message in run.messages())
    assert len(s3.list_object_versions(Bucket=bucket)["Versions"]) == 4
    assert records_of(aws) == {"www.example.com": ["203.0.113.9"]}
    # The records go before the address: one left pointing at a released address could be taken over.
    for stack in STACKS:
        order = [name for name, _result in run.task_results(stack)]
        assert order.index("Remove the stack's DNS records") < order.index("Release the Elastic IP"), order
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": {
        "Name": "www.example.com", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "203.0.113.9"}]}}]})
    for stack in STACKS:
        assert "Disassociate the Elastic IP from its instance" in run.changed_tasks(stack)
        assert aws.client("autoscaling").describe_lifecycle_hooks(AutoScalingGroupName="spotkit-%s" % stack)["LifecycleHooks"] == []
    left = aws.inventory_of_resources()
    # Log groups are kept unless asked for.
    assert sorted(left.pop("log groups")) == sorted(
        "/spotkit/%s/%s" % (stack, name) for stack, service in (("blog", "blog"), ("uptime", "uptime"))
        for name in (service, "system", "ansible-pull")
    )
    assert left.pop("buckets") == [bucket]
    assert left == {key: [] for key in left}
    instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    assert instances and {i["State"]["Name"] for i in instances} == {"terminated"}

    for stack in stacks.values():
        stack["spot_teardown_log_groups"] = True
    del stacks["blog"]["spot_state_keep_bucket"]
    run = aws.playbook("teardown", stacks)
    assert run.rc == 0, run.explain()
    assert run.changed_tasks("blog") == ["Empty the state bucket (every version) and remove it", "Remove the stack's log groups"]
    # Three saves of one object, one of another and its delete marker.
    assert dict(run.task_results("blog"))["Empty the state bucket (every version) and remove it"]["deleted_versions"] == 5
    assert run.changed_tasks("uptime") == ["Remove the stack's log groups"]
    assert aws.tagged_resources() == []
    assert aws.inventory_of_resources() == {key: [] for key in left.keys() | {"log groups", "buckets"}}
