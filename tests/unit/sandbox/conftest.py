"""Make the sandbox role's filter plugins importable, as the role makes them available to its tasks."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "sandbox" / "roles" / "sandbox" / "filter_plugins"))
