"""The sandbox's Elastic IP gateway: a test double of EC2's Elastic IP address translation. It owns the
stacks' ports on the controller and forwards them to whichever instance holds the stack's Elastic IP.

    python eip_gateway.py --config .sandbox/eip-gateway.json [--poll 0.5]

The config (JSON): `instances_file`, the absolute path of a JSON object instance id -> the instance
container's IPv4 address (rewritten by the sandbox, read again when it changes; missing means no
instance), and `stacks`, name -> `endpoint_url`, `region`, `access_key`, `secret_key` (the AWS
emulator's) and `ports`, a list of `{"listen": "HOST:PORT", "target_port": N, "protocol": "tcp" | "udp"}`
(never all interfaces; one listener per address and protocol).

Every --poll seconds it asks the emulator which instance holds the addresses tagged spotkit:stack=NAME
(the first associated one by AllocationId) and prints a line when a stack's route changes; while the
emulator does not answer, the last route stays (said once a minute). A TCP connection keeps the
instance it was opened to; with no instance, a connection is reset at once. UDP (HTTP/3) is relayed
per client address to the current holder; a session idle 60 s is dropped. A bad config exits 2, a
port that cannot be bound 1; SIGTERM or SIGINT stops it (exit 0). Standard library and boto3.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import struct
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "emulator"))
from listen import parse_address  # noqa: E402 pylint: disable=wrong-import-position

CONNECT_TIMEOUT = 3.0
UDP_IDLE = 60.0
OUTAGE_LOG_EVERY = 60.0
EMULATOR_KEYS = ("endpoint_url", "region", "access_key", "secret_key")


class ConfigError(ValueError):
    pass


def log(line):
    print(line, flush=True)


def require(ok, field, expected, value):
    if not ok:
        raise ConfigError("%s must be %s; got %r" % (field, expected, value))


def is_port(value):
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def check_port(port, where, listeners):
    require(isinstance(port, dict), where, "an object", port)
    listen, target, protocol = port.get("listen"), port.get("target_port"), port.get("protocol")
    try:
        host, number = parse_address(listen if isinstance(listen, str) else repr(listen))
    except argparse.ArgumentTypeError as error:
        raise ConfigError("%s.listen: %s" % (where, error)) from None
    require(is_port(number), where + ".listen", "HOST:PORT with a port number (1-65535)", listen)
    require(is_port(target), where + ".target_port", "a port number (1-65535)", target)
    require(protocol in ("tcp", "udp"), where + ".protocol", "tcp or udp", protocol)
    require((listen, protocol) not in listeners, where + ".listen", "listed once per protocol", listen)
    listeners.add((listen, protocol))
    return {"host": host, "port": number, "protocol": protocol, "target_port": target}


def check_config(config):
    """The config, checked (ConfigError names the field and the bad value); a port comes back as
    {host, port, protocol, target_port}."""
    require(isinstance(config, dict), "the config", "a JSON object", config)
    instances, stacks = config.get("instances_file"), config.get("stacks")
    require(isinstance(instances, str) and os.path.isabs(instances), "instances_file", "an absolute path", instances)
    require(isinstance(stacks, dict) and stacks, "stacks", "a non-empty object", stacks)
    checked, listeners = {}, set()
    for name, stack in stacks.items():
        require(isinstance(stack, dict), "stacks." + name, "an object", stack)
        for key in EMULATOR_KEYS:
            field = "stacks.%s.%s" % (name, key)
            require(isinstance(stack.get(key), str) and stack[key], field, "a non-empty string", stack.get(key))
        ports = stack.get("ports")
        require(isinstance(ports, list) and ports, "stacks.%s.ports" % name, "a non-empty list", ports)
        checked[name] = dict({key: stack[key] for key in EMULATOR_KEYS}, ports=[
            check_port(port, "stacks.%s.ports[%d]" % (name, index), listeners) for index, port in enumerate(ports)])
    return {"instances_file": instances, "stacks": checked}


def load_config(path):
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError("cannot read the config %s: %s" % (path, error)) from None
    return check_config(config)


def emulator_lookup(stacks):
    """describe(stack) -> the stack's Elastic IP addresses, asked of its emulator."""
    # The emulator is on this machine: no proxy of the environment has a say. Short timeouts, as
    # the next poll comes soon. Clients made here, once: boto3's session is not thread-safe.
    config = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "total_max_attempts": 2},
                    proxies={})
    clients = {name: boto3.session.Session().client(
        "ec2", endpoint_url=stack["endpoint_url"], region_name=stack["region"], config=config,
        aws_access_key_id=stack["access_key"], aws_secret_access_key=stack["secret_key"]) for name, stack in stacks.items()}

    def describe(stack):
        return clients[stack].describe_addresses(Filters=[{"Name": "tag:spotkit:stack", "Values": [stack]}])["Addresses"]
    return describe


class Instances:
    """The instances file, read again when its mtime or size changes."""

    def __init__(self, path):
        self.path, self.seen, self.mapping = path, None, {}

    def current(self):
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            self.seen, self.mapping = None, {}
            return self.mapping
        if (stat.st_mtime_ns, stat.st_size) != self.seen:
            try:
                mapping = json.loads(Path(self.path).read_text(encoding="utf-8"))
                if not isinstance(mapping, dict):
                    raise ValueError("not a JSON object of instance id -> IPv4 address")
                self.mapping, self.seen = mapping, (stat.st_mtime_ns, stat.st_size)
            except (OSError, ValueError) as error:
                log("eip_gateway: cannot read %s (%s); keeping the last instances" % (self.path, error))
        return self.mapping


def route_of(addresses, instances):
    """(instance id, ip) of the holder, ip None with a reason when the stack has no target."""
    holders = [a["InstanceId"] for a in sorted(addresses, key=lambda a: a.get("AllocationId", "")) if a.get("InstanceId")]
    if not holders:
        return None, None, "not associated"
    if holders[0] not in instances:
        return holders[0], None, "instance %s has no container" % holders[0]
    return holders[0], instances[holders[0]], None


def reset(writer):
    # RST, not FIN: a visitor sees a refused connection rather than an empty answer.
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.write_eof()  # half-close: the other direction goes on until its side is done
    except OSError:
        writer.transport.abort()  # which ends the other direction too


class UdpListener(asyncio.DatagramProtocol):
    """One session per client address: a socket connected to the target, whose replies go back to the client."""

    def __init__(self, gateway, stack, target_port):
        self.gateway, self.stack, self.target_port = gateway, stack, target_port
        self.sessions, self.transport = {}, None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        ip = self.gateway.target(self.stack)
        session = self.sessions.get(addr)
        if session and session["ip"] != ip:
            self.drop(addr)
            session = None
        if ip is None:
            return
        if session is None:
            session = self.sessions[addr] = {"ip": ip, "sock": socket.socket(socket.AF_INET, socket.SOCK_DGRAM)}
            session["sock"].setblocking(False)
            session["sock"].connect((ip, self.target_port))
            self.loop.add_reader(session["sock"], self.reply, addr, session)
        session["seen"] = time.monotonic()
        try:
            session["sock"].send(data)
        except OSError:
            pass  # UDP is lossy: a full buffer or an ICMP error loses this datagram, as it would on the way

    def reply(self, addr, session):
        try:
            data = session["sock"].recv(65536)
        except OSError:
            return
        session["seen"] = time.monotonic()
        self.transport.sendto(data, addr)

    def drop(self, addr):
        session = self.sessions.pop(addr)
        self.loop.remove_reader(session["sock"])
        session["sock"].close()

    def sweep(self, now):
        for addr in [a for a, s in self.sessions.items() if now - s["seen"] >= UDP_IDLE]:
            self.drop(addr)


class Gateway:
    """The listeners of every stack and each stack's route, polled from describe(stack) (blocking, run in a thread)."""

    def __init__(self, config, describe, poll=0.5):
        self.config, self.describe, self.poll = config, describe, poll
        self.instances = Instances(config["instances_file"])
        self.routes = {name: None for name in config["stacks"]}  # stack -> (instance id, ip, reason)
        self.servers, self.udp = [], []

    def target(self, stack):
        return self.routes[stack] and self.routes[stack][1]

    async def listen(self):
        """Bind every listener and return what it listens on; OSError names the address that could not be bound."""
        loop, listening = asyncio.get_running_loop(), []
        for stack, settings in self.config["stacks"].items():
            for port in settings["ports"]:
                address = "%s:%d/%s" % (port["host"], port["port"], port["protocol"])
                try:
                    if port["protocol"] == "tcp":
                        handler = self.tcp_handler(stack, port["target_port"])
                        self.servers.append(await asyncio.start_server(handler, port["host"], port["port"]))
                    else:
                        transport, listener = await loop.create_datagram_endpoint(
                            lambda s=stack, p=port: UdpListener(self, s, p["target_port"]),
                            local_addr=(port["host"], port["port"]))
                        self.servers.append(transport)
                        self.udp.append(listener)
                except OSError as error:
                    raise OSError("cannot listen on %s: %s" % (address, error)) from None
                listening.append("%s (%s -> %d)" % (address, stack, port["target_port"]))
        return listening

    def tcp_handler(self, stack, target_port):
        async def handle(reader, writer):
            ip = self.target(stack)
            if ip is None:
                reset(writer)
                return
            try:
                upstream = await asyncio.wait_for(asyncio.open_connection(ip, target_port), CONNECT_TIMEOUT)
            except (OSError, asyncio.TimeoutError):
                reset(writer)
                return
            await asyncio.gather(pipe(reader, upstream[1]), pipe(upstream[0], writer))
            for side in (writer, upstream[1]):
                side.close()
        return handle

    async def follow(self, stack):
        outage_logged = None
        while True:
            try:
                addresses = await asyncio.to_thread(self.describe, stack)
            except Exception as error:  # pylint: disable=broad-exception-caught
                # Any error, botocore's or the network's: the emulator did not answer.
                if outage_logged is None or time.monotonic() - outage_logged >= OUTAGE_LOG_EVERY:
                    log("%s: the emulator does not answer (%s); keeping the last route" % (stack, error))
                    outage_logged = time.monotonic()
            else:
                if outage_logged is not None:
                    log("%s: the emulator answers again" % stack)
                    outage_logged = None
                route = route_of(addresses, self.instances.current())
                if route != self.routes[stack]:
                    self.routes[stack] = route
                    log("%s: Elastic IP -> %s" % (stack, "%s (%s)" % route[:2] if route[1] else "nothing (%s)" % route[2]))
            for listener in self.udp:
                listener.sweep(time.monotonic())
            await asyncio.sleep(self.poll)

    async def run(self, stop):
        """Listen, print the listening line, follow the routes until stop is set."""
        log("eip_gateway: listening on %s" % ", ".join(await self.listen()))
        followers = [asyncio.create_task(self.follow(stack)) for stack in self.config["stacks"]]
        try:
            await stop.wait()
        finally:
            for task in followers:
                task.cancel()
            for server in self.servers:
                server.close()


async def serve(config, poll):
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await Gateway(config, emulator_lookup(config["stacks"]), poll).run(stop)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--config", required=True, help="the gateway's JSON config, written by the sandbox")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between two questions to the emulator")
    args = parser.parse_args()
    try:
        if args.poll <= 0:
            raise ConfigError("--poll must be more than 0 seconds; got %r" % args.poll)
        config = load_config(args.config)
    except ConfigError as error:
        print("eip_gateway: %s" % error, file=sys.stderr)
        sys.exit(2)  # as argparse does for a bad argument; 1 is for a port that cannot be bound
    try:
        asyncio.run(serve(config, args.poll))
    except OSError as error:
        sys.exit("eip_gateway: %s" % error)


if __name__ == "__main__":
    main()
