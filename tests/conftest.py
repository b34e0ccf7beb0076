import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from hypothesis import settings

from pipelines.cli import DEMO_AS_OF
from pipelines.demo_data.export import generate
from pipelines.ingestion.secrets import DEMO_PASSWORD

TEST_KEY = "test-key-for-synthetic-data-only-0123456789"

# Property tests and fuzzing are deterministic in CI (the same examples every run, so a failure is reproducible and
# a pass means the same thing each time); `HYPOTHESIS_PROFILE=long pytest -m slow -k fuzz` explores far more, with
# fresh randomness, by hand; a mutation pass runs each mutant with the `mutation` profile's fewer fixed examples
# (docs/architecture/testing.md).
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("long", max_examples=2000, deadline=None)
settings.register_profile("mutation", derandomize=True, deadline=None, max_examples=25)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
#: how many mutated exports the fuzz test tries: a fixed set in CI, the profile's (many more) in the long profile
FUZZ_EXAMPLES = 60 if settings.default.max_examples <= 100 else settings.default.max_examples


def pseudonym(value: str, domain: str, key: str = TEST_KEY) -> str:
    """A published pseudonym computed here, independently of the pipeline: HMAC-SHA256 of ``domain:value``."""
    import hashlib
    import hmac

    return hmac.new(key.encode(), f"{domain}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


@pytest.fixture(scope="session")
def small_landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("landing")
    generate("small", 3, out, DEMO_AS_OF)
    return out


#: a guard against a hang, not a verdict on speed: on a slow, busy machine the small demo on Dagster's multiprocess
#: executor (a process start per step, before pipelines/step_workers.py) took more than ten minutes and failed a suite
#: that had nothing wrong
RUN_TIMEOUT = 1800


def run_cli(
    *args: str,
    key: str | None = TEST_KEY,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    umask: int | None = None,
    koski_password: str | None = DEMO_PASSWORD,
) -> subprocess.CompletedProcess:
    """The command line in a process of its own, with the test key and the demo's KOSKI password (the demo's
    reports are encrypted with it) unless told otherwise."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TIEDOLLA_")}, **(env or {})}
    if key:
        env["TIEDOLLA_PSEUDONYM_KEY"] = key
    if koski_password:
        env.setdefault("TIEDOLLA_KOSKI_PASSWORD", koski_password)
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=RUN_TIMEOUT,
        cwd=cwd,
        preexec_fn=None if umask is None else lambda: os.umask(umask),
    )


@pytest.fixture(scope="session")
def small_run(small_landing, tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("warehouse")
    result = run_cli("run", "--landing", str(small_landing), "--warehouse", str(warehouse))
    return result, warehouse


def site_config(folder: Path, **changes) -> Path:
    """A copy of the shipped site configuration (its linked files by absolute path) with ``changes``."""
    import yaml

    from pipelines.site import DEFAULT_SITE_CONFIG

    site = yaml.safe_load(DEFAULT_SITE_CONFIG.read_text(encoding="utf-8"))
    here = DEFAULT_SITE_CONFIG.parent
    site["customer_segments"] = str(here / site["customer_segments"])
    site["student_years"]["cost_groups"] = str(here / site["student_years"]["cost_groups"])
    site["waivers"] = str(here / site["waivers"])
    site.update(changes)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    return path


def without_data_docs(folder: Path) -> Path:
    """For tests about something else: skip the Great Expectations step (about 5 s a run)."""
    return site_config(folder, reports={"data_docs": False})


@pytest.fixture(scope="session")
def network(tmp_path_factory, fast_env):
    """A network of three small providers, run once: (landing, provider ids, warehouse, the run's result)."""
    from pipelines.demo_data.network import generate_network

    landing = tmp_path_factory.mktemp("bench_landing")
    ids = generate_network(3, "small", 5, landing, DEMO_AS_OF, history=False)
    warehouse = tmp_path_factory.mktemp("bench_warehouse")
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), env=fast_env)
    assert result.returncode == 0, result.stderr
    return landing, ids, warehouse, result


@pytest.fixture(scope="session")
def fast_env(tmp_path_factory) -> dict[str, str]:
    """Environment for ``run_cli`` in tests about something other than the reports: no Data Docs step."""
    return {"TIEDOLLA_SITE_CONFIG": str(without_data_docs(tmp_path_factory.mktemp("fast_site")))}


class HeldWarehouse:
    """Another process's run, as far as the lock goes: holds ``<warehouse>/.run.lock`` from a thread until
    :meth:`release_after` lets go (use as a context manager)."""

    def __init__(self, warehouse: Path):
        import threading

        self.warehouse, self._held, self._release = warehouse, threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold)

    def _hold(self) -> None:
        from pipelines.publishing.warehouse import Warehouse

        with Warehouse(self.warehouse).lock("run"):
            self._held.set()
            self._release.wait(30)

    def release_after(self, seconds: float) -> None:
        import threading

        threading.Timer(seconds, self._release.set).start()

    def __enter__(self) -> "HeldWarehouse":
        self._thread.start()
        self._held.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self._thread.join()


def free_port() -> int:
    """A port on the loopback address nothing listens on now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, process: subprocess.Popen, seconds: float, what: str) -> None:
    """Return once ``url`` answers; fail saying ``what`` did not start if ``process`` ends or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except OSError:
            assert time.monotonic() < deadline and process.poll() is None, f"{what} did not start"
            time.sleep(0.5)
