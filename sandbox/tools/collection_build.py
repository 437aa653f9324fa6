"""Build the checkout's collection into the artifact the sandbox's instances install.

    python collection_build.py CHECKOUT OUTPUT_DIR [--check]

Runs `ansible-galaxy collection build` on CHECKOUT and keeps the artifact in OUTPUT_DIR as
<namespace>-<name>-<version>-<digest>.tar.gz, where the digest is the one of the artifact's
FILES.json (the checksum of every file it holds): the same files give the same name, so the
sandbox's project pins exactly this build, and a changed collection changes the project's
requirements.yml, which makes the instances install it again. Older builds of the collection are
removed. Prints a JSON object: "path" of the artifact, "changed" whether it was not there yet.
--check reports without writing.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile


def build(checkout, workdir):
    galaxy = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    subprocess.run([galaxy, "collection", "build", "--output-path", workdir, checkout],
                   check=True, stdout=subprocess.DEVNULL)
    (artifact,) = glob.glob(os.path.join(workdir, "*.tar.gz"))
    return artifact


def digest_of(artifact):
    with tarfile.open(artifact) as tar:
        return hashlib.sha256(tar.extractfile("FILES.json").read()).hexdigest()[:16]


def main(argv):
    # An empty argument is none: Ansible passes '' where a run is not a check.
    argv = [arg for arg in argv if arg]
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] != "--check"):
        sys.exit(__doc__)
    checkout, output, check = argv[0], argv[1], len(argv) == 3
    with tempfile.TemporaryDirectory() as workdir:
        artifact = build(checkout, workdir)
        stem = os.path.basename(artifact)[: -len(".tar.gz")]
        name = "%s-%s.tar.gz" % (stem, digest_of(artifact))
        path = os.path.join(output, name)
        changed = not os.path.exists(path)
        if changed and not check:
            os.makedirs(output, exist_ok=True)
            prefix = stem.rsplit("-", 1)[0] + "-"
            for old in glob.glob(os.path.join(output, prefix + "*.tar.gz")):
                os.remove(old)
            shutil.move(artifact, path)
    print(json.dumps({"path": path, "changed": changed}))


if __name__ == "__main__":
    main(sys.argv[1:])
