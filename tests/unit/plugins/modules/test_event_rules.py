"""Unit tests for the spotkit.ec2.event_rules module: what it compares, and which calls it makes."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.spotkit.ec2.plugins.modules import event_rules as module_under_test

ARN = "arn:aws:events:eu-west-1:123456789012:rule/spotkit-blog-launch"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:spotkit-blog-eu-west-1"
PATTERN = {"source": ["aws.autoscaling"], "detail-type": ["EC2 Instance Launch Successful"],
           "detail": {"AutoScalingGroupName": ["spotkit-blog"]}}
TARGET = {"id": "spotkit-topic", "arn": TOPIC, "input_paths_map": {"instance": "$.detail.EC2InstanceId"},
          "input_template": "blog: instance <instance> launched"}
RULE = {"name": "spotkit-blog-launch", "description": "launches", "event_pattern": PATTERN, "targets": [TARGET]}
TAGS = {"spotkit:stack": "blog", "Name": "spotkit-blog"}


class FakeModule:
    def __init__(self, check_mode=False):
        self.check_mode = check_mode


@pytest.fixture
def events(stub):
    return stub("events")


def described(stubber, description="launches", template=TARGET["input_template"], tags=None):
    stubber.add_response("describe_rule", {"Name": RULE["name"], "Arn": ARN, "EventPattern": json.dumps(PATTERN),
                                           "State": "ENABLED", "Description": description}, {"Name": RULE["name"]})
    stubber.add_response("list_targets_by_rule", {"Targets": [{"Id": "spotkit-topic", "Arn": TOPIC, "InputTransformer": {
        "InputPathsMap": TARGET["input_paths_map"], "InputTemplate": template}}]}, {"Rule": RULE["name"]})
    tags = TAGS if tags is None else tags
    stubber.add_response("list_tags_for_resource", {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}, {"ResourceARN": ARN})


def missing(stubber):
    stubber.add_client_error("describe_rule", service_error_code="ResourceNotFoundException", expected_params={"Name": RULE["name"]})


def test_a_new_rule_is_created_tagged_with_its_plain_text_target(events):
    client, stubber = events
    missing(stubber)
    stubber.add_response("put_rule", {"RuleArn": ARN}, {
        "Name": RULE["name"], "EventPattern": json.dumps(PATTERN, sort_keys=True), "State": "ENABLED", "Description": "launches",
        "Tags": [{"Key": "Name", "Value": "spotkit-blog"}, {"Key": "spotkit:stack", "Value": "blog"}]})
    stubber.add_response("describe_rule", {"Name": RULE["name"], "Arn": ARN, "EventPattern": json.dumps(PATTERN), "State": "ENABLED",
                                           "Description": "launches"}, {"Name": RULE["name"]})
    stubber.add_response("list_targets_by_rule", {}, {"Rule": RULE["name"]})
    stubber.add_response("list_tags_for_resource", {"Tags": [{"Key": k, "Value": v} for k, v in TAGS.items()]}, {"ResourceARN": ARN})
    # The template goes as it is: not wrapped in quotes, which the message would then show.
    stubber.add_response("put_targets", {"FailedEntryCount": 0, "FailedEntries": []}, {"Rule": RULE["name"], "Targets": [{
        "Id": "spotkit-topic", "Arn": TOPIC,
        "InputTransformer": {"InputPathsMap": TARGET["input_paths_map"], "InputTemplate": "blog: instance <instance> launched"}}]})
    described(stubber)
    changed, before, after = module_under_test.ensure_present(FakeModule(), client, copy.deepcopy(RULE), TAGS)
    assert changed and before == {}
    assert after == module_under_test.wanted(RULE, TAGS)


def test_a_matching_rule_is_left_alone(events):
    client, stubber = events
    described(stubber)
    changed, before, after = module_under_test.ensure_present(FakeModule(), client, copy.deepcopy(RULE), TAGS)
    assert not changed and before == after


def test_a_changed_template_is_put_again_and_the_rule_itself_is_not(events):
    client, stubber = events
    described(stubber, template="old words", tags=dict(TAGS, extra="x"))
    described(stubber, template="old words", tags=dict(TAGS, extra="x"))
    stubber.add_response("put_targets", {"FailedEntryCount": 0, "FailedEntries": []}, {"Rule": RULE["name"], "Targets": [{
        "Id": "spotkit-topic", "Arn": TOPIC,
        "InputTransformer": {"InputPathsMap": TARGET["input_paths_map"], "InputTemplate": TARGET["input_template"]}}]})
    stubber.add_response("untag_resource", {}, {"ResourceARN": ARN, "TagKeys": ["extra"]})
    described(stubber)
    changed, before, _after = module_under_test.ensure_present(FakeModule(), client, copy.deepcopy(RULE), TAGS)
    assert changed and before["targets"][0]["input_template"] == "old words"


def test_check_mode_compares_and_calls_nothing_else(events):
    client, stubber = events
    missing(stubber)
    described(stubber, description="other")
    assert module_under_test.ensure_present(FakeModule(check_mode=True), client, copy.deepcopy(RULE), TAGS)[0]
    assert module_under_test.ensure_present(FakeModule(check_mode=True), client, copy.deepcopy(RULE), TAGS)[0]


def test_a_rule_goes_with_its_targets_and_a_missing_one_is_no_change(events):
    client, stubber = events
    described(stubber)
    stubber.add_response("remove_targets", {"FailedEntryCount": 0, "FailedEntries": []}, {"Rule": RULE["name"], "Ids": ["spotkit-topic"]})
    stubber.add_response("delete_rule", {}, {"Name": RULE["name"]})
    missing(stubber)
    assert module_under_test.ensure_absent(FakeModule(), client, RULE["name"])[0] is True
    assert module_under_test.ensure_absent(FakeModule(), client, RULE["name"]) == (False, {}, {})
