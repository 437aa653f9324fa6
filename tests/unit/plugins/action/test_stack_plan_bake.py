"""Unit tests for the stack image's inputs as the stack_plan action works them out on the controller
(plugins/action/stack_plan.py: project_commit, bake_plan), against a local git repository."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.spotkit.ec2.plugins.action.stack_plan import bake_plan, project_commit


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    path = tmp_path_factory.mktemp("project") / "site"
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    git(path, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "one")
    git(path, "-c", "user.email=t@example.com", "-c", "user.name=t", "tag", "-a", "v1", "-m", "v1")
    return path


def test_a_branch_and_an_annotated_tag_name_their_commit(repo):
    head = git(repo, "rev-parse", "HEAD")
    assert project_commit("file://%s" % repo, "main") == head
    assert project_commit("file://%s" % repo, "v1") == head


def test_a_version_the_project_lacks_and_a_project_that_does_not_answer_are_named(repo, tmp_path):
    with pytest.raises(ValueError, match="spot_pull_version nope names no branch, tag or commit of spot_pull_repo file://"):
        project_commit("file://%s" % repo, "nope")
    with pytest.raises(ValueError, match="git ls-remote of spot_pull_repo file://%s/missing failed" % tmp_path):
        project_commit("file://%s/missing" % tmp_path, "main")


def test_the_bake_plan_keys_and_tags_the_image_and_its_builder(repo):
    variables = {"spot_pull_repo": "file://%s" % repo, "spot_pull_version": "main",
                 "spot_services": [{"name": "blog", "image": "caddy:2"}]}
    plan = {"settings": {"spot_stack": "blog"}, "image": {"builder_name": "spotkit-blog-builder"}}
    bake = bake_plan("blog", plan, "ami-0abc", variables)
    assert bake["commit"] == git(repo, "rev-parse", "HEAD")
    assert bake["images"] == {"blog": "caddy:2"}
    assert bake["image_tags"]["spotkit:bake-key"] == bake["key"] == bake["builder_tags"]["spotkit:bake-key"]
    assert bake["builder_tags"]["Name"] == "spotkit-blog-builder"
    assert bake_plan("blog", plan, "ami-0def", variables)["key"] != bake["key"]
