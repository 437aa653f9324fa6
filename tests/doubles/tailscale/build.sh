#!/usr/bin/env bash
# Builds the TEST DOUBLE of Tailscale's package (README.md) and lays it out as an apt repository like
# pkgs.tailscale.com/stable/debian, signed with a test key, so that the tailscale role pointed at it differs from one
# pointed at Tailscale only by the repository URL and the pinned fingerprint.
#
#   usage: build.sh OUTPUT_DIR VERSION CODENAME...
#
# OUTPUT_DIR/repo/debian/                      serve OUTPUT_DIR/repo over HTTP; tailscale_repo_url is <server>/debian
#   <codename>.noarmor.gpg                     the test public key, as Tailscale publishes its own
#   dists/<codename>/{InRelease,Release}       signed with it
#   dists/<codename>/main/binary-<arch>/Packages, pool/main/<arch>/tailscale_<version>_<arch>.test-double.deb
# OUTPUT_DIR/fingerprint                       the key's fingerprint (tailscale_gpg_fingerprint)
# OUTPUT_DIR/gnupg/                            the test key: kept, and used again, when it is there
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 3 ] || { echo "usage: build.sh OUTPUT_DIR VERSION CODENAME..." >&2; exit 1; }
mkdir -p "$1"
out=$(cd "$1" && pwd) version=$2
shift 2
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1704067200}
repo=$out/repo/debian
rm -rf "$out/repo" && mkdir -p "$repo/pool/main/amd64" "$repo/pool/main/arm64"
# shellcheck source=tests/doubles/test_key.sh
. "$here/../test_key.sh" "$out/gnupg"
stage=$(mktemp -d "${TMPDIR:-/tmp}/tailscale-double.XXXXXX")
trap 'rm -rf "$stage"; test_key_stop' EXIT

for arch in amd64 arm64; do
  root=$stage/$arch
  cp -a "$here/root" "$root"
  # git keeps no empty directory: the programs' directories are made here.
  mkdir -p "$root/usr/bin" "$root/usr/sbin"
  for program in usr/bin/tailscale usr/sbin/tailscaled; do
    { echo '#!/usr/bin/python3'; cat "$here/tailscale_double.py"; } >"$root/$program"
  done
  cat >"$root/DEBIAN/control" <<CONTROL
Package: tailscale
Version: $version
Architecture: $arch
Section: net
Priority: extra
Depends: python3
Maintainer: spotkit.ec2 tests <tests@spotkit.invalid>
Description: TEST DOUBLE of Tailscale (spotkit.ec2 tests)
 Same package name, programs, unit and state directory as the real tailscale package, for tests
 where the real package cannot be downloaded. It joins no tailnet and records its calls.
CONTROL
  find "$root" -type d -exec chmod 0755 {} +
  find "$root" -type f -exec chmod 0644 {} +
  chmod 0755 "$root/usr/bin/tailscale" "$root/usr/sbin/tailscaled" "$root/DEBIAN/postinst"
  find "$root" -exec touch --no-dereference --date "@$SOURCE_DATE_EPOCH" {} +
  dpkg-deb --root-owner-group -Zgzip --build "$root" "$repo/pool/main/$arch/tailscale_${version}_${arch}.test-double.deb" >/dev/null
done

gpg_test --export "$fingerprint" >"$stage/key.gpg"
for codename in "$@"; do
  cp "$stage/key.gpg" "$repo/$codename.noarmor.gpg"
  for arch in amd64 arm64; do
    mkdir -p "$repo/dists/$codename/main/binary-$arch"
    (cd "$repo" && dpkg-scanpackages "pool/main/$arch" /dev/null 2>/dev/null) >"$repo/dists/$codename/main/binary-$arch/Packages"
  done
  python3 - "$repo/dists/$codename" "$codename" <<'PY'
import hashlib, os, sys, time
dist, codename = sys.argv[1], sys.argv[2]
files = sorted(os.path.relpath(os.path.join(top, name), dist) for top, _, names in os.walk(dist) for name in names)
lines = ["Origin: spotkit.ec2 TEST DOUBLE", "Label: Tailscale (TEST DOUBLE)", "Suite: " + codename, "Codename: " + codename,
         "Architectures: amd64 arm64", "Components: main",
         "Date: " + time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime(int(os.environ["SOURCE_DATE_EPOCH"]))), "SHA256:"]
for name in files:
    data = open(os.path.join(dist, name), "rb").read()
    lines.append(" %s %d %s" % (hashlib.sha256(data).hexdigest(), len(data), name))
open(os.path.join(dist, "Release"), "w").write("\n".join(lines) + "\n")
PY
  gpg_test --local-user "$fingerprint" --clearsign --output "$repo/dists/$codename/InRelease" "$repo/dists/$codename/Release"
done
echo "$fingerprint" | tee "$out/fingerprint"
