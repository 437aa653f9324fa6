# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)
"""spotkit-address CONFIG: at boot, takes the stack's Elastic IP once this instance's services answer.

Run by spotkit-address.service (the eip role) before the first pull, so that an instance booted from the stack
image serves, holds the address and is in service without waiting for a whole ansible-pull run. In order:

- nothing to do on a builder of the stack image (`spot_bake` in the settings), when the held file says that this
  instance holds the address already, while a pull runs (its eip role does the same), or when no service has a
  check yet (an instance whose first pull has not installed the services): exit 0;
- the services' health check (spotkit-health --wait N); while it fails the address stays where it is: exit 1;
- the eip role's own modules, run directly by this Python (no playbook): stack_eip_attach, then the held file,
  then stack_launch_hook with attempt=succeeded (CONTINUE when the instance waits on its launch hook).

Any failure is one line on stdout (the journal) and exit 1; nothing is undone, and the next pull's eip role, which
does the same and changes nothing where this did it, tries again. CONFIG is the JSON the eip role writes.
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import subprocess
import sys

ATTACH = "ansible_collections.spotkit.ec2.plugins.modules.stack_eip_attach"
LAUNCH_HOOK = "ansible_collections.spotkit.ec2.plugins.modules.stack_launch_hook"


class Failed(Exception):
    """The one line that says why the address was not taken."""


def say(line):
    print("spotkit-address: " + line, flush=True)


def read_json(path, what):
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except (OSError, ValueError) as exc:
        raise Failed("cannot read %s %s: %s" % (what, path, exc)) from exc


def held_address(path):
    """The address the held file names, or '' when there is none."""
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read().strip()
    except OSError:
        return ""


def pull_lock(path):
    """The pull's lock, held until this process ends; None when a pull holds it."""
    stream = open(path, "a", encoding="utf-8")  # noqa: SIM115 - held until exit, as spotkit-pull holds it
    try:
        fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        stream.close()
        return None
    return stream


def services_answer(command, wait):
    """True when every service answers; False when none has a check yet. Raises Failed while one is down."""
    if not os.access(command, os.X_OK):
        return False
    try:
        checked = subprocess.run([command, "--wait", str(wait)], capture_output=True, text=True, check=False,
                                 timeout=wait + 60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Failed("%s: %s" % (command, exc)) from exc
    # One line per check: no line is no service, which must not count as a site that answers.
    if checked.returncode == 0 and not checked.stdout.strip():
        return False
    if checked.returncode != 0:
        down = [line.rsplit(" ", 1)[0] for line in checked.stdout.splitlines() if line.endswith(" down")]
        raise Failed("the services do not answer after %d s (%s), so the Elastic IP stays where it is"
                     % (wait, ", ".join(down) or checked.stderr.strip() or "exit %d" % checked.returncode))
    return True


def run_module(python, collections, name, args):
    """The result of an Ansible module run directly by `python` (no AnsiballZ), its warnings said first."""
    environment = dict(os.environ, PYTHONPATH=collections)
    try:
        answer = subprocess.run([python, "-m", name], input=json.dumps({"ANSIBLE_MODULE_ARGS": args}),
                                capture_output=True, text=True, env=environment, check=False, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Failed("%s: %s" % (name.rsplit(".", 1)[1], exc)) from exc
    try:
        result = json.loads(answer.stdout)
    except ValueError:
        problem = (answer.stderr.strip().splitlines() or ["exit %d, no answer" % answer.returncode])[-1]
        raise Failed("%s did not run: %s" % (name.rsplit(".", 1)[1], problem)) from None
    for warning in result.get("warnings") or []:
        say("warning: %s" % warning)
    if result.get("failed"):
        raise Failed("%s: %s" % (name.rsplit(".", 1)[1], result.get("msg", "failed")))
    return result


def write_held(path, address):
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    with open(path + ".new", "w", encoding="utf-8") as stream:
        stream.write(address + "\n")
    os.chmod(path + ".new", 0o644)
    os.replace(path + ".new", path)


def take(config, settings):
    """What was done, one line; raises Failed."""
    stack = settings.get("spot_stack")
    if not stack:
        raise Failed("%s names no spot_stack" % config["settings_file"])
    aws = {"stack": stack, "region": settings.get("spot_region") or None}
    if settings.get("spot_endpoint_url"):
        aws["endpoint_url"] = settings["spot_endpoint_url"]
    attached = run_module(config["python"], config["collections_path"], ATTACH, dict(aws, **config["attach"]))
    if attached.get("previous_instance_id") != attached.get("instance_id") and not attached.get("changed"):
        # Not the newest instance of the group: the address stays, and so does the launch hook.
        return "the Elastic IP %s of stack %s stays on %s: %s" % (
            attached.get("public_ip"), stack, attached.get("previous_instance_id"), attached.get("reason"))
    if config["held_file"]:
        write_held(config["held_file"], attached.get("public_ip", ""))
    hook = run_module(config["python"], config["collections_path"], LAUNCH_HOOK,
                      dict(aws, attempt="succeeded", **config["launch_hook"]))
    return "%s holds the Elastic IP %s of stack %s (%s); launch hook: %s; %.2f CPU-s" % (
        attached.get("instance_id"), attached.get("public_ip"), stack, attached.get("reason"), hook.get("action"),
        cpu_seconds())


def cpu_seconds():
    """This process's CPU time and its children's (the health check, the modules): on a small burstable instance
    every CPU-second of the boot counts, so the journal says what the address cost."""
    return sum(usage.ru_utime + usage.ru_stime
               for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        say("usage: spotkit-address CONFIG")
        return 2
    try:
        config = read_json(argv[0], "the configuration")
        settings = read_json(config["settings_file"], "the stack settings")
        if settings.get("spot_bake"):
            say("a builder of the stack image takes no Elastic IP")
            return 0
        held = held_address(config["held_file"]) if config["held_file"] else ""
        if held:
            say("this instance holds the Elastic IP %s already (%s)" % (held, config["held_file"]))
            return 0
        lock = pull_lock(config["pull_lock"])
        if lock is None:
            say("a pull runs (%s): its eip role takes the Elastic IP" % config["pull_lock"])
            return 0
        with lock:
            if not services_answer(config["health_command"], config["health_wait"]):
                say("no service has a check here yet (%s): the pull takes the Elastic IP" % config["health_command"])
                return 0
            say(take(config, settings))
        return 0
    except Failed as exc:
        say("%s; the next pull tries again" % exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
