# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)
"""spotkit-env: the one writer of the services' env files, <env dir>/<service>.env (0600, root's).

    spotkit-env write --env-dir DIR [--check]        the container_service role: {service: {VAR: value}} on stdin
    spotkit-env fetch --settings FILE --env-dir DIR  spotkit-env.service, at boot: the stack's SSM parameter

Both write the same bytes for the same env, so that the pull after a boot finds nothing changed. `write` prints the
services whose file changed (or would), one a line; `fetch` logs one line. No value is ever printed or logged.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

# Docker's --env-file skips comment lines; a changed header would restart every service once.
HEADER = "# spotkit.ec2: the environment of service %s (spotkit-env; rewritten by each pull, edits do not last)\n"
MODE = 0o600


def env_text(value):
    """A value as the env file holds it: the spotkit.ec2.container_services filter's spelling."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(name, env):
    """The bytes of a service's env file: the header, then NAME=value sorted by name, taken literally by Docker."""
    lines = [HEADER % name] + ["%s=%s\n" % (key, env_text(env[key])) for key in sorted(env)]
    return "".join(lines).encode()


def _current(path):
    """(bytes, mode, owner) of the file, or None when there is none."""
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            return handle.read(), info.st_mode & 0o7777, (info.st_uid, info.st_gid)
    except FileNotFoundError:
        return None


def write_files(env_dir, envs, check=False):
    """Write {service: env} into env_dir, each file replaced whole, never half-written; return the services
    whose file changed (or would, with check)."""
    changed = []
    for name in sorted(envs):
        path = os.path.join(env_dir, name + ".env")
        content = render(name, envs[name])
        if _current(path) == (content, MODE, (os.geteuid(), os.getegid())):
            continue
        changed.append(name)
        if check:
            continue
        os.makedirs(env_dir, mode=0o700, exist_ok=True)
        # A name of its own (0600 from the start): a pull and a boot's retry may write at once.
        descriptor, partial = tempfile.mkstemp(dir=env_dir, prefix=".%s." % name, suffix=".new")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                os.fchmod(handle.fileno(), MODE)
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, path)
        except BaseException:
            os.unlink(partial)
            raise
    return changed


def log(message, priority=6):
    """One line on stderr: the journal when a unit runs the tool (it then reads the priority prefix)."""
    # A child of a unit inherits JOURNAL_STREAM with other streams: only the same device and inode are the journal.
    info = os.fstat(2)
    prefix = "<%d>" % priority if os.environ.get("JOURNAL_STREAM") == "%d:%d" % (info.st_dev, info.st_ino) else "spotkit-env: "
    print(prefix + " ".join(message.split("\n")), file=sys.stderr, flush=True)


class Unavailable(Exception):
    """AWS did not answer, or refused: the services wait for the env (systemd tries again)."""


def get_parameter(settings):
    """The stack's env parameter at the settings' version, decrypted and parsed: {service: {VAR: value}}."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    if "spot_env_version" not in settings:
        raise Unavailable("the settings name no version of %s" % settings["spot_env_parameter"])
    # That exact version: the one the instance's launch template was made with, as playbooks/pull.yml reads it.
    name = "%s:%s" % (settings["spot_env_parameter"], settings["spot_env_version"])
    config = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
    try:
        client = boto3.session.Session(region_name=settings.get("spot_region")).client(
            "ssm", endpoint_url=settings.get("spot_endpoint_url") or None, config=config)
        value = client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except (BotoCoreError, ClientError) as exc:
        raise Unavailable("could not read %s: %s" % (name, exc)) from None
    try:
        parameter = json.loads(value)
    except ValueError:
        raise Unavailable("%s is not JSON" % name) from None
    if not isinstance(parameter, dict) or not all(isinstance(env, dict) for env in parameter.values()):
        raise Unavailable("%s is not a mapping of services to environments" % name)
    return parameter


def service_envs(settings, parameter):
    """{service: env} of the settings' services: each one's own env, the parameter's merged over it, as the role's
    container_services filter merges container_service_env."""
    return {service["name"]: dict(service.get("env") or {}, **(parameter.get(service["name"]) or {}))
            for service in settings.get("spot_services") or []}


def restart_running(names):
    """Restart the services that already run on an env they must not keep: a start that did not wait for this
    tool (its first attempt failed). A service not running yet starts on the new file; nothing to do."""
    units = ["spotkit-%s.service" % name for name in names]
    if units:
        subprocess.run(["systemctl", "try-restart", "--no-block", *units], check=False)


def fetch(settings_file, env_dir):
    """0 when the env files are the stack's (or there is no env to write); 1 when they could not be, to try again."""
    try:
        with open(settings_file, encoding="utf-8") as handle:
            settings = json.load(handle)
    except FileNotFoundError:
        log("no stack settings (%s): not an instance of a stack, no env to write" % settings_file)
        return 0
    if settings.get("spot_bake"):
        log("a builder of the stack image: no env on it (the image holds no secret)")
        return 0
    if not settings.get("spot_env_parameter"):
        log("the stack has no env parameter: the env files stay as the last pull wrote them")
        return 0
    try:
        parameter = get_parameter(settings)
        changed = write_files(env_dir, service_envs(settings, parameter))
    except Unavailable as exc:
        log("%s; the services' env files stay as they are, systemd tries again" % exc, 3)
        return 1
    except OSError as exc:
        log("could not write the env files in %s: %s; systemd tries again" % (env_dir, exc), 3)
        return 1
    log("wrote the env files of %s from %s version %s (changed: %s)" % (
        ", ".join(sorted(service["name"] for service in settings.get("spot_services") or [])) or "no service",
        settings["spot_env_parameter"], settings["spot_env_version"], ", ".join(changed) or "none"))
    restart_running(changed)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="spotkit-env", description=__doc__.split("\n\n", maxsplit=1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    writing = commands.add_parser("write", help="write the env files from {service: {VAR: value}} on stdin")
    writing.add_argument("--env-dir", required=True)
    writing.add_argument("--check", action="store_true", help="say what would change, write nothing")
    fetching = commands.add_parser("fetch", help="write the env files from the stack's SSM parameter")
    fetching.add_argument("--settings", required=True)
    fetching.add_argument("--env-dir", required=True)
    arguments = parser.parse_args(argv)
    if arguments.command == "fetch":
        return fetch(arguments.settings, arguments.env_dir)
    for name in write_files(arguments.env_dir, json.load(sys.stdin), arguments.check):
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
