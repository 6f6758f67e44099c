"""Where the repository and the test data are."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
CORPUS = DATA / "corpus"
EARLIER = DATA / "earlier-validator"
EARLIER_FILTER_DIRS = [EARLIER / "validate_yamls", EARLIER / "generated_validate_yamls"]
