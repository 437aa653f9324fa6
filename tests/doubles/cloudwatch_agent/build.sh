#!/usr/bin/env bash
# Builds the TEST DOUBLE of the Amazon CloudWatch agent's .deb, for the spotkit.ec2 tests and the
# sandbox: the real package cannot be downloaded there. Same package name, layout, ctl, unit and
# system user as the real one (README.md says what it does and does not do); it ships nothing.
# The same arguments give the same bytes (fixed timestamps, owners and modes).
#
#   usage: build.sh OUTPUT_DIR VERSION [ARCH...]     ARCH: amd64, arm64 (default: both)
#
# Writes OUTPUT_DIR/amazon-cloudwatch-agent_<VERSION>-1_<ARCH>.test-double.deb and prints each path.
# Needs dpkg-deb and python3. The schema comes from the read-only reference copy:
# $SPOTKIT_REFERENCE_DIR/cloudwatch-agent/schema.json (default: ../shared/reference next to the repository).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
schema=${SPOTKIT_REFERENCE_DIR:-$repo/../shared/reference}/cloudwatch-agent/schema.json
# Agents older than this have no journald in their schema (logs_collected allows no other keys).
journald_since=1.300070.0
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1704067200}

die() { echo "build.sh: $*" >&2; exit 1; }

[ $# -ge 2 ] || die "usage: build.sh OUTPUT_DIR VERSION [ARCH...]"
out=$1 version=$2
shift 2
if [ $# -gt 0 ]; then archs=("$@"); else archs=(amd64 arm64); fi
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+[a-z0-9.]*$ ]] || die "VERSION must look like 1.300071.0 or 1.300071.0b1234; got '$version'"
[ -f "$schema" ] || die "CloudWatch agent schema not found at $schema (set SPOTKIT_REFERENCE_DIR)"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found (Debian package dpkg)"

mkdir -p "$out"
stage=$(mktemp -d "${TMPDIR:-/tmp}/cwagent-double.XXXXXX")
trap 'rm -rf "$stage"' EXIT
agent=opt/aws/amazon-cloudwatch-agent

for arch in "${archs[@]}"; do
  case $arch in amd64 | arm64) ;; *) die "ARCH must be amd64 or arm64; got '$arch'" ;; esac
  root=$stage/$arch
  cp -a "$here/root" "$root"
  mkdir -p "$root/$agent"/{logs,var,doc,etc/amazon-cloudwatch-agent.d} "$root/usr/bin" "$root/etc/amazon" "$root/var/log/amazon"
  # One program, three names (it dispatches on its name); the shebang is added here so the
  # repository copy stays an ordinary module.
  for program in config-downloader config-translator amazon-cloudwatch-agent; do
    { echo '#!/usr/bin/python3'; cat "$here/src/cwagent_double.py"; } >"$root/$agent/bin/$program"
  done
  echo "$version" >"$root/$agent/bin/CWAGENT_VERSION"
  if dpkg --compare-versions "$version" ge "$journald_since"; then
    cp "$schema" "$root/$agent/doc/amazon-cloudwatch-agent-schema.json"
  else
    python3 - "$schema" "$root/$agent/doc/amazon-cloudwatch-agent-schema.json" <<'PY'
import json, sys
schema = json.load(open(sys.argv[1], encoding="utf-8"))
del schema["definitions"]["logsDefinition"]["properties"]["logs_collected"]["properties"]["journald"]
json.dump(schema, open(sys.argv[2], "w", encoding="utf-8"), indent=2, sort_keys=True)
PY
  fi
  printf 'TEST DOUBLE of the Amazon CloudWatch agent %s, built by spotkit.ec2 tests/doubles/cloudwatch_agent/build.sh.\nIt collects and ships nothing.\n' \
    "$version" >"$root/$agent/TEST-DOUBLE"
  # The links the real package ships.
  ln -s "/$agent/bin/amazon-cloudwatch-agent-ctl" "$root/usr/bin/amazon-cloudwatch-agent-ctl"
  ln -s "/$agent/etc" "$root/etc/amazon/amazon-cloudwatch-agent"
  ln -s "/$agent/logs" "$root/var/log/amazon/amazon-cloudwatch-agent"
  cat >"$root/DEBIAN/control" <<CONTROL
Package: amazon-cloudwatch-agent
Version: $version-1
Architecture: $arch
Section: admin
Priority: optional
Depends: libc6, python3, python3-jsonschema, procps
Maintainer: spotkit.ec2 tests <tests@spotkit.invalid>
Description: TEST DOUBLE of the Amazon CloudWatch Agent (spotkit.ec2 tests)
 Same package name, layout, amazon-cloudwatch-agent-ctl, unit and cwagent user as the real
 Amazon CloudWatch Agent, for tests where the real package cannot be downloaded.
 It collects and ships nothing.
CONTROL
  find "$root" -type d -exec chmod 0755 {} +
  find "$root" -type f -exec chmod 0644 {} +
  chmod 0755 "$root/$agent/bin"/{amazon-cloudwatch-agent,amazon-cloudwatch-agent-ctl,config-downloader,config-translator} \
    "$root/$agent/bin/start-amazon-cloudwatch-agent" "$root/DEBIAN"/{preinst,postinst,prerm}
  find "$root" -exec touch --no-dereference --date "@$SOURCE_DATE_EPOCH" {} +
  deb=$out/amazon-cloudwatch-agent_${version}-1_${arch}.test-double.deb
  dpkg-deb --root-owner-group -Zgzip --build "$root" "$deb" >/dev/null
  echo "$deb"
done
