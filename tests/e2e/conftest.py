"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import boto3
import pytest

from sandbox_e2e import EMULATOR


@pytest.fixture(scope="session")
def emulator():
    """boto3 clients of the sandbox's AWS emulator."""
    options = dict(endpoint_url=EMULATOR, region_name="us-east-1",
                   aws_access_key_id="spotkit-sandbox", aws_secret_access_key="spotkit-sandbox")
    return lambda service: boto3.client(service, **options)
