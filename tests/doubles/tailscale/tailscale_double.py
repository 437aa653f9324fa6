"""TEST DOUBLE of Tailscale's `tailscale` CLI and `tailscaled` daemon (spotkit.ec2 tests/doubles/tailscale).

One program under both names. It joins no tailnet: `tailscale up` checks how it is given its auth key and records the
call, `tailscale status --json` reports the state it recorded, `tailscale logout` forgets the node. Every call is a JSON
line in /var/log/tailscale-double.jsonl (root's only), with the command line, and for `up` where the key came from,
that file's mode and owner, and the key's kind and options: never the key itself. A key given on the command line
(where any user can read it) is refused, and recorded as refused, without its value.
"""

import json
import os
import stat
import sys
import time
from urllib.parse import parse_qs

LOG = "/var/log/tailscale-double.jsonl"
STATE = "/var/lib/tailscale/tailscaled.state"


def record(entry):
    descriptor = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(dict(entry, time=time.time())) + "\n")


def read_state():
    try:
        with open(STATE, encoding="utf-8") as stream:
            return json.load(stream)
    except (OSError, ValueError):
        return {"BackendState": "NeedsLogin"}


def write_state(state):
    os.makedirs(os.path.dirname(STATE), mode=0o700, exist_ok=True)
    with open(STATE, "w", encoding="utf-8") as stream:
        json.dump(state, stream)


def options(args):
    found = {}
    for arg in args:
        name, equals, value = arg.partition("=")
        found[name.lstrip("-")] = value if equals else True
    return found


def up(args):
    given = options(args)
    key = given.get("auth-key", given.get("authkey", ""))
    if not str(key).startswith("file:"):
        record({"command": "up", "refused": "the auth key is not given as file:<path>"})
        print("TEST DOUBLE: refusing an auth key given on the command line", file=sys.stderr)
        return 2
    path = key[len("file:"):]
    info = os.stat(path)
    with open(path, encoding="utf-8") as stream:
        secret = stream.read().strip()
    secret_key, query = (secret.split("?", 1) + [""])[:2]
    kind = "oauth-client-secret" if secret_key.startswith("tskey-client-") else "auth-key" if secret_key.startswith("tskey-") else "invalid"
    record({"command": "up", "args": [arg for arg in args if not arg.startswith(("--auth-key", "--authkey"))],
            "auth_key_file": path, "auth_key_file_mode": oct(stat.S_IMODE(info.st_mode)), "auth_key_file_uid": info.st_uid,
            "auth_key_kind": kind, "auth_key_options": {name: values[0] for name, values in parse_qs(query).items()}})
    if kind == "invalid":
        print("TEST DOUBLE: invalid key: not a Tailscale auth key or OAuth client secret", file=sys.stderr)
        return 1
    tags = [tag for tag in str(given.get("advertise-tags", "")).split(",") if tag]
    write_state({"BackendState": "Running", "HostName": given.get("hostname", ""), "Tags": tags, "SSH": "ssh" in given})
    return 0


def tailscale(args):
    command, rest = (args[0], args[1:]) if args else ("status", [])
    if command == "up":
        return up(rest)
    record({"command": command, "args": rest})
    if command == "logout":
        write_state({"BackendState": "NeedsLogin"})
        return 0
    if command == "status":
        state = read_state()
        document = {"BackendState": state["BackendState"], "TEST_DOUBLE": True,
                    "Self": {"HostName": state.get("HostName", ""), "Tags": state.get("Tags", [])}}
        print(json.dumps(document) if "--json" in rest else state["BackendState"])
        return 0
    if command == "version":
        print("TEST DOUBLE of tailscale")
        return 0
    print("TEST DOUBLE: %s is not emulated" % command, file=sys.stderr)
    return 1


def tailscaled(args):
    if "--cleanup" in args:
        return 0
    record({"command": "tailscaled", "args": args})
    print("tailscaled TEST DOUBLE: joins no tailnet; waiting for the stop signal", flush=True)
    while True:
        time.sleep(3600)


def main(argv):
    program = os.path.basename(argv[0])
    return tailscaled(argv[1:]) if program == "tailscaled" else tailscale(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
