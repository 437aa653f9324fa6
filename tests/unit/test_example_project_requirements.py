"""The example project's requirements.yml, which each instance installs with --no-deps: every collection
pinned to an exact version from a named server, so that an instance and its replacement install the
same artifacts whatever Galaxy servers an ansible.cfg configures (docs/operations.md, "Pinned sources")."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = yaml.safe_load((REPO / "examples" / "project" / "requirements.yml").read_text())
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
EXACT = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")


def test_every_collection_is_an_exact_version_from_galaxy():
    collections = REQUIREMENTS["collections"]
    assert collections
    for entry in collections:
        assert set(entry) == {"name", "version", "source"}, entry
        assert EXACT.match(entry["version"]), entry
        assert entry["source"] == "https://galaxy.ansible.com", entry


def test_the_pins_are_this_release_and_what_the_instance_runs():
    pins = {entry["name"]: entry["version"] for entry in REQUIREMENTS["collections"]}
    assert pins["%s.%s" % (GALAXY["namespace"], GALAXY["name"])] == GALAXY["version"]
    # The on-instance play's modules (--no-deps: nothing comes in unnamed).
    assert "amazon.aws" in pins
