#!/usr/bin/env bash
# Builds the TEST DOUBLE of the AWS Systems Manager agent's .deb (README.md) and lays it out like AWS's download bucket,
# signed with a test key, so that the session_manager role pointed at it differs from one pointed at AWS only by its
# base URL, its key URL and the pinned fingerprint. The same arguments give the same packages.
#
#   usage: build.sh OUTPUT_DIR VERSION
#
# OUTPUT_DIR/bucket/{latest,<VERSION>}/debian_{amd64,arm64}/amazon-ssm-agent.deb{,.sig}   serve this folder over HTTP
# OUTPUT_DIR/bucket/amazon-ssm-agent.gpg   the test public key (session_manager_gpg_key_url)
# OUTPUT_DIR/fingerprint                   its fingerprint (session_manager_gpg_fingerprint)
# OUTPUT_DIR/gnupg/                        the test key: kept, and used again, when it is there
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || { echo "usage: build.sh OUTPUT_DIR VERSION" >&2; exit 1; }
mkdir -p "$1"
out=$(cd "$1" && pwd) version=$2
[[ $version =~ ^[0-9]+(\.[0-9]+){3}$ ]] || { echo "build.sh: VERSION must look like 3.3.1957.0; got '$version'" >&2; exit 1; }
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1704067200}
bucket=$out/bucket
rm -rf "$bucket" && mkdir -p "$bucket"
# shellcheck source=tests/doubles/test_key.sh
. "$here/../test_key.sh" "$out/gnupg"
gpg_test --armor --export "$fingerprint" >"$bucket/amazon-ssm-agent.gpg"

stage=$(mktemp -d "${TMPDIR:-/tmp}/ssm-double.XXXXXX")
trap 'rm -rf "$stage"; test_key_stop' EXIT
for arch in amd64 arm64; do
  root=$stage/$arch
  cp -a "$here/root" "$root"
  echo "$version" >"$root/etc/amazon/ssm/TEST-DOUBLE-VERSION"
  cat >"$root/DEBIAN/control" <<CONTROL
Package: amazon-ssm-agent
Version: $version-1
Architecture: $arch
Section: admin
Priority: optional
Maintainer: spotkit.ec2 tests <tests@spotkit.invalid>
Description: TEST DOUBLE of the AWS Systems Manager agent (spotkit.ec2 tests)
 Same package name, binary path and unit as the real amazon-ssm-agent, for tests where the real
 package cannot be downloaded. It registers nothing and opens no session.
CONTROL
  find "$root" -type d -exec chmod 0755 {} +
  find "$root" -type f -exec chmod 0644 {} +
  chmod 0755 "$root/usr/bin/amazon-ssm-agent" "$root/DEBIAN"/{postinst,prerm}
  find "$root" -exec touch --no-dereference --date "@$SOURCE_DATE_EPOCH" {} +
  deb=$stage/amazon-ssm-agent_${version}-1_${arch}.test-double.deb
  dpkg-deb --root-owner-group -Zgzip --build "$root" "$deb" >/dev/null
  gpg_test --local-user "$fingerprint" --detach-sign --output "$deb.sig" "$deb"
  for folder in latest "$version"; do
    mkdir -p "$bucket/$folder/debian_$arch"
    cp "$deb" "$bucket/$folder/debian_$arch/amazon-ssm-agent.deb"
    cp "$deb.sig" "$bucket/$folder/debian_$arch/amazon-ssm-agent.deb.sig"
  done
done
echo "$fingerprint" | tee "$out/fingerprint"
