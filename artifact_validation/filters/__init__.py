"""Filters: loading the YAML that says which paths belong to whom, the one-pass matcher, and
(``filters.generate``) generating filters from owners' file lists.

May import ``core`` only.
"""

from __future__ import annotations

from artifact_validation.filters.files import (
    DEFAULT_FILTER_DIRS,
    GENERATOR_CONFIG_NAME,
    Filter,
    check_keys,
    dump_filter,
    escape_glob,
    filter_paths,
    glob_lines,
    glob_problem,
    load_filter_file,
    load_filters,
    parse_filter,
)
from artifact_validation.filters.matcher import (
    Matcher,
    Violation,
    component_regex,
    glob_to_regex,
)

__all__ = [
    "DEFAULT_FILTER_DIRS",
    "Filter",
    "GENERATOR_CONFIG_NAME",
    "Matcher",
    "Violation",
    "check_keys",
    "component_regex",
    "dump_filter",
    "escape_glob",
    "filter_paths",
    "glob_lines",
    "glob_problem",
    "glob_to_regex",
    "load_filter_file",
    "load_filters",
    "parse_filter",
]
