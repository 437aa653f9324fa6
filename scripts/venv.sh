#!/usr/bin/env bash
# Create .venv and install requirements.txt into it; re-install only when the file changed.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "spotkit: Python 3.11 or later is needed (set PYTHON=/path/to/python3.x); $python is $("$python" --version 2>&1)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "spotkit: creating .venv with $("$python" --version)"
  "$python" -m venv .venv
fi
want=$(sha256sum requirements.txt | cut -d' ' -f1)
stamp=.venv/.requirements.sha256
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "spotkit: installing requirements.txt into .venv"
  # sed: drop the noise of find-links folders that some machines configure but do not have
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt 2>&1 | sed "/^WARNING: Location .* is ignored/d"
  echo "$want" >"$stamp"
fi
