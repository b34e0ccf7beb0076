"""Concise progress for the command line: only what the assets say, one line each; the same lines in the run's log
file, and in a network each line names its provider (runs of several providers interleave)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from dagster import logger

LOGGER = "tiedolla.progress"
#: the provider a network's run is for: set by the command for the run (its step processes inherit it)
PROVIDER_VARIABLE = "TIEDOLLA_LOG_PROVIDER"


class _UserMessages(logging.Filter):
    """Keep the assets' own messages; drop Dagster's step and engine events."""

    def filter(self, record: logging.LogRecord) -> bool:
        meta = getattr(record, "dagster_meta", None) or {}
        return meta.get("dagster_event") is None


def _handler(handler: logging.Handler, with_time: bool = False) -> logging.Handler:
    handler.addFilter(_UserMessages())
    handler.setFormatter(_StepFormatter(with_time))
    return handler


@logger(description="One line per message an asset logs, prefixed by its step.")
def progress_logger(_init_context):
    log = logging.getLogger(LOGGER)
    log.setLevel(logging.INFO)
    log.propagate = False
    if not any(getattr(h, "tiedolla_console", False) for h in log.handlers):
        console = _handler(logging.StreamHandler(sys.stderr))
        console.tiedolla_console = True
        log.addHandler(console)
    return log


def log_to_file(path: Path) -> logging.Handler:
    """Write the run's progress lines (with the time) to ``path`` too, until :func:`stop_logging_to` it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = _handler(logging.FileHandler(path, encoding="utf-8"), with_time=True)
    os.chmod(path, 0o600)  # (a step's message may name a file or a rule of the unpublished data)
    logging.getLogger(LOGGER).addHandler(handler)
    return handler


def stop_logging_to(handler: logging.Handler) -> None:
    logging.getLogger(LOGGER).removeHandler(handler)
    handler.close()


class _StepFormatter(logging.Formatter):
    def __init__(self, with_time: bool = False):
        super().__init__()
        self.with_time = with_time

    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        step = (meta.get("step_key") or "").replace("student_admin__", "")
        message = meta.get("orig_message") or record.getMessage()
        level = "" if record.levelno <= logging.INFO else f"{record.levelname.lower()}: "
        provider = os.environ.get(PROVIDER_VARIABLE)
        who = f"{provider} " if provider else ""
        when = f"{self.formatTime(record, '%Y-%m-%d %H:%M:%S')} " if self.with_time else ""
        return f"{when}  {who}[{step:<28}] {level}{message}"
