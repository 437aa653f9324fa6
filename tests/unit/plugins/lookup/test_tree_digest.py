"""The tree_digest lookup: one digest that changes with any file's name or content under the paths it names."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.spotkit.ec2.plugins.lookup import tree_digest as plugin


@pytest.fixture(name="tree")
def fixture_tree(tmp_path):
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text("docker_mirror: a\n")
    (tmp_path / "pull.yml").write_text("- import_playbook: spotkit.ec2.pull\n")
    return tmp_path


def digest(*paths):
    return plugin.tree_digest([str(path) for path in paths])


def test_the_same_files_give_the_same_digest(tree):
    assert digest(tree / "pull.yml", tree / "group_vars") == digest(tree / "pull.yml", tree / "group_vars")


@pytest.mark.parametrize("change", ["content", "name", "new file", "removed file"])
def test_a_change_under_a_directory_changes_the_digest(tree, change):
    before = digest(tree / "pull.yml", tree / "group_vars")
    if change == "content":
        (tree / "group_vars" / "all.yml").write_text("docker_mirror: b\n")
    elif change == "name":
        (tree / "group_vars" / "all.yml").rename(tree / "group_vars" / "spot_stacks.yml")
    elif change == "new file":
        (tree / "group_vars" / "other.yml").write_text("")
    else:
        (tree / "group_vars" / "all.yml").unlink()
    assert digest(tree / "pull.yml", tree / "group_vars") != before


def test_a_missing_path_counts_and_differs_from_an_empty_file(tree):
    missing = digest(tree / "host_vars")
    (tree / "host_vars").write_text("")
    assert digest(tree / "host_vars") != missing
    assert digest(tree / "pull.yml", tree / "host_vars") != digest(tree / "host_vars", tree / "pull.yml")


def test_python_caches_do_not_count(tree):
    before = digest(tree / "group_vars")
    (tree / "group_vars" / "__pycache__").mkdir()
    (tree / "group_vars" / "__pycache__" / "x.cpython-313.pyc").write_bytes(b"\0")
    (tree / "group_vars" / "y.pyc").write_bytes(b"\0")
    assert digest(tree / "group_vars") == before


def test_the_lookup_puts_the_collections_roles_plugins_playbooks_and_meta_first(tree):
    lookup = plugin.LookupModule()
    own = [plugin.os.path.join(plugin.COLLECTION_ROOT, part) for part in ("meta", "playbooks", "plugins", "roles")]
    assert lookup.run([str(tree / "pull.yml")], collection="true") == [plugin.tree_digest(own + [str(tree / "pull.yml")])]
    assert lookup.run([str(tree / "pull.yml")]) == [digest(tree / "pull.yml")]
    assert plugin.os.path.isfile(plugin.os.path.join(plugin.COLLECTION_ROOT, "roles", "container_service", "tasks", "images_only.yml"))


def test_an_unknown_option_is_refused_by_name(tree):
    with pytest.raises(AnsibleLookupError, match="unknown option colection"):
        plugin.LookupModule().run([str(tree)], colection=True)
