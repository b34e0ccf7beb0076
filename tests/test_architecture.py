"""The architecture, held still (quick): the layers import downwards only, the asset graph changes only when
someone means it to, and the code passes ruff's lint and format check (``[tool.ruff]`` in ``pyproject.toml``).

The layers are an import-linter contract in ``pyproject.toml`` (drawn in ``docs/architecture/README.md``). The asset
graph (every key with its group and upstream keys, every check with its asset and whether it blocks) is compared
with ``tests/snapshots/asset_graph.json``; after a deliberate change, rewrite it with
``TIEDOLLA_UPDATE_SNAPSHOTS=1 pytest tests/test_architecture.py`` and commit the diff with the change.
"""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from pipelines.definitions import defs
from pipelines.docs import LAYERS

PROJECT = Path(__file__).resolve().parent.parent
SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def test_the_layers_import_downwards_only():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--config", str(PROJECT / "pyproject.toml"), "--no-cache"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_the_drawn_layers_are_the_enforced_ones():
    config = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers"]
    assert [layer for layer, _ in LAYERS] == contract["layers"]


def _tool(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / name), *args], cwd=PROJECT, capture_output=True, text=True, timeout=300
    )


def test_the_code_passes_the_linter_and_is_formatted():
    lint = _tool("ruff", "check", "--no-cache", ".")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    formatted = _tool("ruff", "format", "--check", "--no-cache", ".")
    assert formatted.returncode == 0, "run `ruff format .`: " + formatted.stdout + formatted.stderr


def _graph() -> dict:
    graph = defs().resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "upstream": sorted(k.to_user_string() for k in node.parent_keys),
            "checks": sorted(
                f"{c.name} ({'blocking' if graph.get_check_spec(c).blocking else 'warns'})"
                for c in graph.get_check_keys_for_assets({key})
            ),
        }
    return assets


def test_the_asset_graph_is_the_one_in_the_snapshot():
    graph = _graph()
    if os.environ.get("TIEDOLLA_UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(graph, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    added, removed = sorted(graph.keys() - snapshot.keys()), sorted(snapshot.keys() - graph.keys())
    changed = sorted(k for k in graph.keys() & snapshot.keys() if graph[k] != snapshot[k])
    assert not (added or removed or changed), (
        f"the asset graph changed: added {added}, removed {removed}, changed {changed}; if that is meant, rewrite "
        "the snapshot (TIEDOLLA_UPDATE_SNAPSHOTS=1 pytest tests/test_architecture.py) and commit it"
    )
