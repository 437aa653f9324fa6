"""Test setup of molecule/container_service (not shipped): the stack's state bucket in the AWS emulator, as the
provisioning side makes it (versioned), holding the saved state of the `ledger` service before the first converge,
made by spotkit-state's own archive code from a tree with an owner and modes of its own.

    python state_bucket.py --endpoint http://127.0.0.1:45471 --region eu-west-1 --bucket molecule-state
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import sys
import tempfile
from pathlib import Path

import boto3
from botocore.config import Config

TOOL = Path(__file__).resolve().parents[2] / "roles" / "container_service" / "files" / "spotkit_state.py"
# What the verifier expects to find restored (tests/test_state.py).
PAGE = "<h1>Restored ledger</h1>\n"
ENTRY_OWNER = 1234


def spotkit_state():
    spec = importlib.util.spec_from_file_location("spotkit_state", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ledger_archive():
    """(gzip'd tar, digest) of /srv/ledger: a page, and a directory and file owned by ENTRY_OWNER, 0750 and 0640."""
    with tempfile.TemporaryDirectory() as root:
        ledger = Path(root, "srv", "ledger")
        (ledger / "entries").mkdir(parents=True)
        (ledger / "index.html").write_text(PAGE)
        (ledger / "entries" / "first.txt").write_text("first entry\n")
        os.chmod(ledger / "entries", 0o750)
        os.chmod(ledger / "entries" / "first.txt", 0o640)
        for path in (ledger / "entries", ledger / "entries" / "first.txt"):
            os.chown(path, ENTRY_OWNER, ENTRY_OWNER)
        buffer = io.BytesIO()
        digest, _count = spotkit_state().write_archive(root, ["/srv/ledger"], buffer)
    return buffer.getvalue(), digest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--bucket", required=True)
    arguments = parser.parse_args(argv)
    s3 = boto3.client("s3", endpoint_url=arguments.endpoint, region_name=arguments.region, aws_access_key_id="molecule",
                      aws_secret_access_key="molecule", config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket=arguments.bucket, CreateBucketConfiguration={"LocationConstraint": arguments.region})
    s3.put_bucket_versioning(Bucket=arguments.bucket, VersioningConfiguration={"Status": "Enabled"})
    body, digest = ledger_archive()
    s3.put_object(Bucket=arguments.bucket, Key="state/ledger.tar.gz", Body=body, Metadata={"sha256": digest})
    print(digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
