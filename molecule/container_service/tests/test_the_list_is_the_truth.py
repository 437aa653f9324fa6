"""A service that leaves the list loses its unit, container and env file; nothing else is touched.
Runs last (file order): it changes the converged state."""

from __future__ import annotations

from service_checks import BLOG_HEADING, BLOG_PORT, NOTES_PORT, container_field, http_get, invocation_id, scenario_vars, wait_for_page


def test_service_removed_from_the_list_is_stopped_and_removed(host, run_playbook):
    variables = scenario_vars()
    blog_only = [service for service in variables["container_service_services"] if service["name"] == "blog"]
    assert len(blog_only) == 1
    blog_started = invocation_id(host, "blog")

    run = run_playbook("services.yml", extra_vars={"container_service_services": blog_only})
    assert run.rc == 0 and run.stats()["failures"] == 0, run.explain()

    assert not host.file("/etc/systemd/system/spotkit-notes.service").exists
    assert host.check_output("systemctl show --property LoadState --value spotkit-notes.service") == "not-found"
    assert container_field(host, "notes", ".Id") is None
    assert not host.file("/etc/spotkit/env/notes.env").exists
    assert http_get(host, NOTES_PORT)[0] == 0
    # Its log stays for reading (and shipping); it leaves the rotation.
    assert host.file("/var/log/notes.log").exists
    assert "/var/log/notes.log" not in host.file("/etc/logrotate.d/spotkit-services").content_string
    # The remaining service runs on untouched (a converge with no new image restarts nothing), and a
    # unit the role did not write is left alone.
    wait_for_page(host, BLOG_PORT, BLOG_HEADING)
    assert invocation_id(host, "blog") == blog_started
    assert host.file("/etc/systemd/system/spotkit-decoy.service").exists
