#!/usr/bin/env python
"""Checks a built collection tarball as a user gets it: the product, whole, and nothing else.

    scripts/check-collection.py .cache/dist/spotkit-ec2-X.Y.Z.tar.gz

- The tarball holds nothing of the sandbox, the tests or the tooling.
- Installed alone into a temporary collections path (no network, no dependencies fetched), away
  from the checkout (its ansible.cfg and its collections/ link): `ansible-doc` shows every plugin
  found under the checkout's plugins/ and every role under roles/, and every playbook the tarball
  ships passes `ansible-playbook --syntax-check`, run by its FQCN.

scripts/test.sh's build step runs it; any failure exits non-zero with a message that says which.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NAMESPACE = "spotkit.ec2"
# What must never ship: the sandbox and its front door, the sandbox-only playbooks, tests, tooling.
NOT_SHIPPED = re.compile(
    r"^(sandbox|tests|molecule|benchmarks|scripts|collections|\.config|\.ci)(/|$)"
    r"|^site\.yml$|^playbooks/(teardown|drill)\.yml$|^playbooks/drills(/|$)"
)
# ansible-doc's type for each plugins/ directory; an action plugin is documented by the module of its name.
DOC_TYPES = {
    "action": "module", "modules": "module", "filter": "filter", "test": "test", "lookup": "lookup",
    "callback": "callback", "inventory": "inventory", "connection": "connection", "become": "become",
    "cache": "cache", "strategy": "strategy", "vars": "vars", "shell": "shell",
}
# Code that plugins share, not plugins.
NOT_PLUGINS = {"module_utils", "plugin_utils", "doc_fragments"}


class CheckFailed(Exception):
    pass


def run(*argv, cwd, env):
    result = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CheckFailed("%s failed (%d):\n%s%s" % (" ".join(map(str, argv)), result.returncode, result.stdout[-3000:],
                                                     result.stderr[-3000:]))
    return result


def unshipped(tarball):
    with tarfile.open(tarball) as archive:
        return sorted(name for name in archive.getnames() if NOT_SHIPPED.search(name.removeprefix("./")))


def plugins():
    """{ansible-doc type: [names]} of every plugin file under the checkout's plugins/, and its roles."""
    found = {}
    for directory in sorted(path for path in (REPO / "plugins").iterdir() if path.is_dir()):
        if directory.name in NOT_PLUGINS:
            continue
        if directory.name not in DOC_TYPES:
            raise CheckFailed("plugins/%s: no ansible-doc type known for this directory; add it to %s"
                              % (directory.name, Path(__file__).name))
        names = {path.stem for path in directory.iterdir()
                 if path.suffix in (".py", ".yml") and not path.stem.startswith("_")}
        found.setdefault(DOC_TYPES[directory.name], set()).update(names)
    found["role"] = {path.parents[1].name for path in (REPO / "roles").glob("*/meta/argument_specs.yml")}
    return {doc_type: sorted(names) for doc_type, names in found.items()}


def check_docs(work, env):
    for doc_type, names in plugins().items():
        fqcns = ["%s.%s" % (NAMESPACE, name) for name in names]
        docs = json.loads(run(BIN / "ansible-doc", "-t", doc_type, "--json", *fqcns, cwd=work, env=env).stdout)
        # A role's documentation is its entry points; a plugin's, its doc.
        missing = [fqcn for fqcn in fqcns if not (docs.get(fqcn) or {}).get("entry_points" if doc_type == "role" else "doc")]
        if missing:
            raise CheckFailed("ansible-doc -t %s shows no documentation for %s" % (doc_type, ", ".join(missing)))
        print("ansible-doc -t %s: %s" % (doc_type, ", ".join(names)))


def check_playbooks(work, env, installed):
    playbooks = sorted(path.stem for path in (installed / "playbooks").glob("*.yml"))
    if not playbooks:
        raise CheckFailed("the tarball ships no playbook")
    for name in playbooks:
        run(BIN / "ansible-playbook", "--syntax-check", "-i", "localhost,", "%s.%s" % (NAMESPACE, name), cwd=work, env=env)
    print("ansible-playbook --syntax-check: %s" % ", ".join("%s.%s" % (NAMESPACE, name) for name in playbooks))


def check(tarball):
    leaked = unshipped(tarball)
    if leaked:
        raise CheckFailed("holds what is not the product:\n  " + "\n  ".join(leaked))
    with tempfile.TemporaryDirectory(prefix="spotkit-collection-") as work:
        work = Path(work)
        # An empty ansible.cfg in the working directory: neither the checkout's nor the user's.
        (work / "ansible.cfg").write_text("")
        env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
        env.update(ANSIBLE_COLLECTIONS_PATH=str(work), ANSIBLE_NOCOLOR="1")
        if "ANSIBLE_HOME" in os.environ:
            env["ANSIBLE_HOME"] = os.environ["ANSIBLE_HOME"]
        run(BIN / "ansible-galaxy", "collection", "install", "--no-deps", "-p", work, tarball, cwd=work, env=env)
        installed = work / "ansible_collections" / NAMESPACE.replace(".", "/")
        check_docs(work, env)
        check_playbooks(work, env, installed)


def main(argv):
    if len(argv) != 1:
        raise SystemExit(__doc__)
    tarball = Path(argv[0]).resolve()
    try:
        check(tarball)
    except CheckFailed as failure:
        print("spotkit: %s: %s" % (tarball.name, failure), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
