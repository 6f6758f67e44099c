"""Section 6 of the filters issue: reproduce the earlier validator, then beat it, on real data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from artifact_validation.core import load_file_list
from artifact_validation.filters import DEFAULT_FILTER_DIRS, Matcher, load_filters
from tests.support.paths import CORPUS, EARLIER_FILTER_DIRS, ROOT

LABELS = yaml.safe_load((CORPUS / "labels.yaml").read_text())


def _flagged(matcher: Matcher, key: str) -> dict[str, list[str]]:
    fl = load_file_list(CORPUS / "file-lists" / f"{key}.json")
    out: dict[str, list[str]] = {}
    for v in matcher.check(fl.name, fl.subdir, fl.paths):
        out.setdefault(v.filter, []).append(v.path)
    return out


@pytest.fixture(scope="module")
def earlier() -> Matcher:
    return Matcher(load_filters(EARLIER_FILTER_DIRS))


@pytest.fixture(scope="module")
def ours() -> Matcher:
    return Matcher(load_filters([ROOT / d for d in DEFAULT_FILTER_DIRS]))


@pytest.mark.parametrize("key", sorted(LABELS))
def test_earlier_filters_reproduce_labels(earlier: Matcher, key: str) -> None:
    """With the earlier validator's filters, each artifact gets exactly the labelled violations."""
    expected = {f: sorted(p) for f, p in LABELS[key]["earlier_validator_filters_flag"].items()}
    assert _flagged(earlier, key) == expected


@pytest.mark.parametrize("key", sorted(LABELS))
def test_our_filters_match_truth(ours: Matcher, key: str) -> None:
    """With our filters, every clobbering artifact is flagged and no clean one is."""
    flagged = _flagged(ours, key)
    assert bool(flagged) is (LABELS[key]["truth"] == "clobbers"), flagged


def test_corpus_is_complete() -> None:
    """Every labelled artifact has its file list in tests/data (a clean clone needs no shared/)."""
    for key in LABELS:
        assert Path(CORPUS / "file-lists" / f"{key}.json").is_file()
