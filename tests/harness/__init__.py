"""The test harness: the one way to run ansible-playbook (playbook.py) and the AWS emulator
(emulator.py, over sandbox/emulator/emulator_process.py), and the emulated account the
provisioning tests and benchmarks work in (aws.py).

Importable as `harness` once tests/ is on sys.path: tests/conftest.py, molecule/conftest.py and
the benchmarks put it there.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
