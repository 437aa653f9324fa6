"""The eip role installed spotkit-address.service, the boot unit: enabled for the next boots, after cloud-init's
settings and Docker, before the first boot's pull, and able to run the role's modules from the pull's collections.
What it does at a boot, case by case, side_effect.yml checks (tasks/address_unit.yml)."""

from __future__ import annotations

import json

UNIT = "spotkit-address.service"


def unit_property(host, unit, name):
    return host.check_output("systemctl show --property %s --value %s" % (name, unit)).split()


def test_the_boot_unit_is_enabled_between_the_settings_and_the_first_pull(host):
    assert host.service("spotkit-address").is_enabled
    assert {"network-online.target", "cloud-init.service", "docker.service"} <= set(unit_property(host, UNIT, "After"))
    assert "cloud-final.service" in unit_property(host, UNIT, "Before")
    # Wanted by multi-user.target, which then waits for it: the site's address comes before the rest of the boot.
    assert UNIT in unit_property(host, "multi-user.target", "After")


def test_the_boot_unit_runs_the_roles_modules_with_its_python(host):
    config = json.loads(host.file("/etc/spotkit/address.json").content_string)
    for module in ("stack_eip_attach", "stack_launch_hook"):
        imported = host.run("PYTHONPATH=%s %s -c 'import ansible_collections.spotkit.ec2.plugins.modules.%s'"
                            % (config["collections_path"], config["python"], module))
        assert imported.rc == 0, imported.stderr
    assert config["held_file"] == "/run/spotkit-address/held"
    assert config["settings_file"] == "/etc/spotkit/stack.json"
