#!/usr/bin/env python
"""Write the hashed requirements of an instance's ansible-core virtualenv (spot_ansible_core_source: pip).

    scripts/instance-requirements.py [--check] [--ansible-core VERSION] [--boto3 VERSION] [--index-url URL]

The first boot installs ansible-core and boto3 with `pip install --require-hashes -r` from
roles/spot_instance/files/instance-requirements.txt, which this script writes: every package pinned,
with the sha256 of each wheel that a supported instance may install, so that pip refuses any other
file. ansible-core is the spot_instance role's spot_ansible_core_version, boto3 the controller's pin
(requirements.txt): the instance runs what the tests run.

For each supported platform, Debian 12 (CPython 3.11, glibc 2.36) and Debian 13 (CPython 3.13,
glibc 2.41) on x86_64 and aarch64, `pip download` resolves the two with their dependencies from the
index (PyPI; pip's configuration and environment are ignored, but for PIP_CERT), binary wheels only:
once with the platform tags in the order pip on the instance prefers them (the newest manylinux
first), once with manylinux2014 alone (what an index without the newer builds serves). Every
platform must resolve the same versions. --check compares the result with the committed file and
exits 1 when they differ.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "roles" / "spot_instance" / "files" / "instance-requirements.txt"
ROLE_DEFAULTS = ROOT / "roles" / "spot_instance" / "defaults" / "main.yml"
CONTROLLER_REQUIREMENTS = ROOT / "requirements.txt"
INDEX_URL = "https://pypi.org/simple/"

# (release, CPython version, glibc minor version)
RELEASES = (("Debian 12", "3.11", 36), ("Debian 13", "3.13", 41))
# The oldest manylinux level pip knows per architecture, and the legacy names of the older levels.
ARCHITECTURES = {"x86_64": 5, "aarch64": 17}
LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}

HEADER = """\
# {pins} and dependencies, with the hashes of the wheels of Debian 12 and 13 (x86_64, aarch64).
# Written by scripts/instance-requirements.py; do not edit.
"""
PIN_PATTERN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)", re.MULTILINE)
WHEEL_PATTERN = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")


def canonical(name):
    """A project's name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def platform_tags(architecture, glibc_minor):
    """The manylinux tags a Linux with this glibc takes, in the order pip prefers them (newest first)."""
    tags = []
    for minor in range(glibc_minor, ARCHITECTURES[architecture] - 1, -1):
        tags.append("manylinux_2_%d_%s" % (minor, architecture))
        if minor in LEGACY_MANYLINUX:
            tags.append("%s_%s" % (LEGACY_MANYLINUX[minor], architecture))
    return tags


def targets():
    """(label, python, platform tag lists): the best wheel for each platform, and the manylinux2014 one."""
    for release, python, glibc_minor in RELEASES:
        for architecture in ARCHITECTURES:
            label = "%s %s (CPython %s)" % (release, architecture, python)
            yield label, python, platform_tags(architecture, glibc_minor)
            yield label + ", manylinux2014 only", python, ["manylinux2014_" + architecture]


def default_pins():
    """ansible-core from the spot_instance role's defaults, boto3 from the controller's requirements."""
    core = re.search(r'^spot_ansible_core_version:\s*"?([^"\s]+)"?', ROLE_DEFAULTS.read_text(), re.MULTILINE)
    boto3 = re.search(r"^boto3==(\S+)", CONTROLLER_REQUIREMENTS.read_text(), re.MULTILINE)
    return core.group(1), boto3.group(1)


def pip_download(python, platforms, requirements, dest, index_url):
    argv = [sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check", "download", "--quiet",
            "--index-url", index_url, "--dest", str(dest), "--only-binary=:all:", "--implementation", "cp",
            "--python-version", python, "--abi", "cp" + python.replace(".", "")]
    argv += ["--platform=" + tag for tag in platforms]
    # --isolated ignores pip's configuration and environment: a TLS-inspecting proxy's CA bundle must come along.
    cert = os.environ.get("PIP_CERT")
    if cert:
        argv += ["--cert", cert]
    subprocess.run(argv + requirements, check=True)


def collect(downloads):
    """{project: (version, {sha256: file name})} of the wheels in each {label: directory}.

    Raises ValueError when the platforms resolved different projects or versions.
    """
    packages, resolved = {}, {}
    for label, directory in downloads.items():
        versions = {}
        for path in sorted(Path(directory).glob("*.whl")):
            match = WHEEL_PATTERN.match(path.name)
            if not match:
                raise ValueError("%s: %s is no wheel file name" % (label, path.name))
            name, version = canonical(match.group("name")), match.group("version")
            versions[name] = version
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            packages.setdefault(name, (version, {}))[1][digest] = path.name
        resolved[label] = versions
    first_label, first = next(iter(resolved.items()))
    for label, versions in resolved.items():
        if versions != first:
            differ = sorted("%s %s/%s" % (name, first.get(name, "-"), versions.get(name, "-"))
                            for name in set(first) | set(versions) if first.get(name) != versions.get(name))
            raise ValueError("%s and %s resolve different versions: %s" % (first_label, label, ", ".join(differ)))
    return {name: (first[name], hashes) for name, (_version, hashes) in packages.items()}


def render(pins, packages):
    """The requirements file: the header, then each project, pinned, with its hashes."""
    lines = [HEADER.format(pins=" ".join(pins))]
    for name in sorted(packages):
        version, hashes = packages[name]
        lines.append("%s==%s \\\n" % (name, version))
        lines.append(" \\\n".join("    --hash=sha256:" + digest for digest in sorted(hashes)) + "\n")
    return "".join(lines)


def main():
    core, boto3 = default_pins()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--ansible-core", default=core, help="default: the spot_instance role's (%(default)s)")
    parser.add_argument("--boto3", default=boto3, help="default: the controller's (%(default)s)")
    parser.add_argument("--index-url", default=INDEX_URL)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="compare with --output instead of writing it")
    args = parser.parse_args()
    pins = ["ansible-core==" + args.ansible_core, "boto3==" + args.boto3]
    with tempfile.TemporaryDirectory() as work:
        downloads = {}
        for index, (label, python, platforms) in enumerate(targets()):
            downloads[label] = Path(work) / str(index)
            pip_download(python, platforms, pins, downloads[label], args.index_url)
            wheels = sorted(path.name for path in downloads[label].glob("*.whl"))
            print("%s: %d wheels, built: %s" % (label, len(wheels), " ".join(name for name in wheels if "-none-any" not in name)))
        try:
            text = render(pins, collect(downloads))
        except ValueError as error:
            sys.exit("instance-requirements: %s" % error)
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                       str(args.output), "generated"))
            return 1
        print("%s is current" % args.output)
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print("wrote %s (%d bytes)" % (args.output, len(text.encode())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
