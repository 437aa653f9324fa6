"""Unit tests for the spotkit.ec2.stack_info module's look-ups, on stubbed AWS clients."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from ansible_collections.spotkit.ec2.plugins.module_utils._stack import canonical_rules
from ansible_collections.spotkit.ec2.plugins.modules import stack_info


def test_caller_gives_account_and_partition(stub):
    sts, stubber = stub("sts")
    stubber.add_response("get_caller_identity", {"Account": "123456789012", "Arn": "arn:aws-cn:iam::123456789012:user/ci", "UserId": "x"})
    assert stack_info.caller(sts) == ("123456789012", "aws-cn")


def test_default_subnets_and_their_vpc(stub):
    ec2, stubber = stub("ec2")
    stubber.add_response("describe_subnets", {"Subnets": [{"SubnetId": "subnet-b", "VpcId": "vpc-1"}, {"SubnetId": "subnet-a", "VpcId": "vpc-1"}]},
                         {"Filters": [{"Name": "default-for-az", "Values": ["true"]}]})
    stubber.add_response("describe_subnets", {"Subnets": []}, {"Filters": [{"Name": "default-for-az", "Values": ["true"]}]})
    assert stack_info.default_subnets(ec2) == ("vpc-1", ["subnet-a", "subnet-b"])
    assert stack_info.default_subnets(ec2) == ("", [])


def test_image_reports_architecture_and_root_volume_and_nothing_for_an_unknown_id(stub):
    ec2, stubber = stub("ec2")
    found = {"ImageId": "ami-12345678", "Architecture": "arm64", "RootDeviceName": "/dev/xvda",
             "BlockDeviceMappings": [{"DeviceName": "/dev/xvdb", "Ebs": {"VolumeSize": 100}},
                                     {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}]}
    stubber.add_response("describe_images", {"Images": [found]}, {"Filters": [{"Name": "image-id", "Values": ["ami-12345678"]}]})
    stubber.add_response("describe_images", {"Images": []}, {"Filters": [{"Name": "image-id", "Values": ["ami-00000000"]}]})
    assert stack_info.image(ec2, "ami-12345678") == {
        "image_id": "ami-12345678", "architecture": "arm64", "root_device_name": "/dev/xvda", "root_volume_size": 8,
    }
    assert stack_info.image(ec2, "ami-00000000") == {}


def test_a_missing_parameter_is_an_empty_value(stub):
    ssm, stubber = stub("ssm")
    stubber.add_response("get_parameter", {"Parameter": {"Name": "/p", "Value": "ami-12345678"}}, {"Name": "/p"})
    stubber.add_client_error("get_parameter", service_error_code="ParameterNotFound", expected_params={"Name": "/q"})
    assert stack_info.parameter_value(ssm, "/p") == "ami-12345678"
    assert stack_info.parameter_value(ssm, "/q") == ""


def test_only_a_public_zone_of_exactly_that_name_is_found(stub):
    route53, stubber = stub("route53")
    zones = [
        {"Id": "/hostedzone/ZPRIVATE", "Name": "example.com.", "CallerReference": "a", "Config": {"PrivateZone": True}},
        {"Id": "/hostedzone/ZPUBLIC", "Name": "example.com.", "CallerReference": "b", "Config": {"PrivateZone": False}},
        {"Id": "/hostedzone/ZOTHER", "Name": "example.net.", "CallerReference": "c", "Config": {"PrivateZone": False}},
    ]
    page = {"HostedZones": zones, "IsTruncated": False, "MaxItems": "100"}
    stubber.add_response("list_hosted_zones_by_name", page, {"DNSName": "example.com."})
    stubber.add_response("list_hosted_zones_by_name", page, {"DNSName": "example.org."})
    assert stack_info.public_zones(route53, "Example.com.") == [{"id": "ZPUBLIC", "name": "example.com"}]
    assert stack_info.public_zones(route53, "example.org") == []


def test_several_public_zones_of_one_name_are_all_reported(stub):
    route53, stubber = stub("route53")
    zones = [{"Id": "/hostedzone/Z%d" % n, "Name": "example.com.", "CallerReference": str(n), "Config": {"PrivateZone": False}}
             for n in (1, 2)]
    stubber.add_response("list_hosted_zones_by_name", {"HostedZones": zones, "IsTruncated": False, "MaxItems": "100"},
                         {"DNSName": "example.com."})
    assert stack_info.public_zones(route53, "example.com") == [{"id": "Z1", "name": "example.com"}, {"id": "Z2", "name": "example.com"}]


def test_addresses_and_security_groups_are_found_by_the_stack_tag(stub):
    ec2, stubber = stub("ec2")
    by_tag = [{"Name": "tag:spotkit:stack", "Values": ["blog"]}]
    stubber.add_response("describe_addresses", {"Addresses": [
        {"AllocationId": "eipalloc-1", "PublicIp": "198.51.100.7", "InstanceId": "i-1", "AssociationId": "eipassoc-1"},
        {"AllocationId": "eipalloc-2", "PublicIp": "198.51.100.8"},
    ]}, {"Filters": by_tag})
    stubber.add_response("describe_security_groups", {"SecurityGroups": [{
        "GroupId": "sg-1", "GroupName": "spotkit-blog", "VpcId": "vpc-1", "Tags": [{"Key": "spotkit:stack", "Value": "blog"}],
        "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "blog"}],
             "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
            {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": "sg-2"}],
             "PrefixListIds": [{"PrefixListId": "pl-1", "Description": "list"}]},
        ],
        "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    }]}, {"Filters": by_tag})
    assert stack_info.addresses(ec2, "blog") == [
        {"allocation_id": "eipalloc-1", "public_ip": "198.51.100.7", "instance_id": "i-1", "association_id": "eipassoc-1"},
        {"allocation_id": "eipalloc-2", "public_ip": "198.51.100.8", "instance_id": "", "association_id": ""},
    ]
    (group,) = stack_info.security_groups(ec2, "blog")
    assert (group["group_id"], group["group_name"], group["vpc_id"], group["tags"]) == ("sg-1", "spotkit-blog", "vpc-1", {"spotkit:stack": "blog"})
    # One rule per source, in the shape of amazon.aws.ec2_security_group, in canonical order.
    assert group["ingress"] == canonical_rules([
        {"proto": "tcp", "ports": [443], "cidr_ip": "0.0.0.0/0", "rule_desc": "blog"},
        {"proto": "tcp", "ports": [443], "cidr_ipv6": "::/0", "rule_desc": ""},
        {"proto": "tcp", "ports": ["8000-8080"], "group_id": "sg-2", "rule_desc": ""},
        {"proto": "tcp", "ports": ["8000-8080"], "prefix_list_id": "pl-1", "rule_desc": "list"},
    ])
    assert group["egress"] == [{"proto": "-1", "ports": [], "cidr_ip": "0.0.0.0/0", "rule_desc": ""}]


def test_log_groups_are_found_by_prefix_with_retention_and_tags(stub):
    logs, stubber = stub("logs")
    stubber.add_response("describe_log_groups", {"logGroups": [
        {"logGroupName": "/spotkit/blog/blog", "retentionInDays": 90}, {"logGroupName": "/spotkit/blog/system"},
    ]}, {"logGroupNamePrefix": "/spotkit/blog/"})
    stubber.add_response("list_tags_log_group", {"tags": {"spotkit:stack": "blog"}}, {"logGroupName": "/spotkit/blog/blog"})
    stubber.add_response("list_tags_log_group", {}, {"logGroupName": "/spotkit/blog/system"})
    assert stack_info.log_groups(logs, "blog") == [
        {"name": "/spotkit/blog/blog", "retention_in_days": 90, "tags": {"spotkit:stack": "blog"}},
        {"name": "/spotkit/blog/system", "retention_in_days": None, "tags": {}},
    ]


def test_launch_template_tags_come_from_describe_tags(stub):
    ec2, stubber = stub("ec2")
    by_stack = [{"Name": "resource-type", "Values": ["launch-template"]}, {"Name": "key", "Values": ["spotkit:stack"]},
                {"Name": "value", "Values": ["blog"]}]
    stubber.add_response("describe_tags", {"Tags": [{"ResourceId": "lt-1", "Key": "spotkit:stack", "Value": "blog"}]}, {"Filters": by_stack})
    stubber.add_response("describe_tags", {"Tags": [{"ResourceId": "lt-1", "Key": "spotkit:stack", "Value": "blog"},
                                                    {"ResourceId": "lt-1", "Key": "Name", "Value": "spotkit-blog"}]},
                         {"Filters": [{"Name": "resource-id", "Values": ["lt-1"]}]})
    stubber.add_response("describe_tags", {"Tags": []}, {"Filters": by_stack})
    assert stack_info.launch_template_tags(ec2, "blog") == {"spotkit:stack": "blog", "Name": "spotkit-blog"}
    assert stack_info.launch_template_tags(ec2, "blog") == {}


def test_parameters_under_the_stack_path(stub):
    ssm, stubber = stub("ssm")
    stubber.add_response("describe_parameters", {"Parameters": [{"Name": "/spotkit/blog/env", "Version": 3}]},
                         {"ParameterFilters": [{"Key": "Path", "Option": "Recursive", "Values": ["/spotkit/blog"]}]})
    assert stack_info.parameters(ssm, "blog") == [{"name": "/spotkit/blog/env", "version": 3}]


def test_records_that_name_the_domain_or_point_at_the_stacks_addresses(stub):
    route53, stubber = stub("route53")
    sets = [
        {"Name": "example.com.", "Type": "NS", "TTL": 172800, "ResourceRecords": [{"Value": "ns-1."}]},
        {"Name": "blog.example.com.", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "198.51.100.7"}]},
        {"Name": "old.example.com.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "198.51.100.7"}]},
        {"Name": "other.example.com.", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "203.0.113.9"}]},
        {"Name": "alias.example.com.", "Type": "A", "AliasTarget": {"HostedZoneId": "Z", "DNSName": "x.", "EvaluateTargetHealth": False}},
    ]
    stubber.add_response("list_resource_record_sets", {"ResourceRecordSets": sets, "IsTruncated": False, "MaxItems": "300"},
                         {"HostedZoneId": "Z1"})
    assert stack_info.records(route53, {"id": "Z1", "name": "example.com"}, "Blog.Example.com.", ["198.51.100.7"]) == ([
        {"name": "blog.example.com", "ttl": 300, "values": ["198.51.100.7"]},
        {"name": "old.example.com", "ttl": 60, "values": ["198.51.100.7"]},
    ], [])


@pytest.mark.parametrize("domain,delegated", [
    ("blog.sub.example.com", ["sub.example.com"]), ("sub.example.com", ["sub.example.com"]),
    ("blog.example.com", []), ("blogsub.example.com", []),
])
def test_names_the_zone_delegates_elsewhere_are_reported(stub, domain, delegated):
    route53, stubber = stub("route53")
    sets = [
        {"Name": "example.com.", "Type": "NS", "TTL": 172800, "ResourceRecords": [{"Value": "ns-1."}]},
        {"Name": "sub.example.com.", "Type": "NS", "TTL": 300, "ResourceRecords": [{"Value": "ns.elsewhere.test."}]},
    ]
    stubber.add_response("list_resource_record_sets", {"ResourceRecordSets": sets, "IsTruncated": False, "MaxItems": "300"},
                         {"HostedZoneId": "Z1"})
    assert stack_info.records(route53, {"id": "Z1", "name": "example.com"}, domain, []) == ([], delegated)


def test_role_with_its_policies_and_nothing_when_missing(stub):
    iam, stubber = stub("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": ["*"]}]}
    stubber.add_response("get_role", {"Role": {
        "Path": "/", "RoleName": "spotkit-blog", "RoleId": "AROA1234567890123456", "Arn": "arn:aws:iam::123456789012:role/spotkit-blog",
        # As IAM answers: URL-encoded JSON, which botocore decodes.
        "CreateDate": "2026-01-01T00:00:00Z", "AssumeRolePolicyDocument": quote(json.dumps(trust)), "Description": "d",
        "Tags": [{"Key": "spotkit:stack", "Value": "blog"}]}}, {"RoleName": "spotkit-blog"})
    stubber.add_response("list_attached_role_policies", {"AttachedPolicies": []}, {"RoleName": "spotkit-blog"})
    stubber.add_response("list_role_policies", {"PolicyNames": ["spotkit-blog"]}, {"RoleName": "spotkit-blog"})
    stubber.add_response("get_role_policy", {"RoleName": "spotkit-blog", "PolicyName": "spotkit-blog", "PolicyDocument": quote(json.dumps(document))},
                         {"RoleName": "spotkit-blog", "PolicyName": "spotkit-blog"})
    stubber.add_client_error("get_role", service_error_code="NoSuchEntity", expected_params={"RoleName": "spotkit-gone"})
    assert stack_info.role(iam, "spotkit-blog") == {
        "description": "d", "trust_policy": trust, "tags": {"spotkit:stack": "blog"}, "managed_policy_arns": [],
        "inline_policies": {"spotkit-blog": document},
    }
    assert stack_info.role(iam, "spotkit-gone") == {}


def test_instance_profile_with_its_roles_and_nothing_when_missing(stub):
    iam, stubber = stub("iam")
    stubber.add_response("get_instance_profile", {"InstanceProfile": {
        "Path": "/", "InstanceProfileName": "spotkit-blog", "InstanceProfileId": "AIPA1234567890123456",
        "Arn": "arn:aws:iam::123456789012:instance-profile/spotkit-blog", "CreateDate": "2026-01-01T00:00:00Z",
        "Roles": [{"Path": "/", "RoleName": "spotkit-blog", "RoleId": "AROA1234567890123456", "Arn": "arn:aws:iam::123456789012:role/spotkit-blog",
                   "CreateDate": "2026-01-01T00:00:00Z"}],
        "Tags": [{"Key": "Name", "Value": "spotkit-blog"}]}}, {"InstanceProfileName": "spotkit-blog"})
    stubber.add_client_error("get_instance_profile", service_error_code="NoSuchEntity", expected_params={"InstanceProfileName": "x"})
    assert stack_info.instance_profile(iam, "spotkit-blog") == {"roles": ["spotkit-blog"], "tags": {"Name": "spotkit-blog"}}
    assert stack_info.instance_profile(iam, "x") == {}


@pytest.mark.parametrize("image_id,recorded,update,newest,chosen", [
    ("ami-given", "ami-recorded", False, "ami-newest", ("ami-given", "image_id")),
    ("", "ami-recorded", False, "ami-newest", ("ami-recorded", "recorded")),
    ("", "ami-recorded", True, "ami-newest", ("ami-newest", "parameter")),
    ("", "", False, "ami-newest", ("ami-newest", "parameter")),
    ("", "", False, "", ("", "")),
])
def test_the_recorded_base_image_is_kept_until_an_update_is_asked(image_id, recorded, update, newest, chosen):
    params = {"image_id": image_id, "image_tag": "spotkit:base-image", "image_update": update}
    found = {"launch_template_tags": {"spotkit:base-image": recorded} if recorded else {}, "image_parameter_value": newest}
    assert stack_info.chosen_image(params, found) == chosen
    assert stack_info.chosen_image(dict(params, image_tag=""), found)[1] != "recorded"


# --- Alerting: each resource in the shape the stack's plan gives it ---------------------------------

TOPIC = "arn:aws:sns:eu-west-1:123456789012:spotkit-blog-eu-west-1"


def test_a_topic_with_its_policy_tags_and_subscriptions_pending_or_not(stub):
    sns, stubber = stub("sns")
    policy = {"Version": "2012-10-17", "Statement": []}
    stubber.add_response("get_topic_attributes", {"Attributes": {"Policy": json.dumps(policy), "TopicArn": TOPIC}}, {"TopicArn": TOPIC})
    stubber.add_response("list_subscriptions_by_topic", {"Subscriptions": [
        {"SubscriptionArn": "PendingConfirmation", "Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": TOPIC, "Owner": "1"},
        {"SubscriptionArn": TOPIC + ":abc", "Protocol": "http", "Endpoint": "http://127.0.0.1:5003/", "TopicArn": TOPIC, "Owner": "1"},
    ]}, {"TopicArn": TOPIC})
    stubber.add_response("list_tags_for_resource", {"Tags": [{"Key": "spotkit:stack", "Value": "blog"}]}, {"ResourceArn": TOPIC})
    stubber.add_client_error("get_topic_attributes", service_error_code="NotFound", expected_params={"TopicArn": TOPIC})
    assert stack_info.topic(sns, TOPIC, "eu-west-1") == {
        "region": "eu-west-1", "name": "spotkit-blog-eu-west-1", "arn": TOPIC, "policy": policy, "tags": {"spotkit:stack": "blog"},
        "subscriptions": [
            {"protocol": "email", "endpoint": "ops@example.com", "pending": True, "arn": ""},
            {"protocol": "http", "endpoint": "http://127.0.0.1:5003/", "pending": False, "arn": TOPIC + ":abc"},
        ],
    }
    assert stack_info.topic(sns, TOPIC, "eu-west-1") == {}


def test_alarms_in_the_options_of_cloudwatch_metric_alarm(stub):
    cloudwatch, stubber = stub("cloudwatch")
    alarm = {"AlarmName": "spotkit-blog-memory", "Namespace": "spotkit/blog", "MetricName": "mem_used_percent",
             "Dimensions": [{"Name": "Stack", "Value": "blog"}], "Statistic": "Average", "ComparisonOperator": "GreaterThanThreshold",
             "Threshold": 90.0, "Period": 300, "EvaluationPeriods": 3, "DatapointsToAlarm": 3, "TreatMissingData": "notBreaching",
             "AlarmDescription": "blog: memory", "AlarmActions": [TOPIC], "OKActions": [TOPIC], "StateValue": "OK"}
    names = ["spotkit-blog-memory", "spotkit-blog-disk"]
    stubber.add_response("describe_alarms", {"MetricAlarms": [alarm]}, {"AlarmNames": names, "AlarmTypes": ["MetricAlarm"]})
    assert stack_info.alarms(cloudwatch, "eu-west-1", names) == [{
        "name": "spotkit-blog-memory", "region": "eu-west-1", "namespace": "spotkit/blog", "metric_name": "mem_used_percent",
        "dimensions": {"Stack": "blog"}, "statistic": "Average", "comparison": "GreaterThanThreshold", "threshold": 90.0,
        "period": 300, "evaluation_periods": 3, "datapoints_to_alarm": 3, "treat_missing_data": "notBreaching",
        "description": "blog: memory", "alarm_actions": [TOPIC], "ok_actions": [TOPIC],
    }]


def test_health_checks_are_found_by_name_and_stack_tag(stub):
    route53, stubber = stub("route53")
    config = {"Type": "HTTP", "Port": 80, "ResourcePath": "/", "FullyQualifiedDomainName": "blog.example.com",
              "RequestInterval": 30, "FailureThreshold": 3, "Disabled": False}
    checks = [{"Id": name, "CallerReference": name, "HealthCheckConfig": config, "HealthCheckVersion": 1} for name in ("ours", "theirs", "untagged")]
    stubber.add_response("list_health_checks", {"HealthChecks": checks, "Marker": "", "IsTruncated": False, "MaxItems": "100"}, {})
    stubber.add_response("list_tags_for_resources", {"ResourceTagSets": [
        {"ResourceType": "healthcheck", "ResourceId": "ours",
         "Tags": [{"Key": "Name", "Value": "spotkit-blog-eu-west-1"}, {"Key": "spotkit:stack", "Value": "blog"}]},
        # Another stack named like ours in the Name tag only is not ours.
        {"ResourceType": "healthcheck", "ResourceId": "theirs",
         "Tags": [{"Key": "Name", "Value": "spotkit-blog-eu-west-1"}, {"Key": "spotkit:stack", "Value": "blog-eu"}]},
    ]}, {"ResourceType": "healthcheck", "ResourceIds": ["ours", "theirs", "untagged"]})
    assert stack_info.health_checks(route53, "blog", "spotkit-blog-eu-west-1") == [{
        "id": "ours", "name": "spotkit-blog-eu-west-1", "tags": {"Name": "spotkit-blog-eu-west-1", "spotkit:stack": "blog"},
        "type": "HTTP", "port": 80, "resource_path": "/", "fqdn": "blog.example.com", "ip_address": "", "string_match": "",
        "request_interval": 30, "failure_threshold": 3, "disabled": False,
    }]


def test_event_rules_with_their_targets_and_tags(stub):
    events, stubber = stub("events")
    arn = "arn:aws:events:eu-west-1:123456789012:rule/spotkit-blog-launch"
    pattern = {"source": ["aws.autoscaling"]}
    stubber.add_response("describe_rule", {"Name": "spotkit-blog-launch", "Arn": arn, "EventPattern": json.dumps(pattern),
                                           "State": "ENABLED", "Description": "d"}, {"Name": "spotkit-blog-launch"})
    stubber.add_response("list_targets_by_rule", {"Targets": [{"Id": "spotkit-topic", "Arn": TOPIC, "InputTransformer": {
        "InputPathsMap": {"i": "$.detail.EC2InstanceId"}, "InputTemplate": "blog: <i>"}}]}, {"Rule": "spotkit-blog-launch"})
    stubber.add_response("list_tags_for_resource", {"Tags": [{"Key": "spotkit:stack", "Value": "blog"}]}, {"ResourceARN": arn})
    stubber.add_client_error("describe_rule", service_error_code="ResourceNotFoundException", expected_params={"Name": "spotkit-blog-terminate"})
    assert stack_info.event_rules(events, ["spotkit-blog-launch", "spotkit-blog-terminate"]) == [{
        "name": "spotkit-blog-launch", "description": "d", "state": "ENABLED", "event_pattern": pattern, "tags": {"spotkit:stack": "blog"},
        "targets": [{"id": "spotkit-topic", "arn": TOPIC, "input_paths_map": {"i": "$.detail.EC2InstanceId"}, "input_template": "blog: <i>"}],
    }]


def test_the_metric_filter_of_the_pull_log_group_and_none_without_the_group(stub):
    logs, stubber = stub("logs")
    group, name = "/spotkit/blog/ansible-pull", "spotkit-pull-failures"
    stubber.add_response("describe_metric_filters", {"metricFilters": [
        {"filterName": name, "filterPattern": '"a" "b"', "logGroupName": group,
         "metricTransformations": [{"metricName": "pull_failures", "metricNamespace": "spotkit/blog", "metricValue": "1"}]},
        {"filterName": name + "-other", "filterPattern": "x", "logGroupName": group,
         "metricTransformations": [{"metricName": "m", "metricNamespace": "n", "metricValue": "1"}]},
    ]}, {"logGroupName": group, "filterNamePrefix": name})
    stubber.add_client_error("describe_metric_filters", service_error_code="ResourceNotFoundException",
                             expected_params={"logGroupName": group, "filterNamePrefix": name})
    assert stack_info.metric_filters(logs, group, name) == [{
        "log_group": group, "name": name, "pattern": '"a" "b"', "metric_name": "pull_failures", "metric_namespace": "spotkit/blog",
        "metric_value": "1"}]
    assert stack_info.metric_filters(logs, group, name) == []


def test_the_stacks_images_newest_first_its_builders_and_snapshots(stub):
    ec2, stubber = stub("ec2")

    def by_role(role):
        return [{"Name": "tag:spotkit:stack", "Values": ["blog"]}, {"Name": "tag:spotkit:role", "Values": [role]}]

    older = {"ImageId": "ami-00000001", "Name": "spotkit-blog-1", "CreationDate": "2026-11-01T10:00:00.000Z", "State": "available",
             "RootDeviceName": "/dev/xvda", "Tags": [{"Key": "spotkit:bake-key", "Value": "k1"}],
             "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-1", "VolumeSize": 10}}]}
    newer = dict(older, ImageId="ami-00000002", Name="spotkit-blog-2", CreationDate="2026-11-02T10:00:00.000Z",
                 BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-2", "VolumeSize": 12}}])
    stubber.add_response("describe_images", {"Images": [older, newer]}, {"Owners": ["self"], "Filters": by_role("image")})
    stubber.add_response("describe_instances", {"Reservations": [{"Instances": [
        {"InstanceId": "i-0b", "State": {"Name": "stopped", "Code": 80}, "Tags": [{"Key": "spotkit:bake", "Value": "done"}]}]}]},
        {"Filters": by_role("builder") + [{"Name": "instance-state-name",
                                           "Values": ["pending", "running", "stopping", "stopped", "shutting-down"]}]})
    stubber.add_response("describe_snapshots", {"Snapshots": [{"SnapshotId": "snap-2"}, {"SnapshotId": "snap-1"}]},
                         {"OwnerIds": ["self"], "Filters": [{"Name": "tag:spotkit:stack", "Values": ["blog"]}]})
    images = stack_info.stack_images(ec2, "blog")
    assert [image["image_id"] for image in images] == ["ami-00000002", "ami-00000001"]
    assert images[0] == {"image_id": "ami-00000002", "name": "spotkit-blog-2", "creation_date": "2026-11-02T10:00:00.000Z",
                         "state": "available", "tags": {"spotkit:bake-key": "k1"}, "snapshot_ids": ["snap-2"],
                         "root_device_name": "/dev/xvda", "root_volume_size": 12}
    assert stack_info.builders(ec2, "blog") == [{"instance_id": "i-0b", "state": "stopped", "tags": {"spotkit:bake": "done"}}]
    assert stack_info.snapshots(ec2, "blog") == ["snap-1", "snap-2"]
