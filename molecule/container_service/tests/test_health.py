"""spotkit-health on a host that runs the services: it passes while each published port answers, and names the
service whose port does not."""

from __future__ import annotations

from service_checks import BLOG_HEADING, BLOG_PORT, LEDGER_PORT, NOTES_PORT, wait_for_page

HEALTH = "/usr/local/sbin/spotkit-health"


def test_passes_while_every_service_answers(host):
    wait_for_page(host, BLOG_PORT, BLOG_HEADING)
    result = host.run(HEALTH)
    expected = ["blog %d ok" % BLOG_PORT, "notes %d ok" % NOTES_PORT, "ledger %d ok" % LEDGER_PORT]
    assert (result.rc, result.stdout.splitlines()) == (0, expected)


def test_names_a_stopped_service_and_waits_for_it_to_come_back(host):
    host.check_output("systemctl stop spotkit-blog.service")
    try:
        result = host.run(HEALTH)
        expected = ["blog %d down" % BLOG_PORT, "notes %d ok" % NOTES_PORT, "ledger %d ok" % LEDGER_PORT]
        assert (result.rc, result.stdout.splitlines()) == (1, expected)
        host.check_output("systemctl start --no-block spotkit-blog.service")
        assert host.run("%s --wait 60" % HEALTH).rc == 0
    finally:
        host.run("systemctl start spotkit-blog.service")
    wait_for_page(host, BLOG_PORT, BLOG_HEADING)
