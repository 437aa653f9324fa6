"""Unit tests for the spotkit.ec2.stack_lock module's lock logic, on an SSM double that keeps parameters in a dict."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from ansible_collections.spotkit.ec2.plugins.modules import stack_lock

NAME = "/spotkit/blog/lock"
NOW = 1_800_000_000.0


def aws_error(code, operation):
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class Ssm:
    """GetParameter, PutParameter (Overwrite=False only) and DeleteParameter; `before_put` runs before each put, as
    another run would between this run's calls."""

    def __init__(self, parameters=None):
        self.parameters = dict(parameters or {})
        self.calls = []
        self.before_put = None

    def get_parameter(self, aws_retry, Name):  # pylint: disable=invalid-name
        assert aws_retry
        self.calls.append("get")
        if Name not in self.parameters:
            raise aws_error("ParameterNotFound", "GetParameter")
        return {"Parameter": {"Name": Name, "Value": self.parameters[Name]}}

    def put_parameter(self, aws_retry, Name, Value, Type, Overwrite, Description):  # pylint: disable=invalid-name
        assert aws_retry and Type == "String" and Overwrite is False and Description
        self.calls.append("put")
        if self.before_put:
            self.before_put()
        if Name in self.parameters:
            raise aws_error("ParameterAlreadyExists", "PutParameter")
        self.parameters[Name] = Value

    def delete_parameter(self, aws_retry, Name):  # pylint: disable=invalid-name
        assert aws_retry
        self.calls.append("delete")
        if self.parameters.pop(Name, None) is None:
            raise aws_error("ParameterNotFound", "DeleteParameter")

    def lock(self):
        return json.loads(self.parameters[NAME]) if NAME in self.parameters else {}


def other(expires_in, token="theirs"):
    return json.dumps({"holder": "ci@elsewhere", "pid": 7, "run": "provisioning", "acquired": stack_lock.timestamp(NOW - 60),
                       "expires": stack_lock.timestamp(NOW + expires_in), "token": token})


def make(ssm, check_mode=False, sleep=None):
    waits = []
    lock = stack_lock.StackLock(ssm, NAME, check_mode=check_mode, clock=lambda: NOW, sleep=sleep or waits.append)
    return lock, lock.new_lock("arn:aws:iam::1:user/me (me@here)", 42, "provisioning", 3600), waits


def test_a_free_lock_is_taken_with_a_conditional_create_and_nothing_else():
    ssm = Ssm()
    lock, mine, waits = make(ssm)
    result = lock.acquire(mine)
    assert result["acquired"] and result["available"] and result["broken"] == {}
    assert ssm.calls == ["put"] and waits == []
    assert ssm.lock() == mine
    assert (mine["acquired"], mine["expires"]) == ("2027-01-15T08:00:00Z", "2027-01-15T09:00:00Z")


def test_a_fresh_lock_of_another_run_fails_naming_its_holder():
    ssm = Ssm({NAME: other(600)})
    lock, mine, waits = make(ssm)
    with pytest.raises(stack_lock.LockHeld) as held:
        lock.acquire(mine)
    assert str(held.value) == ("ci@elsewhere, pid 7, running provisioning since 2027-01-15T07:59:00Z "
                               "(stale after 2027-01-15T08:10:00Z)")
    assert ssm.calls == ["put", "get"] and waits == []
    assert ssm.lock()["token"] == "theirs"


def test_a_stale_lock_is_broken_and_the_new_lock_confirmed_after_a_wait():
    ssm = Ssm({NAME: other(-1)})
    lock, mine, waits = make(ssm)
    result = lock.acquire(mine)
    assert result["acquired"] and result["broken"]["holder"] == "ci@elsewhere"
    assert ssm.calls == ["put", "get", "get", "delete", "put", "get"]
    assert waits == [stack_lock.SETTLE_SECONDS]
    assert ssm.lock()["token"] == mine["token"]


def test_a_run_that_broke_the_same_stale_lock_at_once_wins_or_loses_but_never_both():
    ssm = Ssm({NAME: other(-1)})

    def the_other_run_breaks_it_too():
        # The other run read the stale lock before this run replaced it, and deletes and replaces it now.
        ssm.parameters[NAME] = other(3600, token="second-breaker")

    lock, mine, waits = make(ssm, sleep=lambda seconds: the_other_run_breaks_it_too())
    with pytest.raises(stack_lock.LockHeld) as held:
        lock.acquire(mine)
    assert held.value.lock["token"] == "second-breaker"
    assert waits == []


class ReleasedWhileAsked(Ssm):
    """The other run releases its lock right after this run's first create failed."""

    def put_parameter(self, *args, **kwargs):
        try:
            return super().put_parameter(*args, **kwargs)
        except ClientError:
            self.parameters.clear()
            raise


def test_a_lock_released_between_the_create_and_the_read_is_taken_on_the_next_try():
    ssm = ReleasedWhileAsked({NAME: other(600)})
    lock, mine, waits = make(ssm)
    assert lock.acquire(mine)["acquired"]
    assert ssm.calls == ["put", "get", "put"] and waits == []
    assert ssm.lock()["token"] == mine["token"]


def test_a_create_whose_answer_was_lost_and_retried_is_this_runs_lock():
    ssm = Ssm()
    lock, mine, waits = make(ssm)
    ssm.before_put = lambda: ssm.parameters.setdefault(NAME, json.dumps(mine))
    assert lock.acquire(mine)["acquired"]
    assert waits == []


def test_an_unreadable_value_is_held_and_shown():
    ssm = Ssm({NAME: "not json"})
    lock, mine, waits = make(ssm)
    with pytest.raises(stack_lock.LockHeld, match=r"a lock that spotkit.ec2 cannot read \(not json\)"):
        lock.acquire(mine)
    assert waits == []


@pytest.mark.parametrize("stored,available", [(None, True), (other(600), False), (other(-1), True)])
def test_check_mode_says_whether_the_lock_would_be_taken_and_writes_nothing(stored, available):
    ssm = Ssm({NAME: stored} if stored else {})
    lock, mine, waits = make(ssm, check_mode=True)
    result = lock.acquire(mine)
    assert (result["acquired"], result["available"]) == (False, available)
    assert bool(result["held_by"]) is not available
    assert ssm.calls == ["get"] and waits == []


def test_release_deletes_only_this_runs_lock():
    ssm = Ssm()
    lock, mine, waits = make(ssm)
    lock.acquire(mine)
    assert lock.release("someone-else") == (False, mine)
    assert lock.release(mine["token"]) == (True, {})
    assert ssm.parameters == {} and waits == []
    assert lock.release(mine["token"]) == (False, {})


def test_release_in_check_mode_deletes_nothing():
    ssm = Ssm({NAME: other(600, token="mine")})
    lock = make(ssm, check_mode=True)[0]
    assert lock.release("mine") == (True, {})
    assert ssm.lock()["token"] == "mine"


def test_other_aws_errors_are_raised():
    ssm = Ssm()

    def denied():
        raise aws_error("AccessDeniedException", "PutParameter")

    ssm.before_put = denied
    lock, mine, waits = make(ssm)
    with pytest.raises(ClientError, match="AccessDeniedException"):
        lock.acquire(mine)
    assert waits == []
