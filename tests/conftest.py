"""Make the repository's `deploy` package (the local runner) importable by the top-level tests.

`deploy/` is not an installed workspace member (it is tooling, not shipped code), and pytest runs
with `--import-mode=importlib`, which does not put the repository root on `sys.path`.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
