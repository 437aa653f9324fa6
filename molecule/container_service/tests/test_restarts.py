"""Restarts: the log survives them, a killed container comes back, a dead registry takes nothing down,
and a new image restarts its service, and only that one."""

from __future__ import annotations

import time

from service_checks import (
    BLOG_HEADING,
    BLOG_PORT,
    SECRET,
    container_field,
    http_get,
    invocation_id,
    wait_for_page,
)

BLOG_IMAGE = "localhost:5000/blog:latest"
NOTES_IMAGE = "spotkit-notes:local"


def build_unused_image(host, tag):
    """An image of its own (the blog's with a label) that no service uses; returns its id."""
    host.check_output("printf 'FROM %s\\nLABEL spotkit.test=%s\\n' | docker build --quiet --tag %s -" % (BLOG_IMAGE, tag, tag))
    return image_id(host, tag)


def image_id(host, reference):
    """The id of an image, or None when the host has no such image."""
    result = host.run("docker image inspect --format '{{.Id}}' %s" % reference)
    return result.stdout.strip() if result.rc == 0 else None


def test_restart_appends_to_the_log_file(host):
    wait_for_page(host, BLOG_PORT, BLOG_HEADING)
    before = host.file("/var/log/blog.log").content_string
    host.check_output("systemctl restart spotkit-blog.service")
    wait_for_page(host, BLOG_PORT, BLOG_HEADING)
    after = host.file("/var/log/blog.log").content_string
    assert len(after) > len(before)
    assert after.startswith(before), "the log file was truncated by the restart"


def test_killed_container_is_back_within_10_seconds(host):
    wait_for_page(host, BLOG_PORT, BLOG_HEADING)
    killed = container_field(host, "blog", ".Id")
    host.check_output("docker kill blog")
    start = time.monotonic()
    wait_for_page(host, BLOG_PORT, BLOG_HEADING, timeout=10)
    assert time.monotonic() - start <= 10
    assert container_field(host, "blog", ".Id") not in (None, killed)


def test_unreachable_registry_takes_nothing_down(host, run_playbook):
    wait_for_page(host, BLOG_PORT, BLOG_HEADING)
    started = invocation_id(host, "blog")
    unused = build_unused_image(host, "spotkit-unused:registry-down")
    host.check_output("systemctl stop docker-registry.service")
    try:
        run = run_playbook("services.yml")
        assert run.rc == 0 and run.stats()["failures"] == 0, run.explain()
        said = " ".join(run.messages())
        assert "could not pull %s" % BLOG_IMAGE in said and "using the cached image" in said, run.messages()
        assert invocation_id(host, "blog") == started, "the run restarted the service"
        # A run in which a pull failed prunes nothing.
        assert image_id(host, "spotkit-unused:registry-down") == unused
        log_size = host.file("/var/log/blog.log").size
        host.check_output("systemctl restart spotkit-blog.service")
        wait_for_page(host, BLOG_PORT, BLOG_HEADING)
        new_lines = host.file("/var/log/blog.log").content_string[log_size:]
        assert "could not pull %s" % BLOG_IMAGE in new_lines and "using the cached image" in new_lines, new_lines
    finally:
        host.check_output("systemctl start docker-registry.service")
        host.run("docker image rm spotkit-unused:registry-down")


def test_new_image_under_the_same_tag_reaches_the_service_on_the_next_converge(host, run_playbook):
    old_image = host.check_output("docker image inspect --format '{{.Id}}' %s" % BLOG_IMAGE)
    # Push a second edition under the same tag, then point the local tag back at the first one and
    # remove the second: the registry now holds an image this host has never pulled, as after a push
    # from elsewhere.
    host.check_output(
        "printf 'FROM %s\\nUSER root\\nRUN sed -i \"s|</h1>|</h1><p>Second edition</p>|\" /srv/index.html\\nUSER caddy\\n' "
        "| docker build --quiet --tag %s - && docker push --quiet %s && docker tag %s %s && docker image prune --force"
        % (BLOG_IMAGE, BLOG_IMAGE, BLOG_IMAGE, old_image, BLOG_IMAGE)
    )
    status, body = http_get(host, BLOG_PORT)
    assert status == 200 and "Second edition" not in body
    started = invocation_id(host, "blog")
    notes_started = invocation_id(host, "notes")
    notes_image = image_id(host, NOTES_IMAGE)
    build_unused_image(host, "spotkit-unused:after-pull")

    run = run_playbook("services.yml", "--diff")
    assert run.rc == 0 and run.stats()["failures"] == 0, run.explain()
    assert SECRET not in run.output
    wait_for_page(host, BLOG_PORT, "Second edition")
    assert invocation_id(host, "blog") != started
    assert container_field(host, "blog", ".Image") != old_image
    assert invocation_id(host, "notes") == notes_started, "a service whose image did not change was restarted"
    # After pulls that all succeeded: the generation the pull replaced and the image no service uses
    # are gone; the images the services run stay.
    assert image_id(host, old_image) is None
    assert image_id(host, "spotkit-unused:after-pull") is None
    assert image_id(host, BLOG_IMAGE) == container_field(host, "blog", ".Image")
    assert image_id(host, NOTES_IMAGE) == notes_image == container_field(host, "notes", ".Image")
    # That a converge with no new image restarts nothing is checked on blog by test_the_list_is_the_truth.py.
