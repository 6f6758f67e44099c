"""Real packages stay valid: every corpus file list, built as a real package in both formats.

The install-image checks of issue 11 must not fire on what conda-forge really
ships; AV201 fires exactly on the artifacts labelled ``clobbers``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from artifact_validation.archive import validate_artifact
from artifact_validation.core import load_file_list
from artifact_validation.filters import Matcher, load_filters
from tests.support.builders import FORMATS, build_package
from tests.support.paths import CORPUS, ROOT

LABELS = yaml.safe_load((CORPUS / "labels.yaml").read_text(encoding="utf-8"))

#: Codes issue 11 added: none of them may fire on a real package.
NEW_CODES = {"AV305", "AV306", "AV307", "AV513", "AV514", "AV515", "AV516", "AV517", "AV606",
             "AV608"}  # fmt: skip


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_filters([ROOT / "validate_yamls", ROOT / "generated_validate_yamls"]))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("key", sorted(LABELS))
def test_corpus_package(tmp_path: Path, matcher: Matcher, key: str, fmt: str) -> None:
    """No new finding on a real file list; AV201 exactly when the label says it clobbers."""
    file_list = load_file_list(CORPUS / "file-lists" / f"{key}.json")
    index = file_list.index
    extra = {k: index[k] for k in ("noarch",) if index.get(k)}
    path = build_package(
        tmp_path / file_list.subdir,
        file_list.name,
        {p: b"x" for p in file_list.paths},
        version=file_list.version,
        build=file_list.build,
        subdir=file_list.subdir,
        fmt=fmt,
        index=extra,
    )
    verdict = validate_artifact(path, matcher=matcher, subdir=file_list.subdir)
    codes = {f.code.name for f in verdict.findings}
    assert codes & NEW_CODES == set(), verdict.to_json()
    assert ("AV201" in codes) is (LABELS[key]["truth"] == "clobbers"), verdict.to_json()
    assert codes <= {"AV201"}, verdict.to_json()
