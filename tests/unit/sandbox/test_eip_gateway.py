"""The sandbox's Elastic IP gateway (sandbox/tools/eip_gateway.py), run for real on loopback: the
"instances" are echo servers on 127.0.0.2 and 127.0.0.3 that prefix their answers with their name, the
routing source a stub of the emulator's describe_addresses (and once the real emulator, moto)."""

from __future__ import annotations

import asyncio
import errno
import json
import queue
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

TOOLS = Path(__file__).resolve().parents[3] / "sandbox" / "tools"
sys.path.insert(0, str(TOOLS))
import eip_gateway  # noqa: E402 pylint: disable=wrong-import-position

INSTANCES = {"i-a": "127.0.0.2", "i-b": "127.0.0.3"}


class EchoTcp(socketserver.BaseRequestHandler):
    """Reads until the client's EOF, then answers NAME:DATA: a client sees its whole connection's instance,
    and gets an answer only if the gateway passes its half-close on."""

    def handle(self):
        received = b""
        while data := self.request.recv(65536):
            received += data
        self.request.sendall(self.server.name + b":" + received)


def echo_udp(sock, name):
    while True:
        try:
            data, client = sock.recvfrom(65536)
        except OSError:
            return
        sock.sendto(name + b":" + data, client)


@pytest.fixture(name="instances")
def fixture_instances():
    """A TCP and a UDP echo server on each instance's address, all on one port; yields that port."""
    port = free_port("127.0.0.2")
    servers, sockets = [], []
    for name, ip in (("a", "127.0.0.2"), ("b", "127.0.0.3")):
        server = socketserver.ThreadingTCPServer((ip, port), EchoTcp)
        server.daemon_threads, server.name = True, name.encode()
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((ip, port))
        threading.Thread(target=echo_udp, args=(sock, name.encode()), daemon=True).start()
        servers.append(server)
        sockets.append(sock)
    yield port
    for server in servers:
        server.shutdown()
        server.server_close()
    for sock in sockets:
        sock.close()


def free_port(ip="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((ip, 0))
        return sock.getsockname()[1]


def write_json(path, value):
    # As the sandbox writes it: whole, by rename.
    path.with_suffix(".tmp").write_text(json.dumps(value))
    path.with_suffix(".tmp").rename(path)


@pytest.fixture(name="config")
def fixture_config(tmp_path, instances):
    listen = "127.0.0.1:%d" % free_port()
    write_json(tmp_path / "instances.json", INSTANCES)
    return {"instances_file": str(tmp_path / "instances.json"), "stacks": {"blog": {
        "endpoint_url": "http://127.0.0.1:1", "region": "us-east-1", "access_key": "x", "secret_key": "x",
        "ports": [{"listen": listen, "target_port": instances, "protocol": protocol} for protocol in ("tcp", "udp")]}}}


def listen_address(config):
    host, port = config["stacks"]["blog"]["ports"][0]["listen"].split(":")
    return host, int(port)


class StubEmulator:
    """A stub of the emulator's describe_addresses: whom the stack's address is associated with, or no answer."""

    def __init__(self, holder=None):
        self.holder, self.down = holder, False

    def describe(self, stack):
        assert stack == "blog"
        if self.down:
            raise ConnectionError("Could not connect to the endpoint URL")
        if not self.holder:
            return [{"AllocationId": "eipalloc-1"}]
        # A second address, associated too but later by AllocationId, must not count.
        return [{"AllocationId": "eipalloc-2", "InstanceId": "i-b"}, {"AllocationId": "eipalloc-1", "InstanceId": self.holder}]


def wait_until(predicate, timeout=2.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@contextmanager
def gateway_running(config, emulator):
    gateway = eip_gateway.Gateway(eip_gateway.check_config(config), emulator.describe, poll=0.05)
    state = {}

    async def run():
        state["loop"], state["stop"] = asyncio.get_running_loop(), asyncio.Event()
        await gateway.run(state["stop"])

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    wait_until(lambda: gateway.routes["blog"] is not None)
    try:
        yield gateway
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(timeout=2)
        assert not thread.is_alive()


def tcp_open(config, data=b"hello"):
    sock = socket.create_connection(listen_address(config), timeout=2)
    sock.sendall(data)
    return sock


def tcp_finish(sock):
    sock.shutdown(socket.SHUT_WR)
    answer = b""
    while data := sock.recv(65536):
        answer += data
    sock.close()
    return answer


def tcp_exchange(config, data=b"hello"):
    return tcp_finish(tcp_open(config, data))


def switch(gateway, emulator, holder):
    emulator.holder = holder
    wait_until(lambda: gateway.routes["blog"][0] == holder)


def test_tcp_goes_to_the_holder_and_only_new_connections_follow_a_new_holder(config, capsys):
    emulator = StubEmulator("i-a")
    with gateway_running(config, emulator) as gateway:
        assert tcp_exchange(config) == b"a:hello"
        opened = tcp_open(config, b"one ")
        switch(gateway, emulator, "i-b")
        assert tcp_exchange(config) == b"b:hello"
        opened.sendall(b"two")
        assert tcp_finish(opened) == b"a:one two"
    out = capsys.readouterr().out
    assert "eip_gateway: listening on %s:%d/tcp (blog -> " % listen_address(config) in out
    assert "blog: Elastic IP -> i-a (127.0.0.2)\nblog: Elastic IP -> i-b (127.0.0.3)\n" in out


def connection_refused_in_time(config):
    started = time.monotonic()
    try:
        assert tcp_exchange(config) == b""
    # The reset, as the client meets it: on its read, or already on its half-close (ENOTCONN) when the reset came first.
    except (ConnectionResetError, BrokenPipeError):
        pass
    except OSError as error:
        if error.errno != errno.ENOTCONN:
            raise
    return time.monotonic() - started < 1.0


def test_with_nothing_to_forward_to_a_connection_is_closed_at_once_until_the_instance_comes(config, tmp_path, capsys):
    emulator = StubEmulator()
    with gateway_running(config, emulator) as gateway:
        assert connection_refused_in_time(config)
        switch(gateway, emulator, "i-c")
        assert connection_refused_in_time(config)
        write_json(tmp_path / "instances.json", dict(INSTANCES, **{"i-c": "127.0.0.3"}))
        wait_until(lambda: gateway.target("blog") == "127.0.0.3")
        assert tcp_exchange(config) == b"b:hello"
    assert ("blog: Elastic IP -> nothing (not associated)\n"
            "blog: Elastic IP -> nothing (instance i-c has no container)\n"
            "blog: Elastic IP -> i-c (127.0.0.3)\n") in capsys.readouterr().out


def udp_exchange(client, config, data):
    client.sendto(data, listen_address(config))
    answer, source = client.recvfrom(65536)
    assert source == listen_address(config)
    return answer


def test_udp_relays_a_datagram_and_its_reply_and_follows_a_new_holder(config):
    emulator = StubEmulator("i-a")
    with gateway_running(config, emulator) as gateway, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(2)
        assert udp_exchange(client, config, b"x") == b"a:x"
        assert udp_exchange(client, config, b"y") == b"a:y"
        switch(gateway, emulator, "i-b")
        assert udp_exchange(client, config, b"z") == b"b:z"
        (listener,) = gateway.udp
        assert len(listener.sessions) == 1
        listener.sweep(time.monotonic() + eip_gateway.UDP_IDLE)
        assert listener.sessions == {}


def test_an_emulator_that_does_not_answer_keeps_the_route_and_is_logged_once(config, capsys):
    emulator = StubEmulator("i-a")
    with gateway_running(config, emulator):
        emulator.down = True
        time.sleep(0.3)  # six polls
        assert tcp_exchange(config) == b"a:hello"
        emulator.down = False
        time.sleep(0.15)
    out = capsys.readouterr().out
    assert out.count("blog: the emulator does not answer (Could not connect") == 1, out
    assert out.count("blog: the emulator answers again\n") == 1, out
    assert out.count("blog: Elastic IP -> ") == 1, out


def test_a_port_that_cannot_be_bound_is_named(config):
    host, port = listen_address(config)
    with socket.socket() as taken:
        taken.bind((host, port))
        taken.listen()
        gateway = eip_gateway.Gateway(eip_gateway.check_config(config), StubEmulator().describe)
        with pytest.raises(OSError, match="cannot listen on %s:%d/tcp" % (host, port)):
            asyncio.run(gateway.listen())


def stack_with(**changes):
    stack = {"endpoint_url": "http://127.0.0.1:4566", "region": "us-east-1", "access_key": "k", "secret_key": "s",
             "ports": [{"listen": "127.0.0.1:8080", "target_port": 80, "protocol": "tcp"}]}
    return {"instances_file": "/tmp/instances.json", "stacks": {"blog": dict(stack, **changes)}}


@pytest.mark.parametrize("config, message", [
    ({"instances_file": "instances.json", "stacks": {}}, "instances_file must be an absolute path; got 'instances.json'"),
    ({"instances_file": "/i.json", "stacks": []}, "stacks must be a non-empty object; got []"),
    (stack_with(region=""), "stacks.blog.region must be a non-empty string; got ''"),
    (stack_with(ports=[]), "stacks.blog.ports must be a non-empty list; got []"),
    (stack_with(ports=[{"listen": "0.0.0.0:80", "target_port": 80, "protocol": "tcp"}]),
     "stacks.blog.ports[0].listen: refusing to listen on all interfaces ('0.0.0.0:80')"),
    (stack_with(ports=[{"listen": "127.0.0.1:80", "target_port": "80", "protocol": "tcp"}]),
     "stacks.blog.ports[0].target_port must be a port number (1-65535); got '80'"),
    (stack_with(ports=[{"listen": "127.0.0.1:80000", "target_port": 80, "protocol": "tcp"}]),
     "stacks.blog.ports[0].listen must be HOST:PORT with a port number (1-65535); got '127.0.0.1:80000'"),
    (stack_with(ports=[{"listen": "127.0.0.1:80", "target_port": 80, "protocol": "sctp"}]),
     "stacks.blog.ports[0].protocol must be tcp or udp; got 'sctp'"),
    (stack_with(ports=[{"listen": "127.0.0.1:80", "target_port": p, "protocol": "tcp"} for p in (80, 81)]),
     "stacks.blog.ports[1].listen must be listed once per protocol; got '127.0.0.1:80'"),
])
def test_a_bad_config_is_refused_naming_the_field_and_the_value(config, message):
    with pytest.raises(eip_gateway.ConfigError) as raised:
        eip_gateway.check_config(config)
    assert message in str(raised.value)


def gateway_process(config_path, *args):
    return subprocess.Popen([sys.executable, str(TOOLS / "eip_gateway.py"), "--config", str(config_path), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_command_exits_2_on_a_bad_config(tmp_path):
    write_json(tmp_path / "gateway.json", stack_with(access_key=None))
    process = gateway_process(tmp_path / "gateway.json")
    assert process.wait(timeout=10) == 2
    assert "stacks.blog.access_key must be a non-empty string; got None" in process.stderr.read()


def lines_of(stream):
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    return lines


def test_the_command_follows_the_real_emulator_and_stops_on_sigterm(config, tmp_path):
    emulator = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    emulator.start()
    try:
        url = "http://%s:%d" % emulator.get_host_and_port()
        ec2 = boto3.client("ec2", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")
        image = ec2.describe_images()["Images"][0]["ImageId"]
        holder, other = [i["InstanceId"] for i in ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2)["Instances"]]
        for instance, stack in ((holder, "blog"), (other, "shop")):
            allocation = ec2.allocate_address(Domain="vpc", TagSpecifications=[
                {"ResourceType": "elastic-ip", "Tags": [{"Key": "spotkit:stack", "Value": stack}]}])["AllocationId"]
            ec2.associate_address(AllocationId=allocation, InstanceId=instance)
        write_json(tmp_path / "instances.json", {holder: "127.0.0.2", other: "127.0.0.3"})
        config["stacks"]["blog"]["endpoint_url"] = url
        write_json(tmp_path / "gateway.json", config)
        process = gateway_process(tmp_path / "gateway.json", "--poll", "0.1")
        try:
            lines = lines_of(process.stdout)
            assert lines.get(timeout=5).startswith("eip_gateway: listening on ")
            assert lines.get(timeout=5) == "blog: Elastic IP -> %s (127.0.0.2)\n" % holder
            assert tcp_exchange(config) == b"a:hello"
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=5) == 0, process.stderr.read()
    finally:
        emulator.stop()
