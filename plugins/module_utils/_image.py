# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)
"""The stack image's inputs and its key: a stack image is baked again only when its key changes.

Private to this collection (leading underscore): the action plugin spotkit.ec2.stack_plan asks it on
the controller when provisioning bakes a stack image (docs/aws.md#the-stack-image).
"""

from __future__ import annotations

import hashlib
import json
import re

from ansible_collections.spotkit.ec2.plugins.module_utils._stack import BASE_IMAGE_TAG, ROLE_TAG, TAG_KEY

BAKE_KEY_TAG = "spotkit:bake-key"
COMMIT_TAG = "spotkit:commit"
IMAGES_TAG = "spotkit:images"
BUILDER_TAG = "spotkit:builder"
IMAGE_ROLE = "image"
BUILDER_ROLE = "builder"
# An EC2 tag value holds at most 256 characters.
TAG_VALUE_MAX = 256
# The setting that changes with every change of the env, which the image does not hold.
ENV_VERSION_SETTING = "spot_env_version"
COMMIT_PATTERN = re.compile(r"^[0-9a-f]{40}$")


def service_images(services):
    """{service: what its image is}: the digest when the reference pins one, else the reference itself.

    A tag such as :latest is taken as it is written: the key changes when the reference does, not when the
    registry moves the tag (reading digests from registries is not done yet).
    """
    return {service["name"]: service["image"].split("@", 1)[1] if "@" in service["image"] else service["image"]
            for service in services}


def bake_key(base_image, commit, images, settings):
    """sha256 (hex) of everything a stack image is made of: the base image, the project's commit, the
    services' images and the instance's settings (without the env's version: no env is on the image)."""
    document = {
        "base_image": base_image,
        "commit": commit,
        "images": images,
        "settings": {key: value for key, value in settings.items() if key != ENV_VERSION_SETTING},
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def images_tag(images):
    """The value of the image's spotkit:images tag: service=image,... in name order, or its sha256 when too long."""
    value = ",".join("%s=%s" % (name, images[name]) for name in sorted(images))
    return value if len(value) <= TAG_VALUE_MAX else "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def image_tags(stack, base_image, commit, images, key):
    """Tags of a stack image (and its snapshots), but for spotkit:builder, known once the builder runs."""
    return {TAG_KEY: stack, ROLE_TAG: IMAGE_ROLE, BASE_IMAGE_TAG: base_image, COMMIT_TAG: commit,
            IMAGES_TAG: images_tag(images), BAKE_KEY_TAG: key}


def builder_tags(stack, name, key):
    """Tags of the builder instance: found again by them, and by its key."""
    return {TAG_KEY: stack, ROLE_TAG: BUILDER_ROLE, "Name": name, BAKE_KEY_TAG: key}


def commit_of(ls_remote, version):
    """The commit that version names in the output of `git ls-remote <repo> <version>`; None when none.

    A branch before a tag, an annotated tag's commit (its peeled ^{} line) before the tag object; a commit id
    is itself (ls-remote lists refs, not commits).
    """
    refs = {}
    for line in ls_remote.splitlines():
        fields = line.strip().split("\t")
        if len(fields) == 2 and all(fields):
            refs[fields[1]] = fields[0]
    for ref in ("refs/heads/%s" % version, "refs/tags/%s^{}" % version, "refs/tags/%s" % version, version):
        if ref in refs:
            return refs[ref]
    return version if COMMIT_PATTERN.match(version) else None
