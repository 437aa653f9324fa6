"""State that outlives the instance (docs/state.md), on the ledger service: its saved copy, put in the emulator's
bucket before the first converge (prepare.yml), is in place before its first start; the periodic save uploads only
a change; a clean stop saves; a corrupt or a missing object gives one clear line and a clean start, no crash loop.
A new instance is a host without the service's restore marker: the tests remove it to start as one."""

from __future__ import annotations

import io
import re
import tarfile
import time

import pytest
from botocore.config import Config

from service_checks import LEDGER_PORT, emulator_client, invocation_id, journal_cursor, scenario_vars, unit_property, wait_for_page

KEY = "state/ledger.tar.gz"
MARKER = "/var/lib/spotkit/state/ledger.restored"
PAGE = "Restored ledger"


def s3():
    return emulator_client("s3", config=Config(s3={"addressing_style": "path"}))


def bucket():
    return scenario_vars()["container_service_state_bucket"]


def versions():
    listing = s3().list_object_versions(Bucket=bucket(), Prefix=KEY)
    return [version["VersionId"] for version in listing.get("Versions", []) if version["Key"] == KEY]


def saved_members():
    """{name: (mode, uid)} of the object's archive, and its sha256 metadata."""
    answer = s3().get_object(Bucket=bucket(), Key=KEY)
    with tarfile.open(fileobj=io.BytesIO(answer["Body"].read()), mode="r:gz") as archive:
        members = {member.name: (member.mode, member.uid) for member in archive}
    return members, answer["Metadata"].get("sha256", "")


def state_lines(host, since):
    """spotkit-state's journal lines since the cursor."""
    return host.check_output("journalctl --no-pager --output cat --after-cursor '%s' SYSLOG_IDENTIFIER=spotkit-state" % since).splitlines()


@pytest.fixture(name="no_periodic_save")
def periodic_save_held(host):
    """The periodic save held while a test puts the bucket's object in a state of its own: a save in between (its
    first one comes 300 s after the boot, whenever the tests are then) would replace it."""
    host.check_output("systemctl stop spotkit-state.timer spotkit-state.service")
    yield
    host.check_output("systemctl start spotkit-state.timer")


def start_as_on_a_new_instance(host):
    """Restart the ledger as its first start on a new instance, and check that it stays up: no crash loop."""
    host.check_output("rm -f %s && systemctl restart spotkit-ledger.service" % MARKER)
    started = invocation_id(host, "ledger")
    wait_for_page(host, LEDGER_PORT, PAGE)
    # Longer than RestartSec: a unit that failed would have started again by now.
    time.sleep(6)
    assert unit_property(host, "ledger", "ActiveState") == "active"
    assert invocation_id(host, "ledger") == started, "the unit restarted"


def test_the_saved_state_is_in_place_before_the_first_start(host):
    wait_for_page(host, LEDGER_PORT, PAGE)
    entries = host.file("/srv/ledger/entries")
    first = host.file("/srv/ledger/entries/first.txt")
    assert (entries.mode, entries.uid, first.mode, first.uid, first.content_string) == (0o750, 1234, 0o640, 1234, "first entry\n")
    # The unit's journal (which the service's log file also gets, and logrotate may have rotated by now): the
    # restore's one line, then systemd's "Started" once the start's preparations are done.
    lines = host.check_output("journalctl --no-pager --output cat --unit spotkit-ledger.service").splitlines()
    restored = [index for index, line in enumerate(lines)
                if line.startswith("ledger: restored /srv/ledger from s3://molecule-state/%s" % KEY)]
    started = [index for index, line in enumerate(lines) if line.startswith("Started ") and "ledger" in line]
    assert len(restored) == 1 and started and restored[0] < started[0], lines
    assert unit_property(host, "ledger", "NRestarts") == "0"


def test_the_periodic_save_uploads_only_a_change(host):
    assert host.service("spotkit-state.timer").is_running
    assert "OnUnitActiveUSec=5min" in host.check_output("systemctl show --property TimersMonotonic --value spotkit-state.timer")
    before = versions()
    host.check_output("systemctl start spotkit-state.service")
    assert versions() == before, "an unchanged state was uploaded"
    host.check_output("echo second entry > /srv/ledger/entries/second.txt")
    since = journal_cursor(host)
    host.check_output("systemctl start spotkit-state.service")
    assert len(versions()) == len(before) + 1
    members, digest = saved_members()
    assert members["srv/ledger/entries"] == (0o750, 1234) and "srv/ledger/entries/second.txt" in members
    assert re.match(r"^[0-9a-f]{64}$", digest)
    assert [line for line in state_lines(host, since) if "ledger: saved /srv/ledger" in line and digest in line]
    host.check_output("systemctl start spotkit-state.service")
    assert len(versions()) == len(before) + 1, "the second save of an unchanged state uploaded"


def test_a_clean_stop_saves_after_the_container_stopped(host):
    before = versions()
    host.check_output("echo third entry > /srv/ledger/entries/third.txt")
    host.check_output("systemctl stop spotkit-ledger.service")
    try:
        assert len(versions()) == len(before) + 1
        assert "srv/ledger/entries/third.txt" in saved_members()[0]
    finally:
        host.check_output("systemctl start spotkit-ledger.service")
    wait_for_page(host, LEDGER_PORT, PAGE)


@pytest.mark.usefixtures("no_periodic_save")
def test_a_corrupt_object_gives_one_line_and_a_clean_start(host):
    s3().put_object(Bucket=bucket(), Key=KEY, Body=b"not a tar", Metadata={"sha256": "0" * 64})
    since = journal_cursor(host)
    start_as_on_a_new_instance(host)
    lines = state_lines(host, since)
    unusable = [line for line in lines if "ledger: the saved state at s3://molecule-state/%s" % KEY in line]
    assert len(unusable) == 1 and "is unusable: it is not a gzip'd tar" in unusable[0], lines
    assert "it starts with what this instance has" in unusable[0]
    assert host.file("/srv/ledger/entries/third.txt").exists


@pytest.mark.usefixtures("no_periodic_save")
def test_a_missing_object_gives_one_line_and_a_clean_start(host):
    s3().delete_object(Bucket=bucket(), Key=KEY)
    since = journal_cursor(host)
    start_as_on_a_new_instance(host)
    lines = state_lines(host, since)
    missing = [line for line in lines if "ledger: no saved state at s3://molecule-state/%s (a first deploy)" % KEY in line]
    assert len(missing) == 1 and len(lines) == 1, lines
