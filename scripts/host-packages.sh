#!/usr/bin/env bash
# Host tools the suite needs besides Python: debootstrap (base images), shellcheck (ansible-test
# sanity), git, pebble and openssl (the sandbox's ACME CA and its TLS certificate). Installed from
# Debian's packages when missing and this is Debian and we are root.

set -euo pipefail

missing=()
for tool in debootstrap:debootstrap shellcheck:shellcheck git:git pebble:pebble openssl:openssl; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${tool%%:*}" ] || missing+=("${tool#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && [ -f /etc/debian_version ]; then
  echo "spotkit: installing host packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "spotkit: please install these packages, then retry: ${missing[*]}" >&2
  exit 1
fi
