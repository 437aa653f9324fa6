"""Unit tests for the stack image's key and tags (plugins/module_utils/_image.py)."""

from __future__ import annotations

import pytest

from ansible_collections.spotkit.ec2.plugins.module_utils import _image as image

DIGEST = "sha256:" + "b" * 64
SERVICES = [{"name": "blog", "image": "ghcr.io/you/blog:latest"}, {"name": "api", "image": "ghcr.io/you/api@" + DIGEST}]
SETTINGS = {"spot_stack": "blog", "spot_services": [{"name": "blog"}], "spot_env_version": 3}
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def key(**changes):
    inputs = dict(base_image="ami-0abc", commit=COMMIT, images=image.service_images(SERVICES), settings=SETTINGS, **{})
    inputs.update(changes)
    return image.bake_key(**inputs)


def test_a_pinned_image_is_its_digest_and_a_tag_is_the_reference():
    assert image.service_images(SERVICES) == {"blog": "ghcr.io/you/blog:latest", "api": DIGEST}
    # The same digest from another registry path is the same image.
    assert image.service_images([{"name": "api", "image": "other.example/api:1@" + DIGEST}]) == {"api": DIGEST}


def test_the_key_is_a_sha256_and_stable():
    assert len(key()) == 64 and int(key(), 16) >= 0
    assert key() == key()
    # Order of the settings' keys and of the services' images does not matter.
    assert key(settings=dict(reversed(list(SETTINGS.items())))) == key()
    assert key(images=dict(reversed(list(image.service_images(SERVICES).items())))) == key()


@pytest.mark.parametrize("change", [
    {"base_image": "ami-0def"},
    {"commit": "f" * 40},
    {"images": {"blog": "ghcr.io/you/blog:2", "api": DIGEST}},
    {"images": {"blog": "ghcr.io/you/blog:latest", "api": "sha256:" + "c" * 64}},
    {"settings": dict(SETTINGS, spot_stack="shop")},
])
def test_each_input_changes_the_key(change):
    assert key(**change) != key()


def test_the_env_version_does_not_change_the_key():
    assert key(settings=dict(SETTINGS, spot_env_version=4)) == key()
    assert key(settings={k: v for k, v in SETTINGS.items() if k != "spot_env_version"}) == key()


def test_the_images_tag_names_each_service_or_is_a_digest_when_long():
    assert image.images_tag({"web": "nginx:1", "api": DIGEST}) == "api=%s,web=nginx:1" % DIGEST
    many = {"service-%02d" % n: DIGEST for n in range(5)}
    tag = image.images_tag(many)
    assert tag.startswith("sha256:") and len(tag) == 71


def test_the_image_and_builder_tags():
    tags = image.image_tags("blog", "ami-0abc", COMMIT, {"blog": "caddy:2"}, "k" * 64)
    assert tags == {"spotkit:stack": "blog", "spotkit:role": "image", "spotkit:base-image": "ami-0abc", "spotkit:commit": COMMIT,
                    "spotkit:images": "blog=caddy:2", "spotkit:bake-key": "k" * 64}
    assert image.builder_tags("blog", "spotkit-blog-builder", "k" * 64) == {
        "spotkit:stack": "blog", "spotkit:role": "builder", "Name": "spotkit-blog-builder", "spotkit:bake-key": "k" * 64}


LS_REMOTE = "\n".join([
    "1111111111111111111111111111111111111111\tHEAD",
    "2222222222222222222222222222222222222222\trefs/heads/main",
    "3333333333333333333333333333333333333333\trefs/heads/release/main",
    "4444444444444444444444444444444444444444\trefs/tags/v1",
    "5555555555555555555555555555555555555555\trefs/tags/v1^{}",
    "6666666666666666666666666666666666666666\trefs/tags/v2",
])


@pytest.mark.parametrize("version,commit", [
    ("main", "2" * 40),
    ("v1", "5" * 40),
    ("v2", "6" * 40),
    ("HEAD", "1" * 40),
    ("7" * 40, "7" * 40),
    ("nothing", None),
])
def test_the_commit_a_version_names(version, commit):
    assert image.commit_of(LS_REMOTE, version) == commit
