"""The emulator gap layer's input transformer (sandbox/emulator/moto_gaps.py), as EventBridge transforms an
event for an SNS target: plain text stays text, a JSON template gets JSON values."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "sandbox" / "emulator"))
import moto_gaps  # noqa: E402 pylint: disable=wrong-import-position

EVENT = {"id": "1", "time": "2026-11-30T12:04:05Z", "detail-type": "EC2 Instance Terminate Successful",
         "resources": ["arn:group", "arn:instance"], "ingestion-time": 1,
         "detail": {"EC2InstanceId": "i-0abc", "Cause": 'At 12:04 "an instance" left', "Details": {"Availability Zone": "eu-west-1a"}}}
RULE = SimpleNamespace(arn="arn:aws:events:eu-west-1:1:rule/spotkit-blog-terminate", name="spotkit-blog-terminate")


def transform(template, paths):
    return moto_gaps.transformed_input({"InputTransformer": {"InputPathsMap": paths, "InputTemplate": template}}, EVENT, RULE)


def test_a_plain_text_template_gives_plain_text():
    text = transform("blog: <instance> left at <time> (<cause>) by <aws.events.rule-name>; <missing> <unknown>",
                     {"instance": "$.detail.EC2InstanceId", "time": "$.time", "cause": "$.detail.Cause", "missing": "$.detail.Nothing"})
    assert text == 'blog: i-0abc left at 2026-11-30T12:04:05Z (At 12:04 "an instance" left) by spotkit-blog-terminate;  <unknown>'


def test_a_json_template_gives_json():
    text = transform('{"instance": "<instance>", "resources": <resources>, "zone": "<zone>", "cause": "<cause>"}',
                     {"instance": "$.detail.EC2InstanceId", "resources": "$.resources", "zone": "$.detail.Details.Availability Zone",
                      "cause": "$.detail.Cause"})
    assert json.loads(text) == {"instance": "i-0abc", "resources": ["arn:group", "arn:instance"], "zone": "eu-west-1a",
                                "cause": 'At 12:04 "an instance" left'}


def test_without_a_transformer_the_target_gets_the_event_its_input_or_a_part():
    assert json.loads(moto_gaps.transformed_input({}, EVENT, RULE)) == EVENT
    assert moto_gaps.transformed_input({"Input": "fixed"}, EVENT, RULE) == "fixed"
    assert json.loads(moto_gaps.transformed_input({"InputPath": "$.resources[1]"}, EVENT, RULE)) == "arn:instance"
