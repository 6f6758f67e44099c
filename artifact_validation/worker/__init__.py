"""The validate-artifact worker: the dispatch event, the run's outcome, and the steps
(validate, ownership, feedstock issue, publication).

May import ``core``, ``services``, ``filters`` and ``archive``.
"""

from __future__ import annotations

from artifact_validation.worker.event import (
    EVENT_TYPE,
    MAX_EVENT_BYTES,
    MAX_URL_LENGTH,
    ArtifactEvent,
    check_artifact_url,
    load_event,
    parse_event,
    parse_payload,
)
from artifact_validation.worker.outcome import (
    MAX_ISSUE_BODY,
    Outcome,
    issue_body,
    write_outcome,
)
from artifact_validation.worker.worker import (
    ISSUE_TITLE,
    Options,
    Services,
    Settings,
    artifact_check,
    run_event_file,
    run_worker,
    settings_from_env,
)

__all__ = [
    "ArtifactEvent",
    "EVENT_TYPE",
    "ISSUE_TITLE",
    "MAX_EVENT_BYTES",
    "MAX_ISSUE_BODY",
    "MAX_URL_LENGTH",
    "Options",
    "Outcome",
    "Services",
    "Settings",
    "artifact_check",
    "check_artifact_url",
    "issue_body",
    "load_event",
    "parse_event",
    "parse_payload",
    "run_event_file",
    "run_worker",
    "settings_from_env",
    "write_outcome",
]
