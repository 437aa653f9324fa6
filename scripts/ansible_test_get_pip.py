"""Offline stand-in for the get-pip.py bootstrap that ansible-test downloads.

ansible-test bootstraps pip into each of its virtual environments with a script fetched from
ci-files.testing.ansible.com, which is not reachable from every machine. This script takes the
same arguments but installs pip from a wheel stored beside it (see scripts/sanity.sh).
"""

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WHEELS = sorted(glob.glob(os.path.join(HERE, "pip-*-py3-none-any.whl")))
if not WHEELS:
    sys.exit("no pip wheel beside %s" % __file__)

# get-pip.py options that `pip install` does not know.
ARGS = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]

sys.path.insert(0, WHEELS[-1])
from pip._internal.cli.main import main as pip_main  # noqa: E402  pylint: disable=wrong-import-position

sys.exit(pip_main(["install", "--find-links", HERE] + ARGS))
