"""Where a run keeps the values passed between steps: pickles beside the warehouse, written atomically.

Every value is written to a temporary file and renamed into place, so a crash (even
SIGKILL) never leaves a half-written value for the next run to load. The files hold
unpublished rows (personal data): they are readable by the owner only.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

from dagster import ConfigurableIOManager, InputContext, OutputContext

from pipelines import failpoints


class RunStorage(ConfigurableIOManager):
    base_dir: str

    def _path(self, key_path: list[str]) -> Path:
        return Path(self.base_dir, *key_path)

    def handle_output(self, context: OutputContext, obj) -> None:
        path = self._path(context.asset_key.path)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        failpoints.reached(context.step_key)

    def load_input(self, context: InputContext):
        with open(self._path(context.upstream_output.asset_key.path), "rb") as f:
            return pickle.load(f)
