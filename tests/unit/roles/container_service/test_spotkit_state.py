"""spotkit-state's parts that need no AWS (roles/container_service/files/spotkit_state.py): the digest of a state
tree, the archive and its digest, the checks of a downloaded archive, and its extraction, in a temporary root."""

from __future__ import annotations

import importlib.util
import io
import os
import tarfile

import pytest

from harness import REPO

SPEC = importlib.util.spec_from_file_location("spotkit_state", REPO / "roles" / "container_service" / "files" / "spotkit_state.py")
state = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(state)

PATHS = ("/srv/app/data", "/srv/app/certs")


@pytest.fixture(name="root")
def tree(tmp_path):
    """A root holding two state paths: files, a nested directory, a symlink, modes."""
    data = tmp_path / "srv/app/data"
    (data / "db").mkdir(parents=True)
    (data / "db" / "app.sqlite").write_bytes(b"\x00rows" * 1000)
    (data / "notes.txt").write_text("hello\n")
    (data / "notes.txt").chmod(0o640)
    (data / "current").symlink_to("db/app.sqlite")
    certs = tmp_path / "srv/app/certs"
    certs.mkdir()
    (certs / "site.key").write_text("key\n")
    (certs / "site.key").chmod(0o600)
    return tmp_path


def archive_of(root, paths=PATHS):
    buffer = io.BytesIO()
    digest, count = state.write_archive(str(root), paths, buffer)
    buffer.seek(0)
    return buffer, digest, count


def test_the_archive_holds_the_tree_and_its_digest_is_the_trees(root):
    buffer, digest, count = archive_of(root)
    assert (digest, count) == state.tree_digest(str(root), PATHS)
    with tarfile.open(fileobj=buffer, mode="r:gz") as archive:
        names = archive.getnames()
        member = archive.getmember("srv/app/data/notes.txt")
    assert names[0] == "srv/app/certs" and "srv/app/data/current" in names and len(names) == count == 7
    assert (member.mode, member.uid, member.uname) == (0o640, os.getuid(), "")


@pytest.mark.parametrize("change", ["content", "mode", "new file", "link target", "removed"])
def test_the_digest_changes_with_content_mode_paths_and_links(root, change):
    before = state.tree_digest(str(root), PATHS)[0]
    data = root / "srv/app/data"
    if change == "content":
        (data / "notes.txt").write_text("hello!\n")
    elif change == "mode":
        (data / "notes.txt").chmod(0o644)
    elif change == "new file":
        (data / "db" / "app.sqlite-wal").write_bytes(b"")
    elif change == "link target":
        (data / "current").unlink()
        (data / "current").symlink_to("notes.txt")
    else:
        (data / "notes.txt").unlink()
    assert state.tree_digest(str(root), PATHS)[0] != before


def test_the_digest_ignores_times(root):
    before = state.tree_digest(str(root), PATHS)[0]
    os.utime(root / "srv/app/data/notes.txt", (0, 0))
    assert state.tree_digest(str(root), PATHS)[0] == before


def test_a_missing_state_path_is_an_empty_one(tmp_path):
    digest, count = state.tree_digest(str(tmp_path), ["/srv/none"])
    assert count == 0 and digest == state.tree_digest(str(tmp_path), [])[0]


def test_extraction_replaces_the_paths_with_the_saved_tree(root, tmp_path_factory):
    buffer, digest, _count = archive_of(root)
    target = tmp_path_factory.mktemp("instance")
    (target / "srv/app/data").mkdir(parents=True)
    (target / "srv/app/data" / "left-by-the-image").write_text("builder's\n")
    (target / "srv/app/elsewhere").write_text("not state\n")
    with tarfile.open(fileobj=buffer, mode="r:gz") as archive:
        members = state.check_archive(archive, PATHS, digest)
        state.extract(str(target), archive, members, PATHS)
    assert state.tree_digest(str(target), PATHS)[0] == digest
    assert not (target / "srv/app/data" / "left-by-the-image").exists()
    assert (target / "srv/app/elsewhere").read_text() == "not state\n"
    assert os.readlink(target / "srv/app/data/current") == "db/app.sqlite"
    assert (target / "srv/app/certs/site.key").stat().st_mode & 0o777 == 0o600


def test_a_read_only_directory_is_restored_with_its_content(root, tmp_path_factory):
    (root / "srv/app/data/db").chmod(0o500)
    buffer, digest, _count = archive_of(root)
    (root / "srv/app/data/db").chmod(0o755)
    target = tmp_path_factory.mktemp("instance")
    with tarfile.open(fileobj=buffer, mode="r:gz") as archive:
        state.extract(str(target), archive, state.check_archive(archive, PATHS, digest), PATHS)
    assert (target / "srv/app/data/db/app.sqlite").exists()
    assert (target / "srv/app/data/db").stat().st_mode & 0o777 == 0o500


def crafted(*members):
    """A gzip'd tar of (name, type, data or link target) members, as an attacker or a broken writer makes it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, kind, payload in members:
            member = tarfile.TarInfo(name)
            member.type = kind
            if kind == tarfile.SYMTYPE or kind == tarfile.LNKTYPE:
                member.linkname = payload
                archive.addfile(member)
            elif kind == tarfile.REGTYPE:
                member.size = len(payload)
                archive.addfile(member, io.BytesIO(payload))
            else:
                archive.addfile(member)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("members,reason", [
    ([("etc/cron.d/x", tarfile.REGTYPE, b"* * * * * root sh\n")], "lies outside the state paths"),
    ([("/srv/app/data/x", tarfile.REGTYPE, b"x")], "is not a plain relative path"),
    ([("srv/app/data/../../../etc/passwd", tarfile.REGTYPE, b"x")], "is not a plain relative path"),
    ([("srv/app/database/x", tarfile.REGTYPE, b"x")], "lies outside the state paths"),
    ([("srv/app/data/link", tarfile.SYMTYPE, "/etc"), ("srv/app/data/link/passwd", tarfile.REGTYPE, b"x")], "lies under a symlink"),
    ([("srv/app/data", tarfile.SYMTYPE, "/etc")], "itself is a symlink"),
    ([("srv/app/data/hard", tarfile.LNKTYPE, "etc/shadow")], "neither a directory, a file nor a symlink"),
    ([("srv/app/data/dev", tarfile.CHRTYPE, "")], "neither a directory, a file nor a symlink"),
    ([("srv/app/data/x", tarfile.REGTYPE, b"1"), ("srv/app/data/x", tarfile.REGTYPE, b"2")], "appears twice"),
])
def test_members_escaping_the_state_paths_are_refused(members, reason):
    with pytest.raises(state.Corrupt, match=reason):
        state.open_archive(crafted(*members), PATHS, "0" * 64)


def test_a_tree_that_does_not_match_its_digest_is_refused(root):
    buffer, digest, _count = archive_of(root)
    with pytest.raises(state.Corrupt, match="does not match its sha256 metadata"):
        state.open_archive(buffer, PATHS, "f" * 64)
    buffer.seek(0)
    with pytest.raises(state.Corrupt, match="lies outside the state paths"):
        state.open_archive(buffer, ["/srv/app/data"], digest)


@pytest.mark.parametrize("payload", [b"not a tar at all", b"\x1f\x8b\x08\x00garbage", b""])
def test_what_is_not_a_gzip_tar_is_refused(payload):
    with pytest.raises(state.Corrupt, match="it is not a gzip'd tar"):
        state.open_archive(io.BytesIO(payload), PATHS, "0" * 64)


def test_an_object_without_its_digest_is_refused(root):
    with pytest.raises(state.Corrupt, match="it has no sha256 metadata"):
        state.open_archive(archive_of(root)[0], PATHS, "")
