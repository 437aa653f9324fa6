"""The hashed requirements the first boot installs with pip (roles/spot_instance/files/instance-requirements.txt):
every package pinned with hashes, the pins those of the role and the controller, and the generator's rules
(scripts/instance-requirements.py) without the network."""

from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]
REQUIREMENTS = REPO / "roles" / "spot_instance" / "files" / "instance-requirements.txt"
DEFAULTS = yaml.safe_load((REPO / "roles" / "spot_instance" / "defaults" / "main.yml").read_text())
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")


def load_generator():
    spec = importlib.util.spec_from_file_location("instance_requirements", REPO / "scripts" / "instance-requirements.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = load_generator()


def requirements():
    """{project: (version, [hash options])} of the file, read as pip reads it (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", REQUIREMENTS.read_text())
    parsed = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        requirement, *options = line.split()
        name, version = requirement.split("==")
        assert name not in parsed, "%s is listed twice" % name
        parsed[name] = (version, options)
    return parsed


def test_every_package_is_pinned_with_hashes_only():
    parsed = requirements()
    assert parsed
    for name, (version, options) in parsed.items():
        assert re.match(r"^[a-z0-9-]+$", name) and re.match(r"^[0-9][0-9A-Za-z.+!-]*$", version), (name, version)
        assert options and all(HASH.match(option) for option in options), name
        assert len(set(options)) == len(options), name


def test_the_pins_are_the_roles_ansible_core_and_the_controllers_boto3():
    parsed = requirements()
    controller = re.search(r"^boto3==(\S+)", (REPO / "requirements.txt").read_text(), re.MULTILINE).group(1)
    assert parsed["ansible-core"][0] == DEFAULTS["spot_ansible_core_version"], "run scripts/instance-requirements.py"
    assert parsed["boto3"][0] == controller, "run scripts/instance-requirements.py"
    assert GENERATOR.default_pins() == (parsed["ansible-core"][0], parsed["boto3"][0])
    assert "ansible-core==%s boto3==%s" % GENERATOR.default_pins() in REQUIREMENTS.read_text().splitlines()[0]


def test_the_dependencies_ansible_core_and_boto3_need_are_listed():
    # What they require on Linux (their metadata); a file without them would fail --require-hashes.
    assert {"ansible-core", "boto3", "botocore", "cryptography", "cffi", "jinja2", "markupsafe", "pyyaml", "packaging",
            "resolvelib", "jmespath", "s3transfer", "python-dateutil", "urllib3", "six"} <= set(requirements())


def test_compiled_packages_carry_a_wheel_per_platform():
    # CPython 3.11 and 3.13 (a wheel each, unless abi3) on x86_64 and aarch64.
    for name in ("cffi", "markupsafe", "pyyaml", "cryptography"):
        assert len(requirements()[name][1]) >= 4, name


def test_platform_tags_follow_pips_preference():
    tags = GENERATOR.platform_tags("x86_64", 36)
    assert tags[0] == "manylinux_2_36_x86_64"
    assert tags.index("manylinux_2_17_x86_64") + 1 == tags.index("manylinux2014_x86_64")
    assert tags[-2:] == ["manylinux_2_5_x86_64", "manylinux1_x86_64"]
    arm = GENERATOR.platform_tags("aarch64", 41)
    assert (arm[0], arm[-1]) == ("manylinux_2_41_aarch64", "manylinux2014_aarch64")
    assert len({label for label, _python, _tags in GENERATOR.targets()}) == 8


def wheel(directory, name, content=b""):
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content or name.encode())
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_collect_and_render_hash_every_file_of_every_platform(tmp_path):
    # The same file on every platform: one hash. Names compare as PyPI compares them.
    pure = wheel(tmp_path / "a", "ansible_core-2.19.14-py3-none-any.whl")
    wheel(tmp_path / "b", "ansible_core-2.19.14-py3-none-any.whl")
    x86 = wheel(tmp_path / "a", "PyYAML-6.0.4-cp313-cp313-manylinux_2_17_x86_64.whl")
    arm = wheel(tmp_path / "b", "pyyaml-6.0.4-cp313-cp313-manylinux_2_17_aarch64.whl")
    packages = GENERATOR.collect({"x86_64": tmp_path / "a", "aarch64": tmp_path / "b"})
    assert packages == {"ansible-core": ("2.19.14", {pure: "ansible_core-2.19.14-py3-none-any.whl"}),
                        "pyyaml": ("6.0.4", {x86: "PyYAML-6.0.4-cp313-cp313-manylinux_2_17_x86_64.whl",
                                             arm: "pyyaml-6.0.4-cp313-cp313-manylinux_2_17_aarch64.whl"})}
    text = GENERATOR.render(["ansible-core==2.19.14"], packages)
    assert text.startswith("# ansible-core==2.19.14 and dependencies")
    assert "ansible-core==2.19.14 \\\n    --hash=sha256:%s\n" % pure in text
    assert "pyyaml==6.0.4 \\\n    --hash=sha256:%s \\\n    --hash=sha256:%s\n" % tuple(sorted((x86, arm))) in text


def test_collect_refuses_platforms_that_resolve_different_versions(tmp_path):
    wheel(tmp_path / "a", "cffi-2.1.1-cp311-cp311-manylinux_2_17_x86_64.whl")
    wheel(tmp_path / "b", "cffi-2.0.0-cp313-cp313-manylinux_2_17_x86_64.whl")
    with pytest.raises(ValueError, match="resolve different versions: cffi 2.1.1/2.0.0"):
        GENERATOR.collect({"Debian 12": tmp_path / "a", "Debian 13": tmp_path / "b"})
