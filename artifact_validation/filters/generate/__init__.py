"""The filter generator: config (``python_packages.yaml``, imports), file-list sources, the
pure precision rules, the generation engine, and writing its output.

May import ``core`` and ``filters``.
"""

from __future__ import annotations

from artifact_validation.filters.generate.config import (
    GENERATED_SUFFIX,
    PYTHON_SUFFIX,
    PythonPackage,
    load_imported,
    load_python_config,
    parse_python_config,
)
from artifact_validation.filters.generate.engine import (
    Dropped,
    Generation,
    Rule,
    generate,
)
from artifact_validation.filters.generate.output import (
    HEADER,
    MAX_DROPPED_SHOWN,
    Change,
    ChangeKind,
    render_filter,
    render_summary,
    write_generated,
)
from artifact_validation.filters.generate.rules import (
    JUNK_COMPONENTS,
    JUNK_EXCLUDES,
    JUNK_SUFFIXES,
    MIN_SHARE,
    SHARED_DIRECTORIES,
    SITE_PACKAGES_LAYOUTS,
    generalize,
    junk_reason,
    majority_paths,
    minimize,
    protects_shared_directory,
    python_globs,
)
from artifact_validation.filters.generate.sources import (
    CombinedSource,
    DirectorySource,
    FileListSource,
    owner_names,
)

__all__ = [
    "Change",
    "ChangeKind",
    "CombinedSource",
    "DirectorySource",
    "Dropped",
    "FileListSource",
    "GENERATED_SUFFIX",
    "Generation",
    "HEADER",
    "JUNK_COMPONENTS",
    "JUNK_EXCLUDES",
    "JUNK_SUFFIXES",
    "MAX_DROPPED_SHOWN",
    "MIN_SHARE",
    "PYTHON_SUFFIX",
    "PythonPackage",
    "Rule",
    "SHARED_DIRECTORIES",
    "SITE_PACKAGES_LAYOUTS",
    "generalize",
    "generate",
    "junk_reason",
    "load_imported",
    "load_python_config",
    "majority_paths",
    "minimize",
    "owner_names",
    "parse_python_config",
    "protects_shared_directory",
    "python_globs",
    "render_filter",
    "render_summary",
    "write_generated",
]
