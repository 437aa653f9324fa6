#!/usr/bin/env bash
# Lays out the TEST DOUBLE of the CloudWatch agent (build.sh) like the real download bucket, signed
# with a throwaway test key made on the spot, so a role pointed at it differs from one pointed at AWS
# only by its base URL and the pinned fingerprint.
#
#   usage: bucket.sh OUTPUT_DIR LATEST_VERSION [OTHER_VERSION...]
#
# OUTPUT_DIR/bucket/          serve this folder over HTTP
#   assets/amazon-cloudwatch-agent.gpg                                  the test public key
#   {debian,ubuntu}/amd64/{latest,<version>}/amazon-cloudwatch-agent.deb{,.sig}
#   ubuntu/arm64/{latest,<version>}/amazon-cloudwatch-agent.deb{,.sig}  (no debian/arm64, as at AWS)
# OUTPUT_DIR/fingerprint      the test key's fingerprint: the value for cloudwatch_agent_gpg_fingerprint
# OUTPUT_DIR/gnupg/           the test key, to sign further files in tests
# Each run replaces OUTPUT_DIR's bucket, key and fingerprint.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 2 ] || { echo "usage: bucket.sh OUTPUT_DIR LATEST_VERSION [OTHER_VERSION...]" >&2; exit 1; }
out=$1 latest=$2
shift
mkdir -p "$out"
out=$(cd "$out" && pwd)
bucket=$out/bucket gnupg=$out/gnupg
rm -rf "$bucket" "$gnupg" "$out/debs" "$out/fingerprint"
mkdir -p "$bucket/assets" "$out/debs"
mkdir -m 0700 "$gnupg"
trap 'gpgconf --homedir "$gnupg" --kill all 2>/dev/null || true' EXIT

gpg_test() { gpg --batch --no-tty --quiet --homedir "$gnupg" "$@"; }
gpg_test --pinentry-mode loopback --passphrase '' \
  --quick-generate-key "spotkit.ec2 TEST DOUBLE signing key <test-double@spotkit.invalid>" ed25519 sign never
fingerprint=$(gpg_test --with-colons --list-keys | awk -F: '$1 == "fpr" { print $10; exit }')
gpg_test --armor --export "$fingerprint" >"$bucket/assets/amazon-cloudwatch-agent.gpg"

publish() {  # publish DEB FOLDER...: the package and its detached signature in each folder
  local deb=$1 folder
  shift
  gpg_test --local-user "$fingerprint" --detach-sign --output "$deb.sig" "$deb"
  for folder in "$@"; do
    mkdir -p "$bucket/$folder"
    cp "$deb" "$bucket/$folder/amazon-cloudwatch-agent.deb"
    cp "$deb.sig" "$bucket/$folder/amazon-cloudwatch-agent.deb.sig"
  done
}

for version in "$@"; do
  "$here/build.sh" "$out/debs" "$version" amd64 arm64 >/dev/null
  folders=("$version")
  [ "$version" != "$latest" ] || folders+=(latest)
  amd64=() arm64=()
  for folder in "${folders[@]}"; do
    amd64+=("debian/amd64/$folder" "ubuntu/amd64/$folder")
    arm64+=("ubuntu/arm64/$folder")
  done
  publish "$out/debs/amazon-cloudwatch-agent_${version}-1_amd64.test-double.deb" "${amd64[@]}"
  publish "$out/debs/amazon-cloudwatch-agent_${version}-1_arm64.test-double.deb" "${arm64[@]}"
done
echo "$fingerprint" >"$out/fingerprint"
echo "$fingerprint"
