"""Pack an installed collection into the artifact `ansible-galaxy collection install` takes.

    python collection_tarball.py NAMESPACE.NAME OUTPUT.tar.gz [COLLECTIONS_PATH...]

An installed collection keeps the MANIFEST.json and FILES.json of the artifact it came from,
which make it an artifact again. The sandbox gives the tarball to its instances, which have no
Galaxy to install from. The output is byte-for-byte the same for the
same collection, and is only rewritten when it differs: prints "changed" or "unchanged".
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def find_collection(name, search_paths):
    namespace, collection = name.split(".", 1)
    for root in search_paths:
        path = os.path.join(root, "ansible_collections", namespace, collection)
        if os.path.isfile(os.path.join(path, "MANIFEST.json")):
            return path
    raise SystemExit("collection %s is not installed in %s" % (name, ", ".join(search_paths)))


def default_search_paths():
    # The same places ansible-galaxy looks, for the Python that runs this script.
    from ansible import constants

    import ansible_collections

    return list(constants.COLLECTIONS_PATHS) + [os.path.dirname(p) for p in ansible_collections.__path__]


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def contents(path):
    """The artifact's MANIFEST.json and FILES.json, and the files to pack.

    Python packages of collections leave out tests, docs and CI files that FILES.json lists, and
    ansible-galaxy refuses an artifact that lacks a listed file: FILES.json lists what is
    installed, and MANIFEST.json the checksum of that FILES.json. Every installed file must still
    have the checksum the original artifact recorded.
    """
    with open(os.path.join(path, "FILES.json"), encoding="utf-8") as handle:
        files = json.load(handle)
    kept = []
    for entry in files["files"]:
        full = os.path.join(path, entry["name"])
        if entry["name"] != "." and not os.path.lexists(full):
            continue
        if entry["ftype"] == "file" and _sha256(full) != entry["chksum_sha256"]:
            raise SystemExit("%s differs from the checksum in its FILES.json: not packing a modified collection" % full)
        kept.append(entry)
    files_json = json.dumps(dict(files, files=kept), indent=4, sort_keys=True).encode()
    with open(os.path.join(path, "MANIFEST.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_json).hexdigest()
    manifest_json = json.dumps(manifest, indent=4, sort_keys=True).encode()
    return manifest_json, files_json, [entry["name"] for entry in kept if entry["name"] != "."]


def _fixed(info):
    # Fixed owner and time: the same collection always gives the same bytes.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def pack(path):
    manifest_json, files_json, members = contents(path)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in (("MANIFEST.json", manifest_json), ("FILES.json", files_json)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(_fixed(info), io.BytesIO(data))
        for member in members:
            full = os.path.join(path, member)
            info = _fixed(tar.gettarinfo(full, arcname=member))
            if info.isfile():
                with open(full, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    compressed = io.BytesIO()
    with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return compressed.getvalue()


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    name, output, search_paths = argv[0], argv[1], argv[2:] or default_search_paths()
    data = pack(find_collection(name, search_paths))
    try:
        with open(output, "rb") as handle:
            if handle.read() == data:
                print("unchanged")
                return 0
    except FileNotFoundError:
        pass
    with open(output + ".tmp", "wb") as handle:
        handle.write(data)
    os.replace(output + ".tmp", output)
    print("changed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
