"""Make the test doubles under tests/doubles importable, as they are when run as scripts."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles"))
