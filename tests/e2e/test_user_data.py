"""The user-data of the example stacks and of the sandbox stack, rendered by the spot_instance role:
accepted by the real cloud-init of Debian 12 (22.4) and 13 (25.x), and under the 8 KB target (half of EC2's limit)."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from sandbox_e2e import REPO, ansible_playbook, docker

SUITES = ("bookworm", "trixie")
# The settings and the pull script, which the ansible_pull role installs from the same template.
TARGET_BYTES = 8192
SANDBOX_DEFAULTS = yaml.safe_load((REPO / "sandbox" / "roles" / "sandbox" / "defaults" / "main.yml").read_text())
INVENTORIES = {"example": "examples/project/inventory", "sandbox": "sandbox/inventory"}


@pytest.fixture(scope="module")
def user_data(tmp_path_factory):
    """{(inventory, stack, ansible-core source): path} of each shipped inventory's stacks' user-data."""
    out = tmp_path_factory.mktemp("user-data")
    rendered = {}
    for inventory, directory in INVENTORIES.items():
        for source in ("pip", "distribution"):
            folder = out / inventory / source
            folder.mkdir(parents=True)
            ansible_playbook("-i", directory, "tests/e2e/render_user_data.yml",
                             "-e", "user_data_dir=%s" % folder, "-e", "spot_ansible_core_source=" + source)
            rendered.update({(inventory, path.stem, source): path for path in sorted(folder.glob("*.yml"))})
    assert {key[:2] for key in rendered} == {("example", "blog"), ("example", "uptime"), ("sandbox", "blog")}
    return rendered


@pytest.fixture(scope="module", params=SUITES)
def instance_image(request):
    """The sandbox's instance image of a Debian release (what Debian's cloud images hold), built if missing."""
    image = "spotkit-instance:" + request.param
    if docker("image", "inspect", image, check=False).returncode != 0:
        docker("build", "--quiet", "--build-arg", "BASE=debian:" + request.param, "-t", image,
               str(REPO / "sandbox" / "images" / "instance"))
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


def test_user_data_stays_under_the_8_kb_target(user_data):
    for stack, path in user_data.items():
        size = len(path.read_bytes())
        assert size < TARGET_BYTES, (stack, size)
        assert path.read_text().startswith("#cloud-config\n"), stack


def test_the_ansible_core_source_decides_packages_and_paths(user_data):
    for (inventory, stack, source), path in user_data.items():
        cloud_config = yaml.safe_load(path.read_text())
        first_pull = next(item["content"] for item in cloud_config["write_files"] if item["path"] == "/usr/local/sbin/spotkit-pull")
        commands = [command[0] for command in cloud_config["runcmd"]]
        if source == "pip":
            assert "python3-venv" in cloud_config["packages"] and "ansible-core" not in cloud_config["packages"]
            assert "/opt/spotkit/venv/bin/pip" in commands
            assert "/opt/spotkit/venv/bin/ansible-pull" in first_pull
        else:
            assert {"ansible-core", "python3-boto3"} <= set(cloud_config["packages"]), (inventory, stack)
            assert not [command for command in commands if "/opt/spotkit/venv" in command]
            assert "/usr/bin/ansible-pull" in first_pull and "/opt/spotkit/venv" not in first_pull


def test_the_sandbox_serves_what_its_user_data_installs(user_data):
    runcmd = yaml.safe_load(user_data[("sandbox", "blog", "pip")].read_text())["runcmd"]
    pip = next(command for command in runcmd if command[0].endswith("/pip"))
    packages = SANDBOX_DEFAULTS["sandbox_pip_packages"]
    # Wheels for exactly these packages, from the directory the sandbox mounts.
    assert pip[-len(packages):] == packages
    assert pip[2:-len(packages)] == ["--no-index", "--find-links", "/srv/spotkit/wheels"]


def test_the_first_boot_hands_over_to_the_pull_script_which_installs_the_projects_collections(user_data):
    for key, path in user_data.items():
        cloud_config = yaml.safe_load(path.read_text())
        # No collection is named in the user-data: the project's requirements.yml decides them.
        assert not [command for command in cloud_config["runcmd"] if "ansible-galaxy" in str(command)], key
        assert cloud_config["runcmd"][-1] == ["/usr/local/sbin/spotkit-pull"], key
        first_pull = next(item["content"] for item in cloud_config["write_files"] if item["path"] == "/usr/local/sbin/spotkit-pull")
        assert "collection install --no-deps --force" in first_pull and "/requirements.yml" in first_pull, key
