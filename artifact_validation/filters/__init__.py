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
from artifact_validation.filters.waivers import (
    DEFAULT_WAIVER_DIRS,
    MAX_REASON_CHARS,
    MAX_WAIVER_DAYS,
    WaivedViolation,
    Waiver,
    Waivers,
    check_waivers,
    expired_message,
    load_waiver_file,
    load_waivers,
    parse_waiver,
    today_utc,
    waiver_paths,
)

__all__ = [
    "DEFAULT_FILTER_DIRS",
    "DEFAULT_WAIVER_DIRS",
    "Filter",
    "GENERATOR_CONFIG_NAME",
    "MAX_REASON_CHARS",
    "MAX_WAIVER_DAYS",
    "Matcher",
    "Violation",
    "WaivedViolation",
    "Waiver",
    "Waivers",
    "check_keys",
    "check_waivers",
    "component_regex",
    "dump_filter",
    "escape_glob",
    "expired_message",
    "filter_paths",
    "glob_lines",
    "glob_problem",
    "glob_to_regex",
    "load_filter_file",
    "load_filters",
    "load_waiver_file",
    "load_waivers",
    "parse_filter",
    "parse_waiver",
    "today_utc",
    "waiver_paths",
]
