"""pip, as the first boot runs it (--require-hashes --only-binary=:all: --requirement FILE), installs a wheel
whose hash the requirements name and refuses one whose hash they do not, installing nothing. The wheel is
made here, so that no index is needed; the flags are those of the spot_instance role's user-data."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile

import pytest
import yaml

from harness import REPO

NAME, VERSION = "spotkit_hash_probe", "1.0"
# The flags the user-data gives pip before the requirements file (roles/spot_instance/vars/main.yml).
VARS = (REPO / "roles" / "spot_instance" / "vars" / "main.yml").read_text()
FLAGS = ["--require-hashes", "--only-binary=:all:", "--requirement"]


def make_wheel(directory, text):
    """A pure-Python wheel of NAME whose module holds text; returns its sha256."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ("%s-%s-py3-none-any.whl" % (NAME, VERSION))
    info = "%s-%s.dist-info" % (NAME, VERSION)
    files = {
        "%s.py" % NAME: "TEXT = %r\n" % text,
        info + "/METADATA": "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (NAME, VERSION),
        info + "/WHEEL": "Wheel-Version: 1.0\nGenerator: spotkit-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
            digest = base64.urlsafe_b64encode(hashlib.sha256(content.encode()).digest()).rstrip(b"=").decode()
            record.append("%s,sha256=%s,%d" % (name, digest, len(content.encode())))
        record.append(info + "/RECORD,,")
        archive.writestr(info + "/RECORD", "\n".join(record) + "\n")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pip_install(tmp_path, wheels, digest):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("%s==%s \\\n    --hash=sha256:%s\n" % (NAME, VERSION, digest))
    target = tmp_path / "target"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(wheels), "--target", str(target),
         "--disable-pip-version-check", "--no-cache-dir", *FLAGS, str(requirements)],
        capture_output=True, text=True, check=False, timeout=300)
    return result, target


def test_the_user_data_runs_pip_with_these_flags():
    # tests/e2e/test_user_data.py checks the rendered command; this, that the test runs what the role writes.
    command = yaml.safe_load(VARS)["_spot_instance_pip_command"]
    assert "[%s, _spot_instance_pip_requirements_file]" % ", ".join("'%s'" % flag for flag in FLAGS) in command, command


def test_a_wheel_with_the_pinned_hash_is_installed(tmp_path):
    digest = make_wheel(tmp_path / "wheels", "the pinned file")
    result, target = pip_install(tmp_path, tmp_path / "wheels", digest)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (target / ("%s.py" % NAME)).read_text() == "TEXT = 'the pinned file'\n"


@pytest.mark.parametrize("pinned", ["a changed file", None])
def test_a_wheel_whose_hash_is_not_pinned_is_refused_and_nothing_installed(tmp_path, pinned):
    # The index serves another file than the one whose hash was pinned (a changed wheel), or the pin is
    # a hash of nothing that exists.
    served = make_wheel(tmp_path / "wheels", "a file an attacker made")
    digest = make_wheel(tmp_path / "pinned", pinned) if pinned else "0" * 64
    assert digest != served
    result, target = pip_install(tmp_path, tmp_path / "wheels", digest)
    assert result.returncode != 0
    assert "DO NOT MATCH THE HASHES" in result.stderr, result.stderr
    assert served in result.stderr and digest in result.stderr
    assert not target.exists() or not any(target.iterdir())
