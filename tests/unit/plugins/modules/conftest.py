"""Shared fixtures of the modules' unit tests: AWS clients stubbed by botocore, wrapped as the modules wrap them."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper


@pytest.fixture
def stub():
    """stub(service) -> (client wrapped as the module wraps it, stubber); every announced call must be made."""
    stubbers = []

    def make(service):
        client = boto3.client(service, region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s")
        stubber = Stubber(client)
        stubber.activate()
        stubbers.append(stubber)
        return RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff(retries=1)), stubber

    yield make
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
