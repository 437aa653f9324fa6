"""What the sandbox's AWS emulator adds to moto 5.2.5: the calls that a stack's provisioning and
teardown make and moto lacks, and one fix. Each behaves as AWS does, as far as an emulator that
launches instances at once can:

- Auto Scaling StartInstanceRefresh replaces, at once, every instance of the group that was not
  launched from the group's current launch template version (the version EC2 records in the
  instance's aws:ec2launchtemplate:version tag): it terminates it without decrementing the desired
  capacity, and the group launches its replacement. The refresh is then Successful.
- Auto Scaling DescribeInstanceRefreshes lists a group's refreshes, newest first.
- EC2 DeleteLaunchTemplateVersions deletes versions other than the default one; a deleted version
  is no longer described or launched from.
- moto stores the UserData of CreateLaunchTemplateVersion as a plain string, unlike that of
  CreateLaunchTemplate, and its Auto Scaling then fails (HTTP 500) to launch from any version but
  the first: every version's UserData is stored the way the first version's is.
- SSM holds the public parameters in which Debian publishes its images
  (/aws/service/debian/release/<12|13>/latest/<amd64|arm64>), in the regions where moto publishes
  Amazon Linux's. moto's catalogue has no Debian image: they name the images it has of each
  architecture. moto refuses to store a parameter named /aws/..., as AWS does, so nothing else
  could hold them.
- Auto Scaling EnableMetricsCollection adds the metrics it names (all of them when it names none) to what
  the group collects, as AWS does, where moto replaces them; DisableMetricsCollection, which moto lacks
  (HTTP 500), removes the metrics it names (all when none).
- SNS subscriptions by e-mail, HTTP or HTTPS wait for their confirmation, as on AWS: listed with the
  SubscriptionArn "PendingConfirmation", Subscribe answers "pending confirmation", nothing is delivered to
  them. An HTTP(S) endpoint is sent a SubscriptionConfirmation whose SubscribeURL (on the emulator's own
  address) confirms it when visited, as ConfirmSubscription with its token does. An e-mail address stays
  pending (the emulator sends no e-mail). moto confirms every subscription at once.
- SNS delivers to HTTP(S) subscribers in the background, in order, with AWS's x-amz-sns-* headers; a
  failed delivery is retried twice and logged, and never fails the Publish that caused it. moto posts
  within the Publish call, and an unreachable endpoint fails it.
- EventBridge delivers to SNS topic targets, which moto lacks (it routes to SQS, Logs and other buses
  only), with AWS's input transformer: a template that is not a JSON object is plain text, its
  variables filled in as text. moto parses every template as JSON.
- Auto Scaling tells EventBridge what it does, as AWS does: "EC2 Instance Launch Successful" when a group
  launches an instance and "EC2 Instance Terminate Successful" when an instance of a group is
  terminated (by the group, by TerminateInstanceInAutoScalingGroup, or by EC2 TerminateInstances, which
  is how a spot interruption reaches the group), each with a Cause in AWS's words. Within one request,
  the terminations come before the launches they cause. moto emits no event.
- CloudWatch SetAlarmState runs the alarm's actions when the state changes, as AWS does: it publishes the
  alarm's notification (AWS's JSON) to the SNS topics of the new state. moto only records the state.
- EC2 CreateImage tags the image's snapshot with the TagSpecifications of ResourceType snapshot, as AWS does;
  moto refuses them (NotImplementedError, HTTP 500), and so amazon.aws.ec2_ami with tags, which asks for both.
- S3 leaves out, where it checks a bucket policy on an object's GET or PUT, the statements that have a condition:
  moto evaluates them without it, so that the state bucket's "deny plain HTTP" and "deny all but the stack" denied
  every call. Like IAM's, the emulator does not evaluate conditions.
- S3 takes the bucket from the request's path only: the instances address the emulator as host.spotkit.test, path
  style, and moto read a host name with a dot in it as <bucket>.<endpoint> (the bucket "host").
- Not filled: DescribeSpotPriceHistory answers with a placeholder price ($0.00001, dated 2006), which
  spotkit.ec2.stack_cost takes for no current price (its dated table then prices the instance).
"""

from __future__ import annotations

import copy
import datetime
import json
import queue
import re
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict

from moto import settings as moto_settings
from moto.autoscaling.models import FakeAutoScalingGroup
from moto.autoscaling.responses import AutoScalingResponse
from moto.cloudwatch.models import CloudWatchBackend
from moto.core.responses import ActionResult, BaseResponse, EmptyResult
from moto.core.utils import camelcase_to_underscores, utcnow
from moto.ec2.exceptions import InvalidLaunchTemplateVersionNotFound
from moto.ec2.models import EC2Backend
from moto.ec2.models.launch_templates import LaunchTemplate, LaunchTemplateVersion
from moto.ec2.responses.launch_templates import LaunchTemplates
from moto.ec2.utils import parse_user_data
from moto.events.models import Rule, events_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.s3.models import FakeBucket
from moto.sns.exceptions import SNSInvalidParameter, SNSNotFoundError
from moto.sns.models import Subscription, sns_backends
from moto.sns.responses import SNSResponse
from moto.ssm.models import Parameter, ParameterDict
from moto.utilities.utils import load_resource

VERSION_TAG = "aws:ec2launchtemplate:version"
DEBIAN_PARAMETERS = "/aws/service/debian/release/"
# Images in moto's catalogue (Amazon Linux 2022), one per architecture; the same ids in every region.
DEBIAN_IMAGES = {"amd64": "ami-076f415166b04f5fe", "arm64": "ami-0e9271c829888680e"}
DEBIAN_RELEASES = ("12", "13")


def _launched_version(instance):
    return next((tag["value"] for tag in instance.get_tags() if tag["key"] == VERSION_TAG), None)


def outdated_instances(group):
    """The group's instance states that were not launched from its current launch template version."""
    current = str(group.ec2_launch_template.get_version(group.launch_template_version).number)
    return [state for state in group.instance_states if _launched_version(state.instance) != current]


def record_refresh(group, preferences, status, reason, started):
    """A new refresh of the group, newest first in what DescribeInstanceRefreshes lists; returns it."""
    done = status not in ("Pending", "InProgress")
    refresh = {
        "InstanceRefreshId": str(uuid.uuid4()),
        "AutoScalingGroupName": group.name,
        "Status": status,
        "StatusReason": reason,
        "StartTime": started,
        "PercentageComplete": 100 if done else 0,
        "InstancesToUpdate": 0 if done else 1,
        "Preferences": preferences,
    }
    if done:
        refresh["EndTime"] = utcnow()
    group.spotkit_instance_refreshes = [refresh] + getattr(group, "spotkit_instance_refreshes", [])
    return refresh


def start_instance_refresh(self):
    name = self._get_param("AutoScalingGroupName")
    group = self.autoscaling_backend.describe_auto_scaling_groups([name])[0]
    outdated = [state.instance.id for state in outdated_instances(group)]
    started = utcnow()
    for instance_id in outdated:
        self.autoscaling_backend.terminate_instance(instance_id, should_decrement=False)
    refresh = record_refresh(group, self._get_param("Preferences", {}), "Successful",
                             "%d instance(s) replaced" % len(outdated), started)
    return ActionResult({"InstanceRefreshId": refresh["InstanceRefreshId"]})


def describe_instance_refreshes(self):
    name = self._get_param("AutoScalingGroupName")
    group = self.autoscaling_backend.describe_auto_scaling_groups([name])[0]
    wanted = self._get_param("InstanceRefreshIds", [])
    refreshes = [r for r in getattr(group, "spotkit_instance_refreshes", []) if not wanted or r["InstanceRefreshId"] in wanted]
    return ActionResult({"InstanceRefreshes": refreshes})


def delete_launch_template_versions(self):
    name = self._get_param("LaunchTemplateName")
    template_id = self._get_param("LaunchTemplateId")
    template = self.ec2_backend.get_launch_template(template_id) if template_id else self.ec2_backend.get_launch_template_by_name(name)
    self.error_on_dryrun()
    deleted, refused = [], []
    for requested in self._get_param("Versions", []):
        entry = {"LaunchTemplateId": template.id, "LaunchTemplateName": template.name, "VersionNumber": int(requested)}
        if int(requested) == template.default_version_number:
            refused.append(dict(entry, ResponseError={"Code": "launchTemplateVersionIsDefaultVersion",
                                                      "Message": "Cannot delete the default version"}))
        elif any(version.number == int(requested) for version in template.versions) and int(requested) not in _deleted(template):
            _deleted(template).add(int(requested))
            deleted.append(entry)
        else:
            refused.append(dict(entry, ResponseError={"Code": "launchTemplateVersionDoesNotExist",
                                                      "Message": "The version does not exist"}))
    return ActionResult({"SuccessfullyDeletedLaunchTemplateVersions": deleted,
                         "UnsuccessfullyDeletedLaunchTemplateVersions": refused})


def _deleted(template):
    # moto finds versions by their position in a list: a deleted version stays there, marked.
    if not hasattr(template, "spotkit_deleted_versions"):
        template.spotkit_deleted_versions = set()
    return template.spotkit_deleted_versions


def _load_debian_parameters(parameters):
    try:
        load_resource("ssm/resources/ami-amazon-linux-latest/%s.json" % parameters.region_name)
    except FileNotFoundError:
        return
    for release in DEBIAN_RELEASES:
        for architecture, image in DEBIAN_IMAGES.items():
            name = "%s%s/latest/%s" % (DEBIAN_PARAMETERS, release, architecture)
            # defaultdict's own lookup: ParameterDict's would come back here.
            defaultdict.__getitem__(parameters, name).append(Parameter(
                account_id=parameters.account_id, name=name, value=image, parameter_type="String",
                description=None, allowed_pattern=None, keyid=None, last_modified_date=utcnow(),
                version=1, data_type="aws:ec2:image",
            ))


# --- Auto Scaling: metrics collection ------------------------------------------------------------

# What EnableMetricsCollection enables when it names no metric.
ALL_GROUP_METRICS = (
    "GroupMinSize", "GroupMaxSize", "GroupDesiredCapacity", "GroupInServiceInstances", "GroupPendingInstances",
    "GroupStandbyInstances", "GroupTerminatingInstances", "GroupTotalInstances",
)


def enable_metrics_collection(self, metrics):
    """FakeAutoScalingGroup's: the named metrics are added to what the group collects."""
    self.metrics = sorted(set(self.metrics or []) | set(metrics or ALL_GROUP_METRICS))


def disable_metrics_collection(self):
    name = self._get_param("AutoScalingGroupName")
    group = self.autoscaling_backend.describe_auto_scaling_groups([name])[0]
    named = self._get_param("Metrics") or []
    group.metrics = [metric for metric in group.metrics if named and metric not in named]
    return EmptyResult()


# --- SNS: subscriptions wait for their confirmation; deliveries go out in the background -------------

CONFIRMED_PROTOCOLS = ("email", "email-json", "http", "https")
_deliveries = queue.Queue()
# Straight to the endpoint: a proxy of this machine's environment has no business with the sandbox's.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _iso_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _deliver_forever():
    while True:
        url, body, headers = _deliveries.get()
        for attempt in range(3):
            try:
                request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
                with _opener.open(request, timeout=15) as response:
                    response.read()
                break
            except OSError as exc:
                if attempt == 2:
                    print("moto_gaps: SNS gave up delivering %s %s to %s: %s" % (headers["x-amz-sns-message-type"],
                          body.get("MessageId"), url, exc), file=sys.stderr, flush=True)
                else:
                    time.sleep(1 + attempt)


def _post(url, body, subscription_arn=""):
    headers = {"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": body["Type"],
               "x-amz-sns-message-id": body["MessageId"], "x-amz-sns-topic-arn": body["TopicArn"],
               "User-Agent": "Amazon Simple Notification Service Agent"}
    if subscription_arn:
        headers["x-amz-sns-subscription-arn"] = subscription_arn
    _deliveries.put((url, body, headers))


def _pending(subscription):
    return getattr(subscription, "spotkit_pending", False)


def sns_subscribe(self):
    """SNSResponse's: a new e-mail or HTTP(S) subscription waits for its confirmation, and an HTTP(S)
    endpoint is sent the URL that confirms it, on the address the request came to."""
    topic_arn, endpoint, protocol = self._get_param("TopicArn"), self._get_param("Endpoint"), self._get_param("Protocol")
    existing = self.backend._find_subscription(topic_arn, endpoint, protocol)
    result = _original["sns_subscribe"](self)
    subscription = self.backend._find_subscription(topic_arn, endpoint, protocol)
    if protocol in CONFIRMED_PROTOCOLS and (existing is None or _pending(subscription)):
        if existing is None:
            subscription.spotkit_pending = True
            subscription.spotkit_token = uuid.uuid4().hex + uuid.uuid4().hex
            subscription.attributes["PendingConfirmation"] = "true"
        if protocol in ("http", "https"):
            # AWS sends it again for a subscription that is still pending.
            url = "http://%s/?%s" % (self.headers.get("Host", "localhost"), urllib.parse.urlencode(
                {"Action": "ConfirmSubscription", "TopicArn": topic_arn, "Token": subscription.spotkit_token}))
            _post(endpoint, {
                "Type": "SubscriptionConfirmation", "MessageId": str(uuid.uuid4()), "Token": subscription.spotkit_token,
                "TopicArn": topic_arn, "SubscribeURL": url, "Timestamp": _iso_now(), "SignatureVersion": "1",
                "Message": "You have chosen to subscribe to the topic %s.\nTo confirm the subscription, visit the "
                           "SubscribeURL included in this message." % topic_arn,
            })
    if _pending(subscription) and str(self._get_param("ReturnSubscriptionArn")).lower() != "true":
        return ActionResult({"SubscriptionArn": "pending confirmation"})
    return result


def _listed(subscription):
    return {"SubscriptionArn": "PendingConfirmation" if _pending(subscription) else subscription.arn,
            "Owner": subscription.owner, "Protocol": subscription.protocol, "Endpoint": subscription.endpoint,
            "TopicArn": subscription.topic_arn}


def sns_list_subscriptions(self):
    subscriptions, next_token = self.backend.list_subscriptions(next_token=self._get_param("NextToken"))
    return ActionResult({"Subscriptions": [_listed(item) for item in subscriptions], "NextToken": next_token})


def sns_list_subscriptions_by_topic(self):
    subscriptions, next_token = self.backend.list_subscriptions_by_topic(
        self._get_param("TopicArn"), next_token=self._get_param("NextToken"))
    return ActionResult({"Subscriptions": [_listed(item) for item in subscriptions], "NextToken": next_token})


def sns_confirm_subscription(self):
    """SNSResponse's, also reached by an unsigned GET of a SubscribeURL: the token confirms its subscription."""
    topic_arn, token = self._get_param("TopicArn"), self._get_param("Token")
    _arn, _partition, _service, region, account, _name = (topic_arn or "::::::").split(":", 5)
    backend = sns_backends[account][region]
    if topic_arn not in backend.topics:
        raise SNSNotFoundError("Topic does not exist")
    for subscription in backend.subscriptions.values():
        if subscription.topic_arn == topic_arn and getattr(subscription, "spotkit_token", None) == token:
            subscription.spotkit_pending = False
            subscription.confirmed = True
            subscription.attributes["PendingConfirmation"] = "false"
            return ActionResult({"SubscriptionArn": subscription.arn})
    raise SNSInvalidParameter("Invalid parameter: Token")


def subscription_publish(self, message, message_id, subject=None, message_attributes=None, group_id=None,
                         deduplication_id=None, message_structure=None):
    """Subscription's: nothing reaches an unconfirmed subscription; HTTP(S) goes out in the background."""
    if _pending(self):
        return
    if self.protocol not in ("http", "https"):
        _original["subscription_publish"](self, message, message_id, subject=subject, message_attributes=message_attributes,
                                          group_id=group_id, deduplication_id=deduplication_id,
                                          message_structure=message_structure)
        return
    if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(message_attributes, message):
        return
    if message_structure == "json":
        message = self._parse_message_structure(message, self.protocol)
    _post(self.endpoint, self.get_post_data(message, message_id, subject, message_attributes=message_attributes), self.arn)


def infer_service_region_host(self, environ, path):
    """DomainDispatcherApplication's: an unsigned GET of a SubscribeURL goes to SNS, in the topic's region."""
    if not environ.get("HTTP_AUTHORIZATION"):
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        topic = (query.get("TopicArn") or [""])[0].split(":")
        if (query.get("Action") or [""])[0] == "ConfirmSubscription" and len(topic) == 6:
            return "sns.%s.amazonaws.com" % topic[3]
    return _original["infer_service_region_host"](self, environ, path)


# --- EventBridge: SNS targets, with AWS's input transformer -------------------------------------------

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")


def _path_value(event, path):
    """The value at a JSON path of the event ($.detail.x, $.resources[0]); None where there is none."""
    value = event
    for part in re.findall(r"[^.\[\]$]+|\[\d+\]", path):
        if part.startswith("["):
            index = int(part[1:-1])
            value = value[index] if isinstance(value, list) and index < len(value) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def transformed_input(target, event, rule):
    """What EventBridge sends a target: the event, its Input, its InputPath, or its InputTransformer's output.
    A template that is not a JSON object is plain text: each variable is filled in as text."""
    if "Input" in target:
        return target["Input"]
    if "InputPath" in target:
        return json.dumps(_path_value(event, target["InputPath"]))
    transformer = target.get("InputTransformer")
    if not transformer:
        return json.dumps(event)
    values = {name: _path_value(event, path) for name, path in (transformer.get("InputPathsMap") or {}).items()}
    values.update({"aws.events.rule-arn": rule.arn, "aws.events.rule-name": rule.name,
                   "aws.events.event.json": event, "aws.events.event.ingestion-time": event.get("ingestion-time")})
    template = transformer["InputTemplate"]
    as_json = template.strip().startswith("{")

    def fill(match):
        if match.group(1) not in values:
            return match.group(0)
        value = values[match.group(1)]
        if isinstance(value, str):
            return json.dumps(value)[1:-1] if as_json else value
        return json.dumps(value) if value is not None or as_json else ""

    return _PLACEHOLDER.sub(fill, template)


def rule_send_to_targets(self, original_event, transform_input=True):
    """Rule's: SNS topics are targets too (the others go as moto sends them); a disabled rule sends nothing."""
    if self.state != "ENABLED" or not self.event_pattern.matches_event(original_event):
        return
    topics = [target for target in self.targets if target["Arn"].split(":")[2] == "sns"]
    others = [target for target in self.targets if target not in topics]
    if others:
        rest = copy.copy(self)
        rest.targets = others
        _original["rule_send_to_targets"](rest, original_event, transform_input)
    for target in topics:
        _arn, _partition, _service, region, account, _name = target["Arn"].split(":", 5)
        sns_backends[account][region].publish(transformed_input(target, original_event, self), arn=target["Arn"])


# --- Auto Scaling tells EventBridge what it does ------------------------------------------------------

# Per request: the group events it causes, sent when it ends, and why (set by the API that started it).
_activity = threading.local()
TERMINATE_CAUSES = {
    "user": "At %(time)s instance %(instance)s was taken out of service in response to a user request.",
    "refresh": "At %(time)s an instance was taken out of service in response to an instance refresh.",
    "capacity": "At %(time)s an instance was taken out of service in response to a difference between desired and "
                "actual capacity, shrinking the capacity.",
    # An instance that EC2 terminated, which is how a spot interruption reaches the group.
    None: "At %(time)s an instance was taken out of service in response to an EC2 health check indicating it has "
          "been terminated or stopped.",
}
LAUNCH_CAUSES = {
    "refresh": "At %(time)s an instance was launched in response to an instance refresh.",
    None: "At %(time)s an instance was launched in response to a difference between desired and actual capacity, "
          "increasing the capacity from %(before)d to %(after)d.",
}
# The APIs whose group activity has a cause of its own.
ACTIVITY_CAUSES = {
    (AutoScalingResponse, "terminate_instance_in_auto_scaling_group"): "user",
    (AutoScalingResponse, "start_instance_refresh"): "refresh",
    (AutoScalingResponse, "set_desired_capacity"): "capacity",
    (AutoScalingResponse, "update_auto_scaling_group"): "capacity",
    (AutoScalingResponse, "delete_auto_scaling_group"): "capacity",
}


def _group_event(group, kind, instance, cause, start):
    now = _iso_now()
    detail_type = {"launch": "EC2 Instance Launch Successful", "terminate": "EC2 Instance Terminate Successful"}[kind]
    detail = {
        "StatusCode": "InProgress", "AutoScalingGroupName": group.name, "ActivityId": str(uuid.uuid4()),
        "Details": {"Availability Zone": getattr(getattr(instance, "placement", None), "zone", "") or "",
                    "Subnet ID": getattr(instance, "subnet_id", "") or ""},
        "RequestId": str(uuid.uuid4()), "StartTime": start, "EndTime": now, "EC2InstanceId": instance.id,
        "Cause": cause,
    }
    instance_arn = "arn:%s:ec2:%s:%s:instance/%s" % (group.arn.split(":")[1], group.region, group.account_id, instance.id)
    return group, {"Source": "aws.autoscaling", "DetailType": detail_type, "Detail": json.dumps(detail),
                   "Resources": [group.arn, instance_arn], "Time": now[:19] + "Z"}, kind


def _record(event):
    events = getattr(_activity, "events", None)
    if events is None:
        _send([event])
    else:
        events.append(event)


def _send(events):
    # A termination before the launch it causes, as AWS's activities go.
    for group, entry, _kind in sorted(events, key=lambda item: item[2] != "terminate"):
        try:
            events_backends[group.account_id][group.region].put_events([entry])
        except Exception as exc:  # pylint: disable=broad-except
            print("moto_gaps: could not send %s of %s to EventBridge: %s" % (entry["DetailType"], group.name, exc),
                  file=sys.stderr, flush=True)


def call_action(self):
    """BaseResponse's: the group events of a request go out when it ends, with the cause of its API."""
    outermost = getattr(_activity, "events", None) is None
    if outermost:
        _activity.events = []
        try:
            _activity.cause = ACTIVITY_CAUSES.get((type(self), camelcase_to_underscores(self._get_action())))
        except Exception:  # pylint: disable=broad-except
            _activity.cause = None
    try:
        return _original["call_action"](self)
    finally:
        if outermost:
            events, _activity.events, _activity.cause = _activity.events, None, None
            _send(events)


def replace_autoscaling_group_instances(self, count_needed, propagated_tags):
    """FakeAutoScalingGroup's: each instance the group launches is an event."""
    start, before = _iso_now(), {state.instance.id for state in self.instance_states}
    active = len(self.active_instances())
    _original["replace_autoscaling_group_instances"](self, count_needed, propagated_tags)
    for state in self.instance_states:
        if state.instance.id not in before:
            cause = LAUNCH_CAUSES.get(getattr(_activity, "cause", None), LAUNCH_CAUSES[None])
            _record(_group_event(self, "launch", state.instance, cause % {
                "time": start[:19] + "Z", "before": active, "after": active + count_needed}, start))


def ec2_terminate_instances(self, instance_ids):
    """EC2Backend's: an instance of a group that is terminated is an event of the group."""
    start = _iso_now()
    running = {instance.id for instance in self.get_multi_instances_by_id(instance_ids) if instance.state != "terminated"}
    terminated = _original["ec2_terminate_instances"](self, instance_ids)
    for instance, _previous in terminated:
        group = getattr(instance, "autoscaling_group", None)
        if group is not None and instance.id in running:
            cause = TERMINATE_CAUSES.get(getattr(_activity, "cause", None), TERMINATE_CAUSES[None])
            _record(_group_event(group, "terminate", instance, cause % {"time": start[:19] + "Z", "instance": instance.id}, start))
    return terminated


def detach_instances(self):
    """AutoScalingResponse's: a detached instance is no longer the group's; its termination is no group event."""
    names = set(self._get_param("InstanceIds", []))
    for group in self.autoscaling_backend.autoscaling_groups.values():
        for state in group.instance_states:
            if state.instance.id in names:
                state.instance.autoscaling_group = None
    return _original["detach_instances"](self)


# --- EC2: CreateImage tags the image's snapshot --------------------------------------------------------

def ec2_create_image(self, instance_id, name, description, tag_specifications):
    """EC2Backend's: the snapshot's tag specifications tag the image's snapshot."""
    snapshot_tags = [tag for spec in tag_specifications if spec["ResourceType"] == "snapshot" for tag in spec["Tags"]]
    others = [spec for spec in tag_specifications if spec["ResourceType"] != "snapshot"]
    image = _original["ec2_create_image"](self, instance_id, name, description, others)
    for tag in snapshot_tags:
        image.ebs_snapshot.add_tag(tag["Key"], tag["Value"])
    return image


# --- CloudWatch: SetAlarmState runs the alarm's actions ----------------------------------------------

def set_alarm_state(self, alarm_name, reason, reason_data, state_value):
    """CloudWatchBackend's: a change of state publishes the alarm's notification to its topics for that state."""
    alarm = self.alarms.get(alarm_name)
    old = alarm.state_value if alarm else None
    _original["set_alarm_state"](self, alarm_name, reason, reason_data, state_value)
    if old == state_value or not alarm.actions_enabled:
        return
    actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions, "INSUFFICIENT_DATA": alarm.insufficient_data_actions}[state_value]
    message = json.dumps({
        "AlarmName": alarm.name, "AlarmDescription": alarm.description, "AWSAccountId": self.account_id,
        "NewStateValue": state_value, "NewStateReason": reason, "StateChangeTime": _iso_now(), "Region": self.region_name,
        "AlarmArn": alarm.alarm_arn, "OldStateValue": old,
        "Trigger": {"MetricName": alarm.metric_name, "Namespace": alarm.namespace, "StatisticType": "Statistic",
                    "Statistic": (alarm.statistic or "").upper(), "Unit": alarm.unit,
                    "Dimensions": [{"value": item.value, "name": item.name} for item in alarm.dimensions],
                    "Period": alarm.period, "EvaluationPeriods": alarm.evaluation_periods,
                    "ComparisonOperator": alarm.comparison_operator, "Threshold": alarm.threshold,
                    "TreatMissingData": alarm.treat_missing_data or ""},
    })
    for arn in actions or []:
        parts = arn.split(":")
        if len(parts) == 6 and parts[2] == "sns":
            sns_backends[parts[4]][parts[3]].publish(message, arn=arn,
                                                     subject=('%s: "%s" in %s' % (state_value, alarm.name, self.region_name))[:99])


_original = {}


# --- S3: a bucket policy's statements with a condition are left out ---------------------------------------

def bucket_get_permission(self, action, resource):
    from moto.iam.access_control import IAMPolicy, PermissionResult  # pylint: disable=import-outside-toplevel

    if self.policy is None:
        return PermissionResult.NEUTRAL
    policy = json.loads(self.policy.decode())
    statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    kept = [statement for statement in statements if "Condition" not in statement]
    if not kept:
        return PermissionResult.NEUTRAL
    return IAMPolicy(json.dumps(dict(policy, Statement=kept))).is_action_permitted(action, resource)


def install():
    """Patch moto's classes; call once, before the server starts."""
    moto_settings.S3_IGNORE_SUBDOMAIN_BUCKETNAME = True
    original_check_loading_status = ParameterDict._check_loading_status
    # Requests come on several threads: a second one must not find the parameters half loaded.
    loading = threading.Lock()

    def check_loading_status(self, key):
        original_check_loading_status(self, key)
        if str(key or "").startswith(DEBIAN_PARAMETERS.rstrip("/")):
            with loading:
                if not getattr(self, "spotkit_debian_loaded", False):
                    _load_debian_parameters(self)
                    self.spotkit_debian_loaded = True

    ParameterDict._check_loading_status = check_loading_status

    AutoScalingResponse.start_instance_refresh = start_instance_refresh
    AutoScalingResponse.describe_instance_refreshes = describe_instance_refreshes
    LaunchTemplates.delete_launch_template_versions = delete_launch_template_versions

    original_get_version = LaunchTemplate.get_version

    def get_version(self, num):
        version = original_get_version(self, num)
        if version.number in _deleted(self):
            raise InvalidLaunchTemplateVersionNotFound(template_id=self.id, version=num)
        return version

    LaunchTemplate.get_version = get_version

    original_describe_versions = EC2Backend.describe_launch_template_versions

    def describe_launch_template_versions(self, *args, **kwargs):
        found = original_describe_versions(self, *args, **kwargs)
        return [(template, version) for template, version in found if version.number not in _deleted(template)]

    EC2Backend.describe_launch_template_versions = describe_launch_template_versions

    original_version_init = LaunchTemplateVersion.__init__

    def version_init(self, template, number, data, description):
        if isinstance(data.get("UserData"), str):
            data = dict(data, UserData=parse_user_data(data["UserData"]))
        original_version_init(self, template, number, data, description)

    LaunchTemplateVersion.__init__ = version_init

    _original.update(
        sns_subscribe=SNSResponse.subscribe, subscription_publish=Subscription.publish,
        infer_service_region_host=DomainDispatcherApplication.infer_service_region_host,
        rule_send_to_targets=Rule.send_to_targets, call_action=BaseResponse.call_action,
        replace_autoscaling_group_instances=FakeAutoScalingGroup.replace_autoscaling_group_instances,
        ec2_terminate_instances=EC2Backend.terminate_instances, detach_instances=AutoScalingResponse.detach_instances,
        set_alarm_state=CloudWatchBackend.set_alarm_state, ec2_create_image=EC2Backend.create_image,
    )
    FakeAutoScalingGroup.enable_metrics_collection = enable_metrics_collection
    AutoScalingResponse.disable_metrics_collection = disable_metrics_collection
    SNSResponse.subscribe = sns_subscribe
    SNSResponse.list_subscriptions = sns_list_subscriptions
    SNSResponse.list_subscriptions_by_topic = sns_list_subscriptions_by_topic
    SNSResponse.confirm_subscription = sns_confirm_subscription
    Subscription.publish = subscription_publish
    DomainDispatcherApplication.infer_service_region_host = infer_service_region_host
    Rule.send_to_targets = rule_send_to_targets
    BaseResponse.call_action = call_action
    FakeAutoScalingGroup.replace_autoscaling_group_instances = replace_autoscaling_group_instances
    EC2Backend.terminate_instances = ec2_terminate_instances
    AutoScalingResponse.detach_instances = detach_instances
    CloudWatchBackend.set_alarm_state = set_alarm_state
    EC2Backend.create_image = ec2_create_image
    FakeBucket.get_permission = bucket_get_permission
    threading.Thread(target=_deliver_forever, name="sns-deliveries", daemon=True).start()
