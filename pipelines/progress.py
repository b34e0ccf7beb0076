"""Concise progress for the command line: only what the assets say, one line each."""

from __future__ import annotations

import logging
import sys

from dagster import logger


class _UserMessages(logging.Filter):
    """Keep the assets' own messages; drop Dagster's step and engine events."""

    def filter(self, record: logging.LogRecord) -> bool:
        meta = getattr(record, "dagster_meta", None) or {}
        return meta.get("dagster_event") is None


@logger(description="One line per message an asset logs, prefixed by its step.")
def progress_logger(_init_context):
    log = logging.getLogger("tiedolla.progress")
    log.setLevel(logging.INFO)
    log.propagate = False
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(_UserMessages())
        handler.setFormatter(_StepFormatter())
        log.addHandler(handler)
    return log


class _StepFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        step = (meta.get("step_key") or "").replace("student_admin__", "")
        message = meta.get("orig_message") or record.getMessage()
        level = "" if record.levelno <= logging.INFO else f"{record.levelname.lower()}: "
        return f"  [{step:<28}] {level}{message}"
