"""The channel scan: build keys and shards, the state and its outputs, the file-list cache,
merging shards, the scanner, its reports and the mark-broken requests.

May import every layer below it: ``core``, ``services``, ``filters``, ``archive``, ``channel``.
"""

from __future__ import annotations

from artifact_validation.scan.admin_requests import (
    BrokenRequest,
    MarkBrokenResult,
    PullRequestApi,
    load_invalid,
    load_recorded,
    mark_broken,
    plan_requests,
    save_recorded,
)
from artifact_validation.scan.cache import (
    MAX_CACHE_SEGMENTS,
    FileListCache,
)
from artifact_validation.scan.keys import (
    MATCHER_SEMANTICS,
    Shard,
    filters_fingerprint,
    shard_of,
    stem_of_key,
)
from artifact_validation.scan.merge import (
    merge_states,
    new_invalid,
)
from artifact_validation.scan.report import (
    MAX_LISTED,
    MAX_PATHS,
    NEW_INVALID_TITLE,
    load_new_invalid,
    render_new_invalid,
    render_summary,
    report_new_invalid,
)
from artifact_validation.scan.scanner import (
    MergeSummary,
    ScanConfig,
    ScanProgress,
    ScanSummary,
    run_merge,
    run_scan,
    shard_output_dir,
    time_reserve,
)
from artifact_validation.scan.state import (
    ERRORS_NAME,
    MAX_REASON,
    OUTPUT_NAME,
    STATE_FORMAT,
    STATE_NAME,
    InvalidEntry,
    NewInvalid,
    OutputPaths,
    ScanState,
    load_state,
    parse_state,
    reason,
    remove_leftovers,
    render_errors,
    render_output,
    save,
)

__all__ = [
    "BrokenRequest",
    "ERRORS_NAME",
    "FileListCache",
    "InvalidEntry",
    "MATCHER_SEMANTICS",
    "MAX_CACHE_SEGMENTS",
    "MAX_LISTED",
    "MAX_PATHS",
    "MAX_REASON",
    "MarkBrokenResult",
    "MergeSummary",
    "NEW_INVALID_TITLE",
    "NewInvalid",
    "OUTPUT_NAME",
    "OutputPaths",
    "PullRequestApi",
    "STATE_FORMAT",
    "STATE_NAME",
    "ScanConfig",
    "ScanProgress",
    "ScanState",
    "ScanSummary",
    "Shard",
    "filters_fingerprint",
    "load_invalid",
    "load_new_invalid",
    "load_recorded",
    "load_state",
    "mark_broken",
    "merge_states",
    "new_invalid",
    "parse_state",
    "plan_requests",
    "reason",
    "remove_leftovers",
    "render_errors",
    "render_new_invalid",
    "render_output",
    "render_summary",
    "report_new_invalid",
    "run_merge",
    "run_scan",
    "save",
    "save_recorded",
    "shard_of",
    "shard_output_dir",
    "stem_of_key",
    "time_reserve",
]
