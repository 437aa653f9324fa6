#!/usr/bin/env bash
# `make sandbox`: prepare a fresh machine (virtualenv, Docker engine, base images), then run
# `ansible-playbook site.yml` with the default inventory, which is the local sandbox.
# Arguments replace the playbook: `scripts/sandbox.sh playbooks/teardown.yml`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh
scripts/host-packages.sh
scripts/docker-engine.sh
scripts/base-images.sh
export PATH=$PWD/.venv/bin:$PATH
if [ ! -f site.yml ]; then
  echo "spotkit: site.yml does not exist yet: the tools and base images are ready, the sandbox itself is not built." >&2
  exit 1
fi
exec ansible-playbook "${@:-site.yml}"
