#!/usr/bin/env bash
# Local base images, built from Debian's packages because no registry may be reachable:
#   debian:<suite>          minbase debootstrap, imported (Dockerfiles say FROM debian:<suite>)
#   spotkit-systemd:<suite> systemd as PID 1 and Python, for molecule (tests/images/systemd)
# An image that exists is kept: delete it to rebuild. Suites: SPOTKIT_SUITES (default bookworm trixie).
set -euo pipefail
cd "$(dirname "$0")/.."

mirror=${SPOTKIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suites=${SPOTKIT_SUITES:-bookworm trixie}

import_base() {
  local suite=$1 rootfs
  rootfs=$(mktemp -d "${TMPDIR:-/tmp}/spotkit-rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' RETURN
  echo "spotkit: building debian:$suite with debootstrap from $mirror"
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 ||
    { cat "$rootfs.log" >&2; rm -f "$rootfs.log"; return 1; }
  rm -f "$rootfs.log" "$rootfs/etc/apt/sources.list"
  # The same sources as Debian's official images: the release, its updates and security.
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | docker import --change 'CMD ["bash"]' - "debian:$suite" >/dev/null
}

for suite in $suites; do
  docker image inspect "debian:$suite" >/dev/null 2>&1 || import_base "$suite"
  if ! docker image inspect "spotkit-systemd:$suite" >/dev/null 2>&1; then
    echo "spotkit: building spotkit-systemd:$suite"
    docker build --quiet --build-arg "BASE=debian:$suite" -t "spotkit-systemd:$suite" tests/images/systemd >/dev/null
  fi
done
