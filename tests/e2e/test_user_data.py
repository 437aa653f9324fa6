"""The user-data of the example stacks and of the sandbox stack, rendered by the spot_instance role:
accepted by the real cloud-init of Debian 12 (22.4) and 13 (25.x), and under the 2 KB target."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from sandbox_e2e import REPO, ansible_playbook, docker

SUITES = ("bookworm", "trixie")
TARGET_BYTES = 2048
SANDBOX_DEFAULTS = yaml.safe_load((REPO / "roles" / "sandbox" / "defaults" / "main.yml").read_text())


@pytest.fixture(scope="module")
def user_data(tmp_path_factory):
    """{(inventory, stack): path} of each shipped inventory's stacks' user-data."""
    out = tmp_path_factory.mktemp("user-data")
    rendered = {}
    for inventory in ("example", "sandbox"):
        (out / inventory).mkdir()
        ansible_playbook("-i", "inventory/" + inventory, "tests/e2e/render_user_data.yml", "-e", "user_data_dir=%s/%s" % (out, inventory))
        rendered.update({(inventory, path.stem): path for path in sorted((out / inventory).glob("*.yml"))})
    assert set(rendered) == {("example", "blog"), ("example", "uptime"), ("sandbox", "blog")}
    return rendered


@pytest.fixture(scope="module", params=SUITES)
def instance_image(request):
    """The sandbox's instance image of a Debian release (what Debian's cloud images hold), built if missing."""
    image = "spotkit-instance:" + request.param
    if docker("image", "inspect", image, check=False).returncode != 0:
        docker("build", "--quiet", "--build-arg", "BASE=debian:" + request.param, "-t", image,
               str(REPO / "roles" / "sandbox" / "files" / "instance"))
    return image


def schema_check(image, path):
    return subprocess.run(["docker", "run", "--rm", "-v", "%s:/user-data:ro" % path, image,
                           "cloud-init", "schema", "--config-file", "/user-data"],
                          capture_output=True, text=True, check=False, timeout=120)


def test_cloud_init_accepts_each_stacks_user_data(user_data, instance_image):
    for stack, path in user_data.items():
        result = schema_check(instance_image, path)
        assert result.returncode == 0, (stack, result.stdout, result.stderr)
        assert "Valid" in result.stdout, (stack, result.stdout)


def test_cloud_init_refuses_a_broken_user_data(tmp_path, instance_image):
    # The check above can fail: cloud-init refuses a runcmd that is not a list.
    broken = tmp_path / "broken.yml"
    broken.write_text("#cloud-config\nruncmd: 5\n")
    assert schema_check(instance_image, broken).returncode != 0


def test_user_data_stays_under_the_2_kb_target(user_data):
    for stack, path in user_data.items():
        size = len(path.read_bytes())
        assert size < TARGET_BYTES, (stack, size)
        assert path.read_text().startswith("#cloud-config\n"), stack


def test_the_sandbox_serves_what_its_user_data_installs(user_data):
    runcmd = yaml.safe_load(user_data[("sandbox", "blog")].read_text())["runcmd"]
    pip = next(command for command in runcmd if command[0].endswith("/pip"))
    galaxy = next(command for command in runcmd if command[0].endswith("/ansible-galaxy"))
    packages = SANDBOX_DEFAULTS["sandbox_pip_packages"]
    # Wheels for exactly these packages, from the directory the sandbox mounts.
    assert pip[-len(packages):] == packages
    assert pip[2:-len(packages)] == ["--no-index", "--find-links", "/srv/spotkit/wheels"]
    assert galaxy[5:] == ["/srv/spotkit/collections/%s.tar.gz" % name.replace(".", "-")
                          for name in SANDBOX_DEFAULTS["sandbox_collections"]]
