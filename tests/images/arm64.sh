#!/usr/bin/env bash
# arm64 images for the molecule scenarios that prove arm64 paths under emulation (qemu-user):
#   debian:<suite>-arm64          minbase debootstrap --arch=arm64, imported
#   spotkit-systemd:<suite>-arm64 systemd as PID 1 and Python (tests/images/systemd), arm64
# Sets up qemu-user-static and binfmt first (root on Debian). An image that exists is kept: delete
# it to rebuild. Suite: SPOTKIT_ARM64_SUITE, default bookworm: under qemu-user, trixie's systemd 257
# starts no service at all ("Result: resources", its systemd-executor does not run emulated), while
# bookworm's systemd 252 does. Cold: about 15 minutes here.
set -euo pipefail
cd "$(dirname "$0")/../.."

suite=${SPOTKIT_ARM64_SUITE:-bookworm}
mirror=${SPOTKIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if ! [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "arm64.sh: run as root to set up qemu-user-static and binfmt" >&2; exit 1; }
  command -v qemu-aarch64-static >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static binfmt-support >/dev/null
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  update-binfmts --enable qemu-aarch64
fi

if ! docker image inspect "debian:$suite-arm64" >/dev/null 2>&1; then
  rootfs=$(mktemp -d "${TMPDIR:-/tmp}/spotkit-rootfs-arm64.XXXXXX")
  trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT
  echo "arm64.sh: building debian:$suite-arm64 with debootstrap --arch=arm64 from $mirror"
  debootstrap --arch=arm64 --variant=minbase "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 ||
    { cat "$rootfs.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | docker import --platform linux/arm64 --change 'CMD ["bash"]' - "debian:$suite-arm64" >/dev/null
fi

if ! docker image inspect "spotkit-systemd:$suite-arm64" >/dev/null 2>&1; then
  echo "arm64.sh: building spotkit-systemd:$suite-arm64 (emulated)"
  docker build --quiet --platform linux/arm64 --build-arg "BASE=debian:$suite-arm64" \
    -t "spotkit-systemd:$suite-arm64" tests/images/systemd >/dev/null
fi
