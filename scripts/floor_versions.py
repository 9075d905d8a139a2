"""Print the oldest versions pyproject.toml allows of the packages whose floor CI tests, as pip requirements.

    python scripts/floor_versions.py          # lightning==2.5.5 torchmetrics==1.4.3

CI installs these over the main environment (``.ci/run``) and runs the tests that touch their surface, so a
declared floor is a tested floor.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

FLOOR_TESTED = ("lightning", "torchmetrics")
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def floors(text: str) -> list[str]:
    pins = []
    for name in FLOOR_TESTED:
        found = re.search(rf'"{re.escape(name)}(?:\[[^\]]*\])?>=([0-9][^",;\s]*)', text)
        if found is None:
            raise SystemExit(f"{PYPROJECT} declares no '{name}>=' floor")
        pins.append(f"{name}=={found.group(1)}")
    return pins


if __name__ == "__main__":
    print(" ".join(floors(PYPROJECT.read_text())))
    sys.exit(0)
