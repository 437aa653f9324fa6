#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# Licensed under the MIT License (see LICENSE) or, at your option, the GNU General Public License v3.0+
# (see https://www.gnu.org/licenses/gpl-3.0.txt), like the amazon.aws module_utils it builds on.

from __future__ import annotations

DOCUMENTATION = r"""
module: stack_lock
short_description: Take or release the lock of a stack, so that two runs never change it at once
version_added: 0.2.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - "A stack's state is its tags: two runs that changed one stack at once could both create what neither found. The
    run that changes a stack holds its lock, the SSM parameter C(/spotkit/<stack>/lock), from its start to its end."
  - With O(state=present) the lock is created with C(PutParameter) and C(Overwrite=false), which fails when the
    parameter exists. A lock held by another run fails the task at once, with a message naming the holder (the AWS
    identity, C(user@host), the pid of its ansible-playbook, what it runs, since when and until when).
  - "A lock whose expiry has passed is stale (its run died without releasing it): it is deleted and created anew,
    and after a short wait read again, to confirm that the new lock is this run's (another run may have broken the
    same stale lock at the same time). RV(broken) says whose lock was broken."
  - With O(state=absent) the lock is deleted when it is still the one that O(token) names; a lock that another run
    holds stays, with a warning. No lock is no change.
  - Taking and releasing the lock change nothing of the stack, so the task never reports C(changed).
  - Needs C(ssm:GetParameter), C(ssm:PutParameter) and C(ssm:DeleteParameter) on the parameter, and
    C(sts:GetCallerIdentity) to name the holder (without it, C(user@host) only).
options:
  stack:
    description: Name of the stack; the lock is the SSM parameter C(/spotkit/<stack>/lock).
    type: str
    required: true
  state:
    description: V(present) takes the lock, V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  timeout:
    description: Seconds after which the lock taken counts as stale; at least 60.
    type: int
    default: 3600
  run:
    description: What the run does, shown to the runs that find the lock taken.
    type: str
    default: ""
  token:
    description: With O(state=absent), the RV(token) that taking the lock returned; the lock is deleted only when it is
      still this one. Required with O(state=absent).
    type: str
notes:
  - Supports check mode; nothing is written. O(state=present) then reports in RV(available) whether the lock would be
    taken, and warns when another run holds it, since what the check reports may change under it.
  - "A race is left, which SSM cannot close (it has no conditional delete): a run that read a stale lock, then paused
    longer than the wait after breaking it, can still delete the lock that another run took in between."
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Take the lock of the blog stack
  spotkit.ec2.stack_lock:
    stack: blog
    timeout: 3600
    run: provisioning
  register: lock

- name: Release it
  spotkit.ec2.stack_lock:
    stack: blog
    state: absent
    token: "{{ lock.token }}"
"""

RETURN = r"""
parameter:
  description: The lock's SSM parameter.
  returned: always
  type: str
  sample: /spotkit/blog/lock
acquired:
  description: Whether this task took the lock (never in check mode).
  returned: state=present
  type: bool
available:
  description: Whether the lock was free or stale, so that the run holds it (or, in check mode, would hold it).
  returned: state=present
  type: bool
token:
  description: What identifies this run's lock; O(token) of the task that releases it.
  returned: state=present
  type: str
  sample: 3f9c0a6b1d2e4f5a
lock:
  description: The lock this run holds, or in check mode would hold, as stored.
  returned: state=present
  type: dict
  sample: {holder: "arn:aws:sts::123456789012:assumed-role/deploy/ci (runner@host)", pid: 4242, run: provisioning,
           acquired: "2026-11-30T19:00:00Z", expires: "2026-11-30T20:00:00Z", token: 3f9c0a6b1d2e4f5a}
held_by:
  description: In check mode, the lock another run holds; empty when none.
  returned: state=present
  type: dict
broken:
  description: The stale lock this run broke; empty when none.
  returned: state=present
  type: dict
released:
  description: Whether the lock was deleted.
  returned: state=absent
  type: bool
"""

import datetime
import getpass
import json
import os
import secrets
import socket
import time

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    BotoCoreError = ClientError = Exception  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.spotkit.ec2.plugins.module_utils._stack import check_name, lock_parameter

# After breaking a stale lock and taking it: a run that broke the same lock at the same time has
# deleted or replaced ours by then, which the re-read shows.
SETTLE_SECONDS = 2
# Tries of take-or-break when the lock changes under this run (released, broken by another run).
TRIES = 3
MIN_TIMEOUT = 60


class LockHeld(Exception):
    """Another run holds the lock."""

    def __init__(self, lock):
        super().__init__(describe(lock))
        self.lock = lock


def error_code(exc):
    return exc.response.get("Error", {}).get("Code", "") if isinstance(getattr(exc, "response", None), dict) else ""


def timestamp(moment):
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds_of(text):
    """The epoch seconds of a timestamp(); None when it is not one."""
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (AttributeError, TypeError, ValueError):
        return None


def describe(lock):
    """The holder of a lock, as a message reads it."""
    if not lock.get("token"):
        return "a lock that spotkit.ec2 cannot read (%s)" % lock.get("value", "")[:200]
    return "%s, pid %s, running %s since %s (stale after %s)" % (
        lock.get("holder") or "an unknown holder", lock.get("pid", "?"), lock.get("run") or "a run",
        lock.get("acquired", "?"), lock.get("expires", "?"))


def playbook_pid():
    """Pid of the ansible-playbook that runs this module: the highest ancestor whose command is ansible-playbook
    (its workers are forks, with its command line); the parent's pid where /proc does not tell."""
    found, pid = None, os.getppid()
    while pid > 1:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as stream:
                command = stream.read()
            with open("/proc/%d/stat" % pid, "rb") as stream:
                parent = int(stream.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        if b"ansible-playbook" in command:
            found = pid
        pid = parent
    return found or os.getppid()


class StackLock:
    """The lock of one stack, on an SSM client (wrapped with AWSRetry)."""

    def __init__(self, ssm, name, check_mode=False, clock=time.time, sleep=time.sleep):
        self.ssm = ssm
        self.name = name
        self.check_mode = check_mode
        self.clock = clock
        self.sleep = sleep

    def new_lock(self, holder, pid, run, timeout):
        now = self.clock()
        return {"holder": holder, "pid": pid, "run": run, "acquired": timestamp(now), "expires": timestamp(now + timeout),
                "token": secrets.token_hex(8)}

    def read(self):
        """The lock as stored, {} when there is none; {"value": ...} without a token when it is not a lock."""
        try:
            value = self.ssm.get_parameter(aws_retry=True, Name=self.name)["Parameter"]["Value"]
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                return {}
            raise
        try:
            lock = json.loads(value)
        except ValueError:
            lock = None
        return lock if isinstance(lock, dict) and lock.get("token") else {"value": value}

    def stale(self, lock):
        expires = seconds_of(lock.get("expires"))
        return expires is not None and expires <= self.clock()

    def _create(self, lock):
        """Whether the lock was created; False when one exists."""
        try:
            self.ssm.put_parameter(aws_retry=True, Name=self.name, Value=json.dumps(lock, sort_keys=True), Type="String",
                                   Overwrite=False, Description="spotkit.ec2: the run that changes this stack")
        except ClientError as exc:
            if error_code(exc) == "ParameterAlreadyExists":
                return False
            raise
        return True

    def _delete(self):
        try:
            self.ssm.delete_parameter(aws_retry=True, Name=self.name)
        except ClientError as exc:
            if error_code(exc) != "ParameterNotFound":
                raise

    def acquire(self, mine):
        """Take the lock `mine` (new_lock()); raise LockHeld when another run holds it."""
        result = {"acquired": False, "available": True, "token": mine["token"], "lock": mine, "held_by": {}, "broken": {}}
        if self.check_mode:
            current = self.read()
            if current and not self.stale(current):
                result.update(available=False, held_by=current)
            return result
        for attempt in range(TRIES):
            del attempt
            if self._create(mine):
                return dict(result, acquired=True)
            current = self.read()
            if current.get("token") == mine["token"]:
                # A create that AWSRetry sent again after a lost answer: the first one had landed.
                return dict(result, acquired=True)
            if not current:
                continue  # released in between
            if not self.stale(current):
                raise LockHeld(current)
            if self._break(current, mine):
                return dict(result, acquired=True, broken=current)
        raise LockHeld(self.read() or {"value": "(none: the lock changed %d times while this run tried to take it)" % TRIES})

    def _break(self, stale, mine):
        """Replace a stale lock with mine; whether mine stands after the wait. LockHeld when another run's stands."""
        # Read again just before deleting: a lock that changed since is not the stale one any more.
        if self.read().get("token") != stale["token"]:
            return False
        self._delete()
        if not self._create(mine):
            return False
        self.sleep(SETTLE_SECONDS)
        current = self.read()
        if current.get("token") == mine["token"]:
            return True
        if current:
            raise LockHeld(current)
        return False

    def release(self, token):
        """Delete the lock when it is still the one `token` names; (released, the lock another run holds)."""
        current = self.read()
        if not current:
            return False, {}
        if current.get("token") != token:
            return False, current
        if not self.check_mode:
            self._delete()
        return True, {}


def caller(module):
    """Who runs this: the AWS identity when STS tells it, and user@host."""
    local = "%s@%s" % (getpass.getuser(), socket.gethostname())
    try:
        arn = module.client("sts", retry_decorator=AWSRetry.jittered_backoff()).get_caller_identity(aws_retry=True)["Arn"]
    except (BotoCoreError, ClientError, KeyError):
        return local
    return "%s (%s)" % (arn, local)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            stack=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            timeout=dict(type="int", default=3600),
            run=dict(type="str", default=""),
            token=dict(type="str", no_log=False),
        ),
        required_if=[("state", "absent", ["token"])],
        supports_check_mode=True,
    )
    params = module.params
    try:
        check_name("stack", params["stack"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if params["timeout"] < MIN_TIMEOUT:
        module.fail_json(msg="timeout must be at least %d seconds; got %d" % (MIN_TIMEOUT, params["timeout"]))
    name = lock_parameter(params["stack"])
    lock = StackLock(module.client("ssm", retry_decorator=AWSRetry.jittered_backoff()), name, check_mode=module.check_mode)
    try:
        if params["state"] == "absent":
            released, other = lock.release(params["token"])
            if other:
                module.warn("Stack %s: the lock %s is no longer this run's, and stays: %s" % (params["stack"], name, describe(other)))
            module.exit_json(changed=False, parameter=name, released=released)
        result = lock.acquire(lock.new_lock(caller(module), playbook_pid(), params["run"], params["timeout"]))
    except LockHeld as exc:
        module.fail_json(msg="Stack %s is locked by another run: %s. Wait for that run to end; a lock whose run died counts "
                             "as stale after its expiry, or delete the SSM parameter %s" % (params["stack"], exc, name),
                         parameter=name, held_by=exc.lock)
    except (BotoCoreError, ClientError) as exc:
        module.fail_json_aws(exc, msg="Stack %s: the lock %s" % (params["stack"], name))
    if result["held_by"]:
        module.warn("Stack %s is locked by another run: %s; the stack may change while this check runs"
                    % (params["stack"], describe(result["held_by"])))
    module.exit_json(changed=False, parameter=name, **result)


if __name__ == "__main__":
    main()
