"""spotkit-address (roles/eip/files/spotkit_address.py), run as the boot unit runs it, with stand-ins for the health
check and for the two modules (found through the collections path it is given, as the real ones are): when it does
nothing, when it fails and how it says so, and what it asks of the modules when it takes the address."""

from __future__ import annotations

import fcntl
import json
import re
import subprocess
import sys
import textwrap

import pytest
import yaml

from harness import REPO

SCRIPT = REPO / "roles" / "eip" / "files" / "spotkit_address.py"
ROLE_VARS = yaml.safe_load((REPO / "roles" / "eip" / "vars" / "main.yml").read_text())

# A module stand-in: records the arguments it got, answers what the test put in its answer file.
FAKE_MODULE = textwrap.dedent("""\
    import json, pathlib, sys
    here = pathlib.Path({record!r})
    args = json.load(sys.stdin)["ANSIBLE_MODULE_ARGS"]
    with open(here / "calls.jsonl", "a") as stream:
        stream.write(json.dumps({{"module": {name!r}, "args": args}}) + "\\n")
    answer = here / ({name!r} + ".answer")
    if not answer.exists():
        sys.exit("Traceback: ImportError: no module named boto3")
    print(answer.read_text())
    """)

ATTACHED = {"changed": True, "public_ip": "198.51.100.7", "instance_id": "i-0123456789abcdef0",
            "previous_instance_id": "i-0fedcba9876543210", "reason": "taken over from i-0fedcba9876543210"}


class Boot:
    """A root for one run: settings, held file, health check, modules, and what each was asked."""

    def __init__(self, root):
        self.root = root
        modules = root / "collections" / "ansible_collections" / "spotkit" / "ec2" / "plugins" / "modules"
        modules.mkdir(parents=True)
        for name in ("stack_eip_attach", "stack_launch_hook"):
            (modules / (name + ".py")).write_text(FAKE_MODULE.format(record=str(root), name=name))
        self.config = {
            "settings_file": str(root / "stack.json"),
            "held_file": str(root / "run" / "spotkit-address" / "held"),
            "health_command": str(root / "spotkit-health"),
            "health_wait": 3,
            "pull_lock": str(root / "spotkit-pull.lock"),
            "python": sys.executable,
            "collections_path": str(root / "collections"),
            "attach": {"instance_data_path": "/run/cloud-init/instance-data.json", "imds_url": "http://169.254.169.254",
                       "retries": 6, "retry_delay": 5, "retry_max_delay": 60, "retry_error_codes": ["AuthFailure"]},
            "launch_hook": {"launch_budget": 1200, "instance_data_path": "/run/cloud-init/instance-data.json",
                            "imds_url": "http://169.254.169.254"},
        }
        (root / "config.json").write_text(json.dumps(self.config))
        self.settings({"spot_stack": "blog", "spot_region": "eu-west-1", "spot_endpoint_url": "http://10.0.0.1:4566"})
        self.health(0, "blog 443 ok\n")
        self.answer("stack_eip_attach", ATTACHED)
        self.answer("stack_launch_hook", {"changed": True, "action": "continue", "instance_id": ATTACHED["instance_id"]})

    def settings(self, document):
        (self.root / "stack.json").write_text(json.dumps(document))

    def health(self, code, output):
        script = self.root / "spotkit-health"
        script.write_text("#!/bin/sh\necho \"$@\" >> %s/health-calls\nprintf '%%s' '%s'\nexit %d\n" % (self.root, output, code))
        script.chmod(0o755)

    def answer(self, module, result):
        path = self.root / (module + ".answer")
        if result is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(json.dumps(result))

    def run(self):
        done = subprocess.run([sys.executable, str(SCRIPT), str(self.root / "config.json")], capture_output=True,
                              text=True, timeout=60, check=False)
        return done.returncode, done.stdout

    def calls(self):
        path = self.root / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def held(self):
        path = self.root / "run" / "spotkit-address" / "held"
        return path.read_text() if path.exists() else None

    def health_calls(self):
        path = self.root / "health-calls"
        return path.read_text().splitlines() if path.exists() else []


@pytest.fixture(name="boot")
def fixture_boot(tmp_path):
    return Boot(tmp_path)


def test_the_configuration_is_what_the_role_writes(boot):
    role = ROLE_VARS["_eip_boot_config"]
    assert sorted(boot.config) == sorted(role)
    assert sorted(boot.config["attach"]) == sorted(role["attach"])
    assert sorted(boot.config["launch_hook"]) == sorted(role["launch_hook"])


def test_a_service_that_answers_gets_the_address_then_the_launch_hook_continue(boot):
    code, output = boot.run()
    assert code == 0, output
    assert re.fullmatch(r"spotkit-address: i-0123456789abcdef0 holds the Elastic IP 198\.51\.100\.7 of stack blog "
                        r"\(taken over from i-0fedcba9876543210\); launch hook: continue; (\d+\.\d\d) CPU-s\n", output), output
    # The modules' processes count: each stand-in is a Python start at least.
    assert float(output.rsplit("; ", 1)[1].split()[0]) > 0
    assert boot.health_calls() == ["--wait 3"]
    assert boot.held() == "198.51.100.7\n"
    stack = {"stack": "blog", "region": "eu-west-1", "endpoint_url": "http://10.0.0.1:4566"}
    assert boot.calls() == [
        {"module": "stack_eip_attach", "args": dict(stack, **boot.config["attach"])},
        {"module": "stack_launch_hook", "args": dict(stack, attempt="succeeded", **boot.config["launch_hook"])},
    ]


def test_without_an_endpoint_the_modules_get_none(boot):
    boot.settings({"spot_stack": "blog", "spot_region": "eu-west-1"})
    assert boot.run()[0] == 0
    assert ["endpoint_url" in call["args"] for call in boot.calls()] == [False, False]


def test_the_modules_warnings_are_said(boot):
    boot.answer("stack_eip_attach", dict(ATTACHED, warnings=["attempt 1 of 7 failed with AuthFailure"]))
    code, output = boot.run()
    assert code == 0
    assert output.splitlines()[0] == "spotkit-address: warning: attempt 1 of 7 failed with AuthFailure"


@pytest.mark.parametrize("case", ["builder", "held", "pull running", "no health check", "no service"])
def test_nothing_to_do(boot, case):
    expected = {
        "builder": "a builder of the stack image takes no Elastic IP",
        "held": "this instance holds the Elastic IP 198.51.100.7 already (%s)" % boot.config["held_file"],
        "pull running": "a pull runs (%s): its eip role takes the Elastic IP" % boot.config["pull_lock"],
        "no health check": "no service has a check here yet (%s): the pull takes the Elastic IP" % boot.config["health_command"],
        "no service": "no service has a check here yet (%s): the pull takes the Elastic IP" % boot.config["health_command"],
    }[case]
    lock = None
    if case == "builder":
        boot.settings({"spot_stack": "blog", "spot_region": "eu-west-1", "spot_bake": True})
    elif case == "held":
        (boot.root / "run" / "spotkit-address").mkdir(parents=True)
        (boot.root / "run" / "spotkit-address" / "held").write_text("198.51.100.7\n")
    elif case == "pull running":
        lock = open(boot.config["pull_lock"], "a", encoding="utf-8")  # noqa: SIM115 - held for the run
        fcntl.flock(lock, fcntl.LOCK_EX)
    elif case == "no health check":
        (boot.root / "spotkit-health").unlink()
    else:
        boot.health(0, "")
    try:
        assert boot.run() == (0, "spotkit-address: %s\n" % expected)
    finally:
        if lock:
            lock.close()
    assert boot.calls() == []
    assert boot.held() == (None if case != "held" else "198.51.100.7\n")
    if case in ("builder", "held", "pull running"):
        assert boot.health_calls() == []


def test_services_that_do_not_answer_leave_the_address_alone(boot):
    boot.health(1, "blog 443 ok\nsite 8080 down\napi 9000 down\n")
    assert boot.run() == (1, "spotkit-address: the services do not answer after 3 s (site 8080, api 9000), so the "
                             "Elastic IP stays where it is; the next pull tries again\n")
    assert boot.calls() == [] and boot.held() is None


def test_an_instance_that_is_not_the_newest_leaves_the_address_and_the_hook(boot):
    boot.answer("stack_eip_attach", dict(ATTACHED, changed=False, reason="i-0fedcba9876543210 is newer"))
    code, output = boot.run()
    assert code == 0
    assert output == ("spotkit-address: the Elastic IP 198.51.100.7 of stack blog stays on i-0fedcba9876543210: "
                      "i-0fedcba9876543210 is newer\n")
    assert [call["module"] for call in boot.calls()] == ["stack_eip_attach"]
    assert boot.held() is None


def test_a_failed_attach_says_why_and_goes_no_further(boot):
    boot.answer("stack_eip_attach", {"failed": True, "msg": "Expected one Elastic IP tagged spotkit:stack=blog; found 0"})
    assert boot.run() == (1, "spotkit-address: stack_eip_attach: Expected one Elastic IP tagged spotkit:stack=blog; "
                             "found 0; the next pull tries again\n")
    assert [call["module"] for call in boot.calls()] == ["stack_eip_attach"]
    assert boot.held() is None


def test_a_failed_launch_hook_fails_once_the_address_is_held(boot):
    boot.answer("stack_launch_hook", {"failed": True, "msg": "Launch hook spotkit-launch: Throttling"})
    code, output = boot.run()
    assert (code, output) == (1, "spotkit-address: stack_launch_hook: Launch hook spotkit-launch: Throttling; "
                                 "the next pull tries again\n")
    assert boot.held() == "198.51.100.7\n"


def test_a_module_that_does_not_run_is_named_with_its_last_words(boot):
    boot.answer("stack_eip_attach", None)
    assert boot.run() == (1, "spotkit-address: stack_eip_attach did not run: Traceback: ImportError: no module named "
                             "boto3; the next pull tries again\n")


@pytest.mark.parametrize("broken", ["settings", "configuration"])
def test_unreadable_files_fail_with_their_path(boot, broken):
    path = boot.root / ("stack.json" if broken == "settings" else "config.json")
    path.write_text("{")
    code, output = boot.run()
    what = "the stack settings" if broken == "settings" else "the configuration"
    assert code == 1 and output.startswith("spotkit-address: cannot read %s %s: " % (what, path))
    assert boot.calls() == []


def module_options(task_file, module):
    """The options a task file of the role gives the module."""
    tasks = yaml.safe_load((REPO / "roles" / "eip" / "tasks" / task_file).read_text())
    found = [task[module] for task in tasks[0].get("block", tasks) if module in task]
    assert len(found) == 1, task_file
    return set(found[0])


def test_the_unit_gives_the_modules_the_options_the_role_gives_them():
    """What the settings give (stack, region, endpoint) or the unit fixes (this instance, a succeeded attempt) aside."""
    role = ROLE_VARS["_eip_boot_config"]
    assert module_options("attach.yml", "spotkit.ec2.stack_eip_attach") - {"stack", "region", "endpoint_url", "instance_id"} \
        == set(role["attach"])
    assert module_options("launch_hook.yml", "spotkit.ec2.stack_launch_hook") \
        - {"stack", "region", "endpoint_url", "instance_id", "attempt"} == set(role["launch_hook"])
