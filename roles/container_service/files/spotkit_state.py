# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)
"""spotkit-state: the services' state directories (their `state:` field) kept in the stack's S3 bucket.

    spotkit-state restore SERVICE           before the service's first start on this instance (ExecStartPre)
    spotkit-state save [--on-stop] SERVICE  upload when the tree changed since the last save (ExecStopPost)
    spotkit-state save --all                every service with state (spotkit-state.timer)

One object per service, state/<service>.tar.gz: a gzip'd tar of its state directories (numeric owners, modes),
with the metadata sha256 = the digest of that tree (paths, types, modes, owners, contents). Every line goes to
stderr and to the journal (so to CloudWatch), once. docs/state.md says what a service can count on.
"""

from __future__ import annotations

import argparse
import datetime
import fcntl
import hashlib
import json
import os
import posixpath
import shutil
import socket
import stat
import sys
import tarfile
import tempfile
import zlib

CONFIG = "/etc/spotkit/state.json"
STATE_DIR = "/var/lib/spotkit/state"
INSTANCE_DATA = "/run/cloud-init/instance-data.json"
JOURNAL_SOCKET = "/run/systemd/journal/socket"
CHUNK = 1 << 20
ERR, WARNING, INFO = 3, 4, 6


class Corrupt(Exception):
    """A saved object that cannot be restored: the service starts with what the instance has."""


# --- The tree, its digest, the archive (no AWS here: tests/unit covers these) ------------------------------------

def _host(root, path):
    """Where the state path `path` (absolute, as the service declares it) is under `root` (/ on an instance)."""
    return os.path.join(root, path.lstrip("/"))


def _line(path, kind, mode, uid, gid, detail):
    return (json.dumps([path, kind, mode, uid, gid, detail]) + "\n").encode()


def _file_digest(handle, size):
    digest, left = hashlib.sha256(), size
    while left > 0:
        chunk = handle.read(min(CHUNK, left))
        if not chunk:
            raise OSError("the file shrank while it was read")
        digest.update(chunk)
        left -= len(chunk)
    return digest.hexdigest()


def _walk(root, paths):
    """(state path, lstat) of every directory, file and symlink under the state paths, parents first, sorted.
    Sockets, FIFOs and devices are left out: no archive can bring them back."""
    for top in sorted(paths):
        pending = [top]
        while pending:
            path = pending.pop(0)
            try:
                info = os.lstat(_host(root, path))
            except FileNotFoundError:
                continue
            if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
                continue
            yield path, info
            if stat.S_ISDIR(info.st_mode):
                children = sorted(os.listdir(_host(root, path)))
                pending[0:0] = [posixpath.join(path, name) for name in children]


def tree_digest(root, paths):
    """(digest, entries) of the tree under the state paths as it is on disk."""
    digest, count = hashlib.sha256(), 0
    for path, info in _walk(root, paths):
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISLNK(info.st_mode):
            detail, kind = os.readlink(_host(root, path)), "l"
        elif stat.S_ISDIR(info.st_mode):
            detail, kind = "", "d"
        else:
            with open(_host(root, path), "rb") as handle:
                detail, kind = _file_digest(handle, info.st_size), "f"
        digest.update(_line(path, kind, mode, info.st_uid, info.st_gid, detail))
        count += 1
    return digest.hexdigest(), count


class _Hashing:
    """A reader that hashes what passes through it, and never reads past `size` bytes."""

    def __init__(self, handle, size):
        self.handle, self.left, self.digest = handle, size, hashlib.sha256()

    def read(self, size=-1):
        size = self.left if size is None or size < 0 else min(size, self.left)
        chunk = self.handle.read(size)
        self.left -= len(chunk)
        self.digest.update(chunk)
        return chunk


def write_archive(root, paths, fileobj):
    """Write the gzip'd tar of the state paths to fileobj; return (digest, entries) of exactly what it holds,
    so that a file that changes while it is copied gets the digest of the copy."""
    digest, count = hashlib.sha256(), 0
    with tarfile.open(fileobj=fileobj, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for path, info in _walk(root, paths):
            member = tarfile.TarInfo(path.lstrip("/"))
            member.mode, member.uid, member.gid = stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid
            member.mtime, member.uname, member.gname = int(info.st_mtime), "", ""
            if stat.S_ISLNK(info.st_mode):
                member.type, member.linkname = tarfile.SYMTYPE, os.readlink(_host(root, path))
                archive.addfile(member)
                detail, kind = member.linkname, "l"
            elif stat.S_ISDIR(info.st_mode):
                member.type = tarfile.DIRTYPE
                archive.addfile(member)
                detail, kind = "", "d"
            else:
                with open(_host(root, path), "rb") as handle:
                    member.size = os.fstat(handle.fileno()).st_size
                    reader = _Hashing(handle, member.size)
                    archive.addfile(member, reader)
                detail, kind = reader.digest.hexdigest(), "f"
            digest.update(_line(path, kind, member.mode, member.uid, member.gid, detail))
            count += 1
    return digest.hexdigest(), count


def _member_path(member, paths):
    """The state path a member stands for; Corrupt when it would land outside the service's state paths."""
    name = member.name
    path = "/" + name
    if name.startswith("/") or posixpath.normpath(path) != path.rstrip("/") or "\0" in name:
        raise Corrupt("the member %r is not a plain relative path" % name)
    path = path.rstrip("/")
    if not any(path == top or path.startswith(top.rstrip("/") + "/") for top in paths):
        raise Corrupt("the member %r lies outside the state paths %s" % (name, ", ".join(paths)))
    return path


def check_archive(archive, paths, expected):
    """The members of an opened archive, checked: plain relative names inside the state paths, each once, only
    directories, files and symlinks, nothing under a symlink, and a tree whose digest is `expected`."""
    digest, members, seen, links = hashlib.sha256(), [], set(), set()
    for member in archive:
        path = _member_path(member, paths)
        if path in seen:
            raise Corrupt("the member %r appears twice" % member.name)
        if any(path.startswith(link + "/") for link in links):
            raise Corrupt("the member %r lies under a symlink" % member.name)
        if member.isdir():
            detail, kind = "", "d"
        elif member.isreg():
            detail, kind = _file_digest(archive.extractfile(member), member.size), "f"
        elif member.issym():
            if path in paths:
                raise Corrupt("the state path %s itself is a symlink in it" % path)
            detail, kind = member.linkname, "l"
            links.add(path)
        else:
            raise Corrupt("the member %r is neither a directory, a file nor a symlink" % member.name)
        seen.add(path)
        digest.update(_line(path, kind, member.mode, member.uid, member.gid, detail))
        members.append((path, member))
    if digest.hexdigest() != expected:
        raise Corrupt("its content does not match its sha256 metadata (%s, the content gives %s)" % (expected, digest.hexdigest()))
    return members


def _empty(directory):
    for name in os.listdir(directory):
        target = os.path.join(directory, name)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        else:
            os.unlink(target)


def extract(root, archive, members, paths):
    """Replace what the state paths hold with the checked members (check_archive), owners and modes included."""
    for top in paths:
        target = _host(root, top)
        if os.path.isdir(target) and not os.path.islink(target):
            _empty(target)
        else:
            os.makedirs(target, mode=0o755, exist_ok=True)
    directories = []
    for path, member in members:
        target = _host(root, path)
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        if member.isdir():
            os.makedirs(target, mode=0o700, exist_ok=True)
            os.lchown(target, member.uid, member.gid)
            directories.append((target, member.mode))
        elif member.issym():
            os.symlink(member.linkname, target)
            os.lchown(target, member.uid, member.gid)
        else:
            source = archive.extractfile(member)
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                shutil.copyfileobj(source, handle, CHUNK)
                os.fchown(handle.fileno(), member.uid, member.gid)
                os.fchmod(handle.fileno(), member.mode)
            os.utime(target, (member.mtime, member.mtime))
    # Modes of directories last, deepest first: a read-only directory must not stop what goes into it.
    for target, mode in reversed(directories):
        os.chmod(target, mode)


def open_archive(fileobj, paths, expected):
    """(archive, members) of a downloaded object; Corrupt when it is no gzip'd tar of these state paths."""
    if not expected:
        raise Corrupt("it has no sha256 metadata")
    try:
        archive = tarfile.open(fileobj=fileobj, mode="r:gz")
        return archive, check_archive(archive, paths, expected)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise Corrupt("it is not a gzip'd tar (%s)" % exc)


# --- The instance: configuration, markers, logging -------------------------------------------------------------

def _journal_stream():
    """Whether stderr is the journal already (a unit's output not sent to a file)."""
    try:
        device, inode = (int(part) for part in os.environ.get("JOURNAL_STREAM", "").split(":"))
        info = os.fstat(2)
    except (ValueError, OSError):
        return False
    return (info.st_dev, info.st_ino) == (device, inode)


def log(message, priority=INFO):
    """One line on stderr (a service's log file, or the journal) and, when stderr is not the journal, in it too."""
    message = " ".join(message.split("\n"))
    if _journal_stream():
        print("<%d>%s" % (priority, message), file=sys.stderr, flush=True)
        return
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    print("%s spotkit-state: %s" % (now, message), file=sys.stderr, flush=True)
    entry = "MESSAGE=%s\nPRIORITY=%d\nSYSLOG_IDENTIFIER=spotkit-state\n" % (message, priority)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as journal:
            journal.sendto(entry.encode(), JOURNAL_SOCKET)
    except OSError:
        pass


def instance_id():
    """This instance's id from cloud-init's instance data; None when it cannot be read."""
    try:
        with open(INSTANCE_DATA, encoding="utf-8") as handle:
            return json.load(handle)["v1"]["instance_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


class Service:
    """A service's state on this instance: its paths, its object, its marker and last digest, its lock."""

    def __init__(self, config, name):
        self.name, self.paths = name, config["services"][name]
        self.bucket, self.key = config["bucket"], "state/%s.tar.gz" % name
        self.url = "s3://%s/%s" % (self.bucket, self.key)
        self.marker = os.path.join(STATE_DIR, name + ".restored")
        self.digest_file = os.path.join(STATE_DIR, name + ".sha256")
        self._lock = None

    def lock(self):
        os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)
        self._lock = open(os.path.join(STATE_DIR, self.name + ".lock"), "w", encoding="utf-8")
        fcntl.flock(self._lock, fcntl.LOCK_EX)

    def restored_here(self):
        """Whether the state was restored (or found missing) on this instance: restarts keep their local data. A
        marker from another instance (an image baked with one) does not count; an unreadable id trusts the marker."""
        try:
            with open(self.marker, encoding="utf-8") as handle:
                restored_on = json.load(handle).get("instance")
        except (OSError, ValueError, AttributeError):
            return False
        current = instance_id()
        return current is None or restored_on is None or restored_on == current

    @staticmethod
    def _write(path, text):
        with open(path + ".new", "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(path + ".new", path)

    def mark_saved(self, digest):
        self._write(self.digest_file, digest + "\n")

    def mark_restored(self, digest):
        if digest:
            self._write(self.digest_file, digest + "\n")
        elif os.path.exists(self.digest_file):
            os.unlink(self.digest_file)
        self._write(self.marker, json.dumps({"instance": instance_id()}) + "\n")

    def last_digest(self):
        try:
            with open(self.digest_file, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError:
            return ""


# --- AWS ---------------------------------------------------------------------------------------------------------

def s3_client(config):
    import boto3
    from botocore.config import Config

    # With an endpoint override (the sandbox's emulator) the bucket goes in the path, not the host name.
    options = {"connect_timeout": 5, "read_timeout": 30, "retries": {"mode": "standard", "max_attempts": 5}}
    if config.get("endpoint_url"):
        options["s3"] = {"addressing_style": "path"}
    return boto3.session.Session(region_name=config["region"]).client(
        "s3", endpoint_url=config.get("endpoint_url") or None, config=Config(**options))


def _aws_errors():
    from botocore.exceptions import BotoCoreError, ClientError

    return BotoCoreError, ClientError


def restore(config, service):
    """0 when the service may start: restored, or nothing (usable) to restore; 1 when AWS could not be asked."""
    if service.restored_here():
        return 0
    errors = _aws_errors()
    with tempfile.TemporaryFile(dir=STATE_DIR) as download:
        try:
            answer = s3_client(config).get_object(Bucket=service.bucket, Key=service.key)
            shutil.copyfileobj(answer["Body"], download, CHUNK)
        except errors[1] as exc:
            if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                return _restore_failed(service, exc)
            log("%s: no saved state at %s (a first deploy): it starts with what this instance has" % (service.name, service.url))
            service.mark_restored("")
            return 0
        except errors[0] as exc:
            return _restore_failed(service, exc)
        download.seek(0)
        expected = answer.get("Metadata", {}).get("sha256", "")
        version = answer.get("VersionId") or "unversioned"
        try:
            archive, members = open_archive(download, service.paths, expected)
        except Corrupt as exc:
            log("%s: the saved state at %s (version %s) is unusable: %s; it starts with what this instance has, and its next "
                "save replaces the object (the bucket keeps the old version)" % (service.name, service.url, version, exc), ERR)
            service.mark_restored("")
            return 0
        try:
            with archive:
                extract("/", archive, members, service.paths)
        except OSError as exc:
            log("%s: could not unpack its saved state from %s into %s: %s; it does not start until that works (systemd "
                "tries again)" % (service.name, service.url, ", ".join(service.paths), exc), ERR)
            return 1
    service.mark_restored(expected)
    log("%s: restored %s from %s (version %s, %d entries, sha256 %s)"
        % (service.name, ", ".join(service.paths), service.url, version, len(members), expected))
    return 0


def _restore_failed(service, exc):
    # Starting empty would let the next save replace the stack's copy with nothing: the unit fails, systemd retries.
    log("%s: could not restore its state from %s: %s; it does not start until that works (systemd tries again), so that "
        "an empty start never replaces the saved state" % (service.name, service.url, exc), ERR)
    return 1


def save(config, service, on_stop=False):
    """0 when the state is saved or unchanged (or not to be saved now); 1 when the upload failed."""
    if not service.restored_here():
        # Its first start did not restore yet (its unit says why): what is here may be empty, and must not replace
        # the saved state.
        return 0
    result = os.environ.get("SERVICE_RESULT", "success")
    if on_stop and result != "success":
        log("%s: not saved on this stop: the service ended with %s (exit %s); only a clean stop saves, the periodic save "
            "copies it while it runs" % (service.name, result, os.environ.get("EXIT_STATUS", "unknown")), WARNING)
        return 0
    digest = tree_digest("/", service.paths)[0]
    if digest == service.last_digest():
        if on_stop:
            log("%s: state unchanged since the last save (sha256 %s); nothing uploaded" % (service.name, digest))
        return 0
    errors = _aws_errors()
    with tempfile.TemporaryFile(dir=STATE_DIR) as upload:
        try:
            digest, count = write_archive("/", service.paths, upload)
        except OSError as exc:
            log("%s: could not copy its state: %s; the next save tries again" % (service.name, exc), ERR)
            return 1
        size = upload.tell()
        upload.seek(0)
        try:
            answer = s3_client(config).put_object(Bucket=service.bucket, Key=service.key, Body=upload,
                                                  ContentType="application/gzip", Metadata={"sha256": digest})
        except errors as exc:
            log("%s: could not save its state to %s: %s; the next save tries again" % (service.name, service.url, exc), ERR)
            return 1
    service.mark_saved(digest)
    log("%s: saved %s to %s (version %s, %d entries, %d bytes, sha256 %s)" % (
        service.name, ", ".join(service.paths), service.url, answer.get("VersionId") or "unversioned", count, size, digest))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="spotkit-state", description=__doc__.split("\n\n", maxsplit=1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("restore").add_argument("service")
    saving = commands.add_parser("save")
    saving.add_argument("service", nargs="?")
    saving.add_argument("--all", action="store_true", help="every service with state")
    saving.add_argument("--on-stop", action="store_true", help="as a unit's ExecStopPost: only after a clean stop")
    arguments = parser.parse_args(argv)
    with open(CONFIG, encoding="utf-8") as handle:
        config = json.load(handle)
    names = sorted(config["services"]) if getattr(arguments, "all", False) else [arguments.service]
    if None in names or (arguments.command == "save" and arguments.all and arguments.service):
        parser.error("name one service, or --all")
    unknown = [name for name in names if name not in config["services"]]
    if unknown:
        parser.error("%s has no state here (services with state: %s)" % (unknown[0], ", ".join(sorted(config["services"])) or "none"))
    failed = 0
    for name in names:
        service = Service(config, name)
        service.lock()
        failed |= restore(config, service) if arguments.command == "restore" else save(config, service, arguments.on_stop)
    return failed


if __name__ == "__main__":
    sys.exit(main())
