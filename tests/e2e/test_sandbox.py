"""The sandbox end to end, as a user runs it: `ansible-playbook site.yml` from nothing, a second run,
publishing by git push, the drills (termination, interruption, rebalance, bad refresh), teardown.

The tests run in file order and share one sandbox: each starts where the previous one left off.
Any sandbox already up on this machine is torn down first.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import socket
import subprocess
import urllib.parse

import yaml

from harness.playbook import run_playbook
from sandbox_e2e import (
    ACME_CA,
    DOMAIN,
    EMULATOR,
    REPO,
    SITE,
    SITE_HTTP,
    STACK,
    STATE_DIR,
    acme_orders,
    ansible_playbook,
    docker,
    drill_line,
    fetch,
    group_states,
    http_get,
    instance_exec,
    instance_ids,
    said,
    sandbox_containers,
    stack_address,
    stack_group,
    wait_for,
)

PAGE = REPO / "examples" / "project" / "blog" / "site" / "index.html"
REQUIREMENTS = REPO / "roles" / "spot_instance" / "files" / "instance-requirements.txt"
MARKER = "<!-- published by git push in the end-to-end test -->"


def emulator_processes():
    """The sandbox's emulator processes: from this checkout, on the sandbox's port (the integration tests, which may
    run beside these, start theirs on other ports)."""
    output = subprocess.run(["pgrep", "-af", "aws_emulator.py"], capture_output=True, text=True, check=False).stdout
    listen = "--listen 127.0.0.1:%d" % urllib.parse.urlsplit(EMULATOR).port
    return [line for line in output.splitlines() if str(REPO) in line and listen in line]


def test_from_nothing_site_yml_serves_the_example_blog():
    ansible_playbook("playbooks/teardown.yml")
    assert not STATE_DIR.exists() and not sandbox_containers()

    run = ansible_playbook("site.yml")

    assert said(run, "blog: %s serves" % SITE), run.messages()
    status, body = http_get(SITE)
    assert status == 200
    assert body == PAGE.read_text()


def test_the_site_serves_https_with_one_certificate_from_the_sandboxs_acme_ca():
    (instance,) = instance_ids()
    site = fetch(SITE, str(ACME_CA))
    assert site["status"] == 200, site
    assert site["names"] == [DOMAIN]
    assert site["issuer"]["commonName"].startswith("Pebble Intermediate CA"), site
    assert acme_orders() == 1
    # Caddy's data, the certificate included, in the host directory the stack keeps, owned by caddy (uid 990).
    stored = instance_exec(instance, "find", "/srv/blog/caddy-data/caddy/certificates", "-name", DOMAIN + ".crt", "-uid", "990").stdout
    assert stored.strip(), stored
    # Certificates were ordered only once the instance held the address, and for the site's name only.
    assert instance_exec(instance, "cat", "/run/spotkit-address/held").stdout.strip()
    other = "other.localhost"
    assert fetch(SITE.replace(DOMAIN, other), str(ACME_CA))["status"] == 0
    assert acme_orders() == 1
    # HTTP/3: offered by Caddy, and its UDP port reaches it through the Elastic IP gateway: a QUIC packet of a version
    # nobody speaks gets Caddy's Version Negotiation (RFC 9000 6.1), which lists the versions it does.
    assert 'h3=":443"' in (site["alt_svc"] or ""), site
    versions = quic_versions("127.0.0.1", 8443)
    assert 1 in versions, versions


def quic_versions(host, port):
    """The QUIC versions a server lists in its Version Negotiation packet, [] when none came within 3 s."""
    dcid, scid = os.urandom(8), os.urandom(8)
    # Long header, version 0x1a2a3a4a (reserved for negotiation), padded to the 1200 bytes a client's first packet has.
    packet = bytes([0xC0]) + bytes.fromhex("1a2a3a4a") + bytes([8]) + dcid + bytes([8]) + scid
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(packet.ljust(1200, b"\0"), (host, port))
        try:
            answer = sock.recv(2048)
        except socket.timeout:
            return []
    # Version 0, then the connection ids swapped, then the versions.
    if answer[1:5] != bytes(4) or answer[6:14] != scid:
        return []
    versions = answer[6 + 8 + 1 + 8:]
    return [int.from_bytes(versions[i:i + 4], "big") for i in range(0, len(versions) - 3, 4)]


def test_http_redirects_to_https():
    answer = fetch(SITE_HTTP + "posts/hello.html")
    assert answer["status"] in (301, 308), answer
    assert answer["location"] == "https://%s/posts/hello.html" % DOMAIN


def test_elastic_ip_is_associated_with_the_booted_instance(emulator):
    booted = instance_ids()
    assert len(booted) == 1
    assert stack_address(emulator).get("InstanceId") == booted[0]
    # It waited on the group's launch hook until it served and held the address (docs/operations.md#a-new-instance).
    autoscaling = emulator("autoscaling")
    group = stack_group(autoscaling)
    assert group_states(group) == [(booted[0], "InService")]
    [launch] = [a for a in autoscaling.describe_scaling_activities(AutoScalingGroupName=group["AutoScalingGroupName"])["Activities"]
                if a["Description"].endswith(booted[0])]
    assert launch["StatusCode"] == "Successful"
    if os.environ.get("SPOTKIT_FIGURES"):
        with open(os.environ["SPOTKIT_FIGURES"], "a", encoding="utf-8") as stream:
            stream.write("e2e first boot: %.1f s in Pending:Wait\n" % (launch["EndTime"] - launch["StartTime"]).total_seconds())


def test_the_instance_boots_from_the_stack_image_that_its_builder_baked(emulator):
    (instance,) = instance_ids()
    ec2 = emulator("ec2")
    (image,) = ec2.describe_images(Owners=["self"], Filters=[{"Name": "tag:spotkit:stack", "Values": [STACK]}])["Images"]
    booted = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert booted["ImageId"] == image["ImageId"]
    # The hypervisor committed the builder's container: the instance's container runs that, with its Docker data.
    assert docker("inspect", "--format", "{{.Config.Image}}", "spotkit-sandbox-" + instance).stdout.strip() == \
        "spotkit-sandbox-ami:" + image["ImageId"]
    builder = {tag["Key"]: tag["Value"] for tag in image["Tags"]}["spotkit:builder"]
    builders = ec2.describe_instances(InstanceIds=[builder])["Reservations"][0]["Instances"]
    assert [b["State"]["Name"] for b in builders] == ["terminated"]
    # The image holds nothing the builder logged: its pull log and its journal stayed behind.
    wait_for(lambda: instance_exec(instance, "test", "-f", "/var/lib/spotkit/converged", check=False).returncode == 0,
             timeout=300, what="the instance's first converge")
    log = instance_exec(instance, "cat", "/var/log/spotkit-pull.log").stdout
    assert "Tag the builder with how its bake ended" not in log
    # Its first converge, with the inputs the builder applied, skipped what is in the image, and did what is its own.
    assert "TASK [spotkit.ec2.interruption_watcher : " in log and "TASK [spotkit.ec2.docker : " not in log, log[-3000:]
    machine_id = instance_exec(instance, "cat", "/etc/machine-id").stdout.strip()
    assert instance_exec(instance, "ls", "/var/log/journal").stdout.split() == [machine_id]
    # The builder started no service: on this instance the blog's state was restored before the blog's first start.
    journal = [json.loads(line) for line in instance_exec(
        instance, "journalctl", "--no-pager", "--boot", "--output", "json", "--output-fields", "MESSAGE,SYSLOG_IDENTIFIER").stdout.splitlines()]
    restored = [i for i, entry in enumerate(journal) if entry.get("SYSLOG_IDENTIFIER") == "spotkit-state"
                and str(entry.get("MESSAGE")).startswith("blog: ")]
    started = [i for i, entry in enumerate(journal) if str(entry.get("MESSAGE")).startswith("Started spotkit-blog.service")]
    assert restored and started and restored[0] < started[0], (restored, started)


def test_the_instance_runs_the_project_with_this_checkouts_collection(emulator):
    (instance,) = instance_ids()
    installed = instance_exec(instance, "cat", "/opt/spotkit/collections/ansible_collections/spotkit/ec2/MANIFEST.json").stdout
    assert '"name": "ec2"' in installed and '"namespace": "spotkit"' in installed
    assert instance_exec(instance, "test", "-f", "/opt/spotkit/project/pull.yml", check=False).returncode == 0
    # The first boot's pull script (from the user-data) is the one the ansible_pull role installs.
    user_data = emulator("ec2").describe_instance_attribute(InstanceId=instance, Attribute="userData")["UserData"]["Value"]
    first_boot = yaml.safe_load(base64.b64decode(user_data))
    script = next(item["content"] for item in first_boot["write_files"] if item["path"] == "/usr/local/sbin/spotkit-pull")
    assert instance_exec(instance, "cat", "/usr/local/sbin/spotkit-pull").stdout == script


def test_the_instances_virtualenv_holds_exactly_the_hashed_requirements():
    # The first boot installed it with --require-hashes from the wheels the sandbox serves.
    (instance,) = instance_ids()
    pinned = {line.split(" ")[0].lower() for line in REQUIREMENTS.read_text().splitlines() if "==" in line and not line.startswith("#")}
    frozen = instance_exec(instance, "/opt/spotkit/venv/bin/pip", "freeze", "--all").stdout.lower().split()
    assert {line for line in frozen if not line.startswith(("pip==", "setuptools=="))} == pinned


def test_second_run_changes_nothing():
    run = ansible_playbook("site.yml")
    totals = run.result["stats"]
    assert totals, run.stdout[-3000:]
    changed = {host: run.changed_tasks(host) for host in totals}
    assert {host: counts["changed"] for host, counts in totals.items()} == {host: 0 for host in totals}, changed


def test_the_timer_leaves_the_revision_the_first_boot_applied_alone():
    (instance,) = instance_ids()
    instance_exec(instance, "systemctl", "start", "spotkit-pull.service")
    assert "nothing to do" in instance_exec(instance, "tail", "-n", "1", "/var/log/spotkit-pull.log").stdout


def test_a_commit_in_the_git_remote_reaches_the_instance_on_the_next_timer_run(tmp_path):
    work = tmp_path / "work"
    git = ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@spotkit.invalid"]
    subprocess.run(["git", "clone", "--quiet", str(STATE_DIR / "project.git"), str(work)], check=True)
    page = work / "blog" / "site" / "index.html"
    page.write_text(page.read_text().replace("</body>", MARKER + "\n</body>"))
    subprocess.run([*git, "-C", str(work), "commit", "--quiet", "-am", "Change the page"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "--quiet", "origin", "HEAD:main"], check=True)
    head = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()

    (instance,) = instance_ids()
    # What the timer starts when it elapses.
    instance_exec(instance, "systemctl", "start", "spotkit-pull.service")

    assert MARKER in wait_for(lambda: MARKER in http_get(SITE)[1] and http_get(SITE)[1], timeout=60, what="the new page")
    assert instance_exec(instance, "cat", "/var/lib/spotkit/pull-applied").stdout.strip() == head
    assert "applied " + head in instance_exec(instance, "tail", "-n", "3", "/var/log/spotkit-pull.log").stdout


def test_drill_replaces_the_instance_which_takes_the_elastic_ip_and_serves(emulator):
    (before,) = instance_ids()
    serial, orders = fetch(SITE, str(ACME_CA))["serial"], acme_orders()
    # A file of the service's own in its state directory, written after its last periodic save: the shutdown saves it.
    instance_exec(before, "sh", "-c", "echo %s > /srv/blog/caddy-data/e2e-marker" % before)

    run = ansible_playbook("playbooks/drill.yml")

    (after,) = instance_ids()
    assert after != before
    assert said(run, "%s was taken away; its replacement %s serves" % (before, after)), run.messages()
    # What a visitor asking every 0.2 s saw: a termination without notice takes the site down until the replacement serves.
    down, failed, requests = drill_line(run, "termination", after)
    assert 0 < failed < requests and down >= (failed - 1) * 0.2, (down, failed, requests)
    assert stack_address(emulator).get("InstanceId") == after
    assert http_get(SITE)[0] == 200
    # The replacement served from the stack image, then pulled the repository as it is now, the e2e commit included.
    wait_for(lambda: MARKER in http_get(SITE)[1], timeout=180, what="the replacement to converge to the e2e commit")
    # Caddy's data (/srv/blog/caddy-data, a `state:` path) outlived the instance: the replacement restored it before
    # the blog's first start, serves the same certificate and ordered none.
    replacement_serial, replacement_orders = fetch(SITE, str(ACME_CA))["serial"], acme_orders()
    assert replacement_serial == serial and replacement_orders == orders, (serial, orders, replacement_serial, replacement_orders)
    assert instance_exec(after, "cat", "/srv/blog/caddy-data/e2e-marker").stdout.strip() == before
    # What a subscriber of the stack's topic gets, at the sandbox's notification endpoint: the group's events, as
    # EventBridge's rules put them on the topic, each once.
    messages = (STATE_DIR / "notifications.log").read_text().splitlines()
    left = [line for line in messages if "%s: instance %s left the group" % (STACK, before) in line]
    launched = [line for line in messages if "%s: instance %s launched" % (STACK, after) in line]
    assert len(left) == 1 and len(launched) == 1, messages
    assert "spotkit-%s-" % STACK in left[0] and "the group launches a replacement" in left[0]
    assert messages.index(left[0]) < messages.index(launched[0])
    assert said(run, "%s: instance %s launched" % (STACK, after)), run.messages()


def test_interruption_drill_the_old_instance_serves_until_its_replacement_holds_the_address(emulator):
    (before,) = instance_ids()

    # A minute of notice, not two: a replacement from the stack image serves within about 20 s of its launch.
    run = ansible_playbook("playbooks/drill.yml", "-e", "drill_kind=interruption", "-e", "drill_notice_seconds=60")

    (after,) = instance_ids()
    assert after != before
    down, failed, requests = drill_line(run, "interruption", after)
    assert requests > 0
    assert stack_address(emulator).get("InstanceId") == after
    # The old instance's watcher read the notice, detached it from the group (which launched the replacement at once)
    # and told the stack's topic; it is no longer in the group, and the replacement is.
    messages = (STATE_DIR / "notifications.log").read_text()
    assert "%s: AWS reclaims %s at " % (STACK, before) in messages and "a replacement is starting" in messages, messages[-2000:]
    group = stack_group(emulator("autoscaling"))
    assert group_states(group) == [(after, "InService")]
    # The old instance serves until 20 s before the notice's time; the replacement from when it took the address and
    # completed its launch hook. A visitor sees no outage when the second came first (5 s: the gateway's switch and
    # the prober's one-second timeout), else one of the gap between the two, never one of the replacement's boot.
    notice_time = re.search(r"AWS reclaims %s at (\d\d:\d\d:\d\d) UTC" % before, messages).group(1)
    [launch] = [a for a in emulator("autoscaling").describe_scaling_activities(AutoScalingGroupName="spotkit-" + STACK)["Activities"]
                if a["Description"].endswith(after) and a["StatusCode"] == "Successful"]
    in_service = launch["EndTime"]
    stop = datetime.datetime.combine(in_service.date(), datetime.time.fromisoformat(notice_time), in_service.tzinfo)
    stop -= datetime.timedelta(seconds=20)
    gap = max(0.0, (in_service - stop).total_seconds())
    assert down <= gap + 5.0, (down, failed, requests, gap)


def test_rebalance_drill_capacity_rebalancing_replaces_the_instance_and_no_request_fails(emulator):
    (before,) = instance_ids()

    run = ansible_playbook("playbooks/drill.yml", "-e", "drill_kind=rebalance")

    (after,) = instance_ids()
    assert after != before
    down, failed, requests = drill_line(run, "rebalance", after)
    assert failed == 0 and down == 0.0 and requests > 0, (down, failed, requests)
    assert stack_address(emulator).get("InstanceId") == after
    # The watcher told the stack's topic; the group launched first and terminated the old instance once the new one
    # was in service, back to one instance.
    assert "%s: AWS recommends rebalancing %s" % (STACK, before) in (STATE_DIR / "notifications.log").read_text()
    group = stack_group(emulator("autoscaling"))
    assert group_states(group) == [(after, "InService")]
    assert group["DesiredCapacity"] == 1
    state = emulator("ec2").describe_instances(InstanceIds=[before])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state == "terminated"


def group_version(autoscaling):
    """The launch template version the stack's group launches from."""
    return stack_group(autoscaling)["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]["Version"]


def test_bad_refresh_drill_rolls_back_and_the_old_instance_serves_throughout(emulator):
    (before,) = instance_ids()
    autoscaling = emulator("autoscaling")
    version = group_version(autoscaling)

    run = ansible_playbook("playbooks/drill.yml", "-e", "drill_kind=bad-refresh")

    assert instance_ids() == [before]
    down, failed, requests = drill_line(run, "bad-refresh", before)
    assert failed == 0 and down == 0.0 and requests > 0, (down, failed, requests)
    # The refresh launched first; its instance never served, abandoned its launch, and the group went back.
    refresh = autoscaling.describe_instance_refreshes(AutoScalingGroupName="spotkit-" + STACK)["InstanceRefreshes"][0]
    assert refresh["Status"] == "RollbackSuccessful", refresh
    assert group_states(stack_group(autoscaling)) == [(before, "InService")]
    assert group_version(autoscaling) == version
    assert stack_address(emulator).get("InstanceId") == before


def test_a_replacement_from_the_stack_image_serves_while_the_registry_and_git_remote_are_down_and_converges_after(emulator):
    (before,) = instance_ids()
    head = STATE_DIR / "project.git" / "HEAD"
    # Without HEAD the remote is no git repository: every clone and fetch of it fails. Without the registry no image
    # can be pulled.
    head.rename(head.with_name("HEAD.away"))
    docker("stop", "spotkit-sandbox-registry")
    try:
        run = run_playbook("playbooks/drill.yml")
        (after,) = instance_ids()
        # Its services started at boot from the images on its disk, and its boot unit took the address once they
        # answered: it serves, before any pull could succeed.
        assert after != before
        assert stack_address(emulator).get("InstanceId") == after
        assert fetch(SITE, str(ACME_CA))["status"] == 200
        assert first_boot(after) == ("activating", ""), first_boot(after)
    finally:
        docker("start", "spotkit-sandbox-registry")
        head.with_name("HEAD.away").rename(head)
    # The first boot's pull failed, and cloud-init said so; it is tried again until the remote answers.
    assert run.rc != 0 and "cloud-init failed" in run.explain(), run.explain()
    wait_for(lambda: first_boot(after) == ("inactive", "success"), timeout=400,
             what="the first boot to succeed once the remote came back")
    journal = instance_exec(after, "journalctl", "--no-pager", "--unit", "spotkit-first-boot.service").stdout
    assert "attempt 2, in 30 s" in journal, journal
    assert fetch(SITE, str(ACME_CA))["status"] == 200
    assert stack_address(emulator).get("InstanceId") == after


def first_boot(instance):
    """(ActiveState, Result) of the first boot's unit: activating while it retries, inactive and success once done."""
    shown = instance_exec(instance, "systemctl", "show", "--property=ActiveState,Result", "spotkit-first-boot.service").stdout
    values = dict(line.split("=", 1) for line in shown.split())
    return values["ActiveState"], values["Result"] if values["ActiveState"] == "inactive" else ""


def test_a_changed_stack_reaches_a_new_instance_through_an_instance_refresh(emulator):
    (before,) = instance_ids()

    # Changes the user-data: ansible-core from the distribution's packages instead of pip; the instance from the base
    # image (a bake would take minutes more; the first test bakes).
    run = ansible_playbook("site.yml", "-e", '{"spot_ansible_core_source": "distribution", "spot_image_bake": false}')

    (after,) = instance_ids()
    assert after != before
    # The newest refresh: it launched first, and the old instance went once the new one was in service.
    refresh = emulator("autoscaling").describe_instance_refreshes(AutoScalingGroupName="spotkit-" + STACK)["InstanceRefreshes"][0]
    assert refresh["Status"] == "Successful", refresh
    assert said(run, "blog: %s serves, instance %s, booted" % (SITE, after)), run.messages()
    assert stack_address(emulator).get("InstanceId") == after
    # The new instance runs the distribution's ansible-core, for its first pull and for the timer's.
    assert instance_exec(after, "dpkg-query", "--show", "--showformat", "${Status}", "ansible-core").stdout == "install ok installed"
    assert instance_exec(after, "test", "-e", "/opt/spotkit/venv", check=False).returncode != 0
    assert "/usr/bin/ansible-pull" in instance_exec(after, "cat", "/usr/local/sbin/spotkit-pull").stdout
    # site.yml put a snapshot of the project on top of the git remote again: the checkout's page.
    assert http_get(SITE) == (200, PAGE.read_text())


def test_teardown_leaves_nothing_behind():
    ansible_playbook("playbooks/teardown.yml")

    assert sandbox_containers() == []
    # The stack images' stand-ins and every instance's disk.
    assert docker("images", "--quiet", "spotkit-sandbox-ami").stdout.split() == []
    assert docker("volume", "ls", "--quiet", "--filter", "label=spotkit.sandbox").stdout.split() == []
    assert not STATE_DIR.exists()
    assert emulator_processes() == []
    assert http_get("http://127.0.0.1:4566/moto-api/")[0] == 0
    assert http_get("http://127.0.0.1:5001/v2/")[0] == 0
    assert http_get("http://127.0.0.1:5003/")[0] == 0
    # The ACME CA (pebble answers plain HTTP on its TLS port with 400) and its mock DNS's management API.
    assert http_get("http://127.0.0.1:15000/")[0] == 0
    assert http_get("http://127.0.0.1:5054/")[0] == 0
    assert http_get(SITE)[0] == 0
