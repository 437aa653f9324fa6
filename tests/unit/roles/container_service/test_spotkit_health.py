"""spotkit-health, rendered from the container_service role's template, run against real sockets: a server
that answers, a closed port, and a listener that accepts then closes at once (as Docker's proxy does when
nothing listens in the container)."""

from __future__ import annotations

import socket
import subprocess
import threading

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.spotkit.ec2.plugins.filter.container_services import container_services
from ansible_collections.spotkit.ec2.plugins.filter.health_checks import health_checks
from harness import REPO

TEMPLATE = REPO / "roles" / "container_service" / "templates" / "spotkit-health.j2"


def render(tmp_path, checks):
    text = Templar(loader=DataLoader(), variables={"ansible_managed": "managed", "_container_service_health_checks": checks}
                   ).template(trust_as_template(TEMPLATE.read_text()))
    script = tmp_path / "spotkit-health"
    script.write_text(text)
    script.chmod(0o755)
    return script


def run(script, *args):
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=30, check=False)


def listener(behaviour):
    """A loopback port whose server either keeps each connection open ('answers') or closes it at once ('proxy')."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                connection = server.accept()[0]
            except OSError:
                return
            if behaviour == "proxy":
                connection.close()
            else:
                threading.Timer(2, connection.close).start()

    threading.Thread(target=serve, daemon=True).start()
    return server


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def servers():
    started = {name: listener(name) for name in ("answers", "proxy")}
    yield {name: server.getsockname()[1] for name, server in started.items()}
    for server in started.values():
        server.close()


def test_a_service_that_answers_passes(tmp_path, servers):
    result = run(render(tmp_path, [["blog", servers["answers"]]]))
    assert (result.returncode, result.stdout) == (0, "blog %d ok\n" % servers["answers"])


def test_a_closed_port_and_a_proxy_with_nothing_behind_it_fail(tmp_path, servers):
    closed = free_port()
    result = run(render(tmp_path, [["blog", servers["answers"]], ["uptime", servers["proxy"]], ["api", closed]]))
    assert result.returncode == 1
    assert result.stdout.splitlines() == ["blog %d ok" % servers["answers"], "uptime %d down" % servers["proxy"],
                                          "api %d down" % closed]


def test_wait_retries_until_the_service_answers(tmp_path):
    port = free_port()
    script = render(tmp_path, [["blog", port]])
    process = subprocess.Popen([str(script), "--wait", "20"], stdout=subprocess.PIPE, text=True)
    threading.Timer(2, lambda: servers_late.append(socket.create_server(("127.0.0.1", port)))).start()
    servers_late = []
    try:
        assert process.wait(timeout=30) == 0
        assert process.stdout.read() == "blog %d ok\n" % port
    finally:
        for server in servers_late:
            server.close()


def test_bad_arguments_are_refused(tmp_path):
    script = render(tmp_path, [])
    for args in (["--wait"], ["--wait", "soon"], ["--now"]):
        result = run(script, *args)
        assert result.returncode != 0 and "usage: spotkit-health [--wait SECONDS]" in result.stderr, args


def test_each_tcp_port_is_checked_and_a_service_without_one_by_its_unit():
    services = container_services([{"name": "blog", "image": "caddy:2", "ports": ["8080:80", "443:443", "443:443/udp"]},
                                   {"name": "worker", "image": "worker:1"}])
    assert health_checks(services) == [["blog", 8080], ["blog", 443], ["worker", None]]
