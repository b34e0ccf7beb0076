"""Running a network landing area: each provider a run of its own, into its own hive folder, with its own key."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.demo_data.network import generate_network
from pipelines.publishing.pseudonyms import provider_key
from schemas.published import TABLES as PUBLISHED_TABLES
from tests.conftest import TEST_KEY, run_cli

AS_OF = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("network")
    return out, generate_network(2, "small", 1, out, AS_OF, history=False)


@pytest.fixture(scope="module")
def network_run(network, tmp_path_factory, fast_env):
    landing, ids = network
    warehouse = tmp_path_factory.mktemp("network_warehouse")
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), env=fast_env)
    return result, warehouse


def _digests(published: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(published.glob("*.parquet"))}


def test_each_provider_is_published_into_its_own_hive_folder(network, network_run):
    (_, ids), (result, warehouse) = network, network_run
    assert result.returncode == 0, result.stderr
    for pid in ids:
        assert len(_digests(warehouse / f"provider={pid}" / "published")) == len(PUBLISHED_TABLES)
        assert f"{pid:<30}" in result.stdout and "published" in result.stdout
    glob = str(warehouse / "*" / "published" / "fact_study_right.parquet")
    with duckdb.connect() as con:  # (its own connection: another test may have left the default one busy)
        query = f"SELECT provider, count(*) FROM read_parquet('{glob}', hive_partitioning = true) GROUP BY 1"
        per_provider = dict(con.sql(query).fetchall())
    assert set(per_provider) == set(ids) and all(n > 100 for n in per_provider.values())


def test_a_providers_figures_equal_a_single_run_of_its_folder(network, network_run, tmp_path, fast_env):
    (landing, ids), (_, warehouse) = network, network_run
    own = provider_key(TEST_KEY.encode(), ids[1]).decode()
    alone = tmp_path / "alone"
    result = run_cli("run", "--landing", str(landing / ids[1]), "--warehouse", str(alone), key=own, env=fast_env)
    assert result.returncode == 0, result.stderr
    assert _digests(alone / "published") == _digests(warehouse / f"provider={ids[1]}" / "published")


def test_the_same_student_number_at_two_providers_gets_two_unlinkable_pseudonyms(network, network_run):
    (landing, ids), (_, warehouse) = network, network_run
    numbers = [
        set((landing / pid / "student_admin" / AS_OF.isoformat() / "opiskelijat.csv").read_text("utf-8").split())
        for pid in ids
    ]
    assert numbers[0] & numbers[1]  # the generated providers number their students alike
    with duckdb.connect() as con:
        keys = [
            {
                row[0]
                for row in con.sql(
                    f"SELECT student_key FROM '{warehouse / f'provider={pid}' / 'published' / 'dim_student.parquet'}'"
                ).fetchall()
            }
            for pid in ids
        ]
    assert keys[0] and keys[1] and not keys[0] & keys[1]


def test_a_refused_provider_keeps_its_release_and_the_others_go_on(network, network_run, tmp_path, fast_env):
    (landing, ids), (_, warehouse) = network, network_run
    broken, copy = tmp_path / "landing", tmp_path / "warehouse"
    shutil.copytree(landing, broken)
    shutil.copytree(warehouse, copy, symlinks=True)
    before = _digests(copy / f"provider={ids[1]}" / "published")
    shutil.rmtree(broken / ids[1] / "student_admin")  # its student-administration export is gone
    shutil.rmtree(broken / ids[1] / "koski_bulk")  # and KOSKI's data of it: no student records at all
    result = run_cli("run", "--landing", str(broken), "--warehouse", str(copy), env=fast_env)
    assert result.returncode == 1
    assert f"{ids[1]}: " in result.stderr and "holds no student-administration export" in result.stderr
    summary = result.stdout[result.stdout.index("network of 2 providers") :]
    assert "NOT RUN" in summary and summary.count("published") >= 1
    assert _digests(copy / f"provider={ids[1]}" / "published") == before
    assert len(_digests(copy / f"provider={ids[0]}" / "published")) == len(PUBLISHED_TABLES)


def test_a_network_run_again_on_the_same_exports_says_each_provider_has_nothing_new(
    network, network_run, tmp_path, fast_env
):
    (landing, ids), (_, warehouse) = network, network_run
    copy = tmp_path / "warehouse"
    shutil.copytree(warehouse, copy, symlinks=True)
    before = {pid: _digests(copy / f"provider={pid}" / "published") for pid in ids}
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(copy), env=fast_env)
    assert result.returncode == 0, result.stderr
    summary = result.stdout[result.stdout.index("network of 2 providers") :]
    for pid in ids:
        line = next(line for line in summary.splitlines() if line.strip().startswith(pid))
        assert "nothing new: its published version" in line and line.rstrip().endswith("stays"), line
        assert _digests(copy / f"provider={pid}" / "published") == before[pid]


def test_a_network_is_not_run_into_a_single_providers_warehouse(network, tmp_path):
    landing, single = network[0], tmp_path / "single"
    single.mkdir()
    (single / "release.json").write_text('{"version": "run1", "folder": "versions/run1"}')  # (a single provider's)
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(single))
    assert result.returncode == 2 and "holds a single provider's release" in result.stderr


def test_a_network_makes_one_dagster_partition_per_provider(network, tmp_path):
    from pipelines.assets.network import NETWORK_ASSETS
    from pipelines.definitions import NETWORK_JOB, PIPELINE_JOB, make_definitions

    landing, ids = network
    defs = make_definitions(landing, tmp_path / "warehouse")
    assert defs.resolve_job_def(PIPELINE_JOB).partitions_def.get_partition_keys() == ids
    graph = defs.resolve_asset_graph()
    own = {key for a in NETWORK_ASSETS for key in a.keys}
    assert all(graph.get(key).partitions_def is not None for key in graph.get_all_asset_keys() - own)
    # the network's own assets (benchlearning) read every partition: unpartitioned, in a job of their own
    assert own and all(graph.get(key).partitions_def is None for key in own)
    assert defs.resolve_job_def(NETWORK_JOB).partitions_def is None
    steps = {node.name for node in defs.resolve_job_def(PIPELINE_JOB).nodes}
    assert steps and not {key.path[-1] for key in own} & steps
    single = make_definitions(landing / ids[0], tmp_path / "single").resolve_asset_graph()
    assert all(single.get(key).partitions_def is None for key in single.get_all_asset_keys())


def test_providers_run_at_once_with_jobs_publish_what_they_publish_one_after_the_other(
    network, network_run, tmp_path, fast_env
):
    (landing, ids), (_, one_by_one) = network, network_run
    at_once = tmp_path / "at_once"
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(at_once), "--jobs", "2", env=fast_env)
    assert result.returncode == 0, result.stderr
    for pid in ids:
        published = _digests(at_once / f"provider={pid}" / "published")
        assert len(published) == len(PUBLISHED_TABLES) and published == _digests(
            one_by_one / f"provider={pid}" / "published"
        )
    kept = [p for p in (at_once / ".dagster" / "storage").rglob("*") if p.suffix == ".arrow"]  # each provider's
    assert kept and {p.parent.relative_to(at_once / ".dagster" / "storage").parts[0] for p in kept} == {
        f"partition={pid}" for pid in ids
    }  # values apart, the owner's only
    assert {p.stat().st_mode & 0o777 for p in kept} == {0o600}


def test_jobs_must_be_a_number_of_providers(network, tmp_path):
    result = run_cli("run", "--landing", str(network[0]), "--warehouse", str(tmp_path / "w"), "--jobs", "0")
    assert result.returncode == 2 and "--jobs 0 is not a number of providers" in result.stderr


def test_the_public_demo_key_is_refused_for_a_network_outside_a_demo_warehouse(network, tmp_path):
    from pipelines.publishing.pseudonyms import DEMO_KEY

    result = run_cli("run", "--landing", str(network[0]), "--warehouse", str(tmp_path / "w"), key=DEMO_KEY)
    assert result.returncode == 2 and "the demo key is public" in result.stderr
    assert not (tmp_path / "w").exists() or not any((tmp_path / "w").rglob("*.parquet"))


def test_demo_network_generates_and_publishes_every_provider_beside_the_single_demo(tmp_path, fast_env):
    """The two demos live side by side in one folder (they broke each other: the network's providers.csv found
    the single demo's folders, and a run read the demo landing whatever it was given), in either order."""
    single = run_cli("demo", "--dir", str(tmp_path), key=None, env=fast_env)
    assert single.returncode == 0, single.stderr
    result = run_cli("demo", "--network", "--providers", "2", "--dir", str(tmp_path), key=None, env=fast_env)
    assert result.returncode == 0, result.stderr
    published = sorted(
        p.parent.parent.name for p in (tmp_path / "network" / "warehouse").glob("provider=*/published/dim_date.parquet")
    )
    assert published == ["provider=1.2.246.562.10.90000000001", "provider=1.2.246.562.10.90000000002"]
    assert "network of 2 providers" in result.stdout
    steps = [line for line in result.stderr.splitlines() if "[validate_student_admin" in line]
    assert steps and all(line.strip().startswith("1.2.246.562.10.9000000000") for line in steps)  # (interleaved)
    again = run_cli("demo", "--dir", str(tmp_path), key=None, env=fast_env)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "warehouse" / "published" / "dim_date.parquet").exists()
