#!/usr/bin/env bash
# ansible-test sanity on a copy of the tracked files, laid out as ansible_collections/spotkit/ec2
# (ansible-test requires that path). Runs with nothing ignored: tests/sanity/ignore-*.txt are empty.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=$root/.venv
stage=$root/.cache/sanity/ansible_collections/spotkit/ec2
# ansible-test keeps its virtualenvs and downloads under ~/.ansible/test, with no setting to move
# them: it runs with a home of its own in the checkout's .cache.
home=$root/.cache/ansible-test-home

# ansible-test downloads its pip bootstrap script from a host that may be unreachable;
# give it a local one (it looks in this cache first).
pip_version=$("$venv/bin/python" -c 'from ansible_test._internal.python_requirements import get_venv_packages
class P: version = "3.11"
print(get_venv_packages(P)["pip"])' 2>/dev/null || echo 24.2)
cache=$home/.ansible/test/cache
mkdir -p "$cache"
if [ ! -f "$cache/pip-$pip_version-py3-none-any.whl" ]; then
  "$venv/bin/pip" download --quiet --no-deps --only-binary=:all: -d "$cache" "pip==$pip_version"
fi
cp scripts/ansible_test_get_pip.py "$cache/get_pip_${pip_version//./_}.py"

rm -rf "$stage"
mkdir -p "$stage"
# collections/ is the development link back to this checkout: not part of the collection.
git ls-files -co --exclude-standard -z | grep -zv '^collections/' | tar --null -T - -c | tar -x -C "$stage"
# Modules of this collection build on amazon.aws (module_utils, doc fragments): ansible-test finds
# dependencies next to the collection, so link the installed one there.
site=$("$venv/bin/python" -c 'import ansible, os; print(os.path.dirname(os.path.dirname(ansible.__file__)))')
mkdir -p "$stage/../../amazon"
ln -sfn "$site/ansible_collections/amazon/aws" "$stage/../../amazon/aws"
cd "$stage"
# Its own repository, or ansible-test would see the files as ignored ones of the checkout around it.
git init --quiet .
python_version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
HOME=$home "$venv/bin/ansible-test" sanity --requirements --venv --python "$python_version" --color no "$@"
