# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# Licensed under the MIT License (see LICENSE) or, at your option, the GNU General Public License v3.0+
# (see https://www.gnu.org/licenses/gpl-3.0.txt), which ansible-test asks of a lookup plugin.

from __future__ import annotations

DOCUMENTATION = r"""
name: tree_digest
short_description: One digest of files and directory trees, and of this collection's own files
version_added: 0.1.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - Returns one SHA-256 hex digest of the names and contents of the files named, and of every file under the
    directories named, in a fixed order. A path that does not exist counts as missing, which is part of the digest.
  - With O(collection), the files of the installed spotkit.ec2 collection that this lookup belongs to come first
    (its roles, plugins, playbooks and metadata, what a play of it runs; not its documents).
  - C(playbooks/pull.yml) compares it with the digest of its last successful run, to skip the roles whose inputs did
    not change. It runs where the play runs, which is where the paths are.
options:
  _terms:
    description: Paths of files or directories.
    type: list
    elements: path
    required: false
  collection:
    description: Include the spotkit.ec2 collection's own files.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The digest of the collection, the stack's settings and the project's playbook
  ansible.builtin.debug:
    msg: "{{ lookup('spotkit.ec2.tree_digest', '/etc/spotkit/stack.json', playbook_dir ~ '/pull.yml', collection=true) }}"
"""

RETURN = r"""
_raw:
  description: The SHA-256 hex digest, as a list of one.
  type: list
  elements: str
"""

import hashlib
import os

from ansible.errors import AnsibleLookupError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.lookup import LookupBase

# What Python and git leave beside the files, which no run reads.
SKIPPED = ("__pycache__", ".git")
COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTION_PARTS = ("meta", "playbooks", "plugins", "roles")


def files_under(path):
    """The files under path (itself, when a file), sorted, as (path relative to path, full path)."""
    if not os.path.isdir(path):
        return [("", path)]
    found = []
    for top, dirs, files in os.walk(path):
        dirs[:] = sorted(name for name in dirs if name not in SKIPPED)
        for name in files:
            if not name.endswith(".pyc"):
                full = os.path.join(top, name)
                found.append((os.path.relpath(full, path), full))
    return sorted(found)


def tree_digest(paths):
    """One hex digest of each path's name, and the names and contents of the files under it."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(b"path\0%s\0" % path.encode())
        if not os.path.exists(path):
            digest.update(b"missing\0")
            continue
        for relative, full in files_under(path):
            with open(full, "rb") as handle:
                content = hashlib.sha256(handle.read()).hexdigest()
            digest.update(b"%s\0%s\0" % (relative.encode(), content.encode()))
    return digest.hexdigest()


class LookupModule(LookupBase):
    """lookup('spotkit.ec2.tree_digest', *paths, collection=false)"""

    def run(self, terms, variables=None, collection=False, **kwargs):
        if kwargs:
            raise AnsibleLookupError("tree_digest: unknown option %s; its one option is collection" % ", ".join(sorted(kwargs)))
        own = [os.path.join(COLLECTION_ROOT, part) for part in COLLECTION_PARTS] if boolean(collection) else []
        paths = own + [str(term) for term in terms]
        return [tree_digest(paths)]
