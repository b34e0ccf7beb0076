"""The warehouse and the landing area on object storage: an S3 server (moto's, in a process of its own on the
loopback address) and Azure's Blob API (Azurite, Microsoft's emulator, from npm) hold them, and the command line runs,
rolls back and forgets there as on a local folder.

What a reader of the bucket sees is read from the bucket itself, following ``release.json`` as docs/bi.md tells a
reader to (pyarrow's own S3 filesystem, and DuckDB through fsspec): never from the working copy the command used.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import free_port, run_cli, wait_for_server

pytestmark = pytest.mark.slow

BUCKET = "tiedolla"
REGION = "eu-north-1"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """moto's S3 server on 127.0.0.1, with an empty bucket: the environment a command needs to reach it."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(f"{endpoint}/moto-api/", server, 60, "moto's S3 server")
    except AssertionError:
        server.kill()
        raise
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_ALLOW_HTTP": "true",
        "TIEDOLLA_CACHE": str(tmp_path_factory.mktemp("cache")),
    }
    import boto3

    boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    ).create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield env
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture
def aws(s3, monkeypatch):
    """This process reaches the server too (to look into the bucket as a reader does)."""
    for name, value in s3.items():
        monkeypatch.setenv(name, value)
    return s3


def _bucket(url: str):
    from pipelines.object_storage import Bucket

    return Bucket(url)


def _arrow_fs(env: dict):
    import pyarrow.fs

    return pyarrow.fs.S3FileSystem(
        endpoint_override=env["AWS_ENDPOINT_URL"],
        scheme="http",
        access_key=env["AWS_ACCESS_KEY_ID"],
        secret_key=env["AWS_SECRET_ACCESS_KEY"],
        region=REGION,
    )


def _upload(folder: Path, url: str) -> None:
    bucket = _bucket(url)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        bucket.upload(path, path.relative_to(folder).as_posix())


def _released(env: dict, url: str) -> tuple[str, dict[str, bytes]]:
    """A reader's view of a warehouse in the bucket, through pyarrow's S3 filesystem (``_read_release``)."""
    return _read_release(_arrow_fs(env), url.removeprefix("s3://"))


def _read_release(fs, prefix: str) -> tuple[str, dict[str, bytes]]:
    """The version ``release.json`` under ``prefix`` names, and each table's bytes, as a reader with pyarrow's
    filesystem ``fs`` finds them (following the pointer, as docs/bi.md says)."""
    with fs.open_input_stream(f"{prefix}/release.json") as stream:
        pointer = json.loads(stream.read())
    tables = {}
    for name, path in pointer["tables"].items():
        with fs.open_input_stream(f"{prefix}/{path}") as stream:
            tables[name] = stream.read()
    return pointer["version"], tables


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _local_release(warehouse: Path) -> dict[str, bytes]:
    pointer = json.loads((warehouse / "release.json").read_text())
    return {name: (warehouse / path).read_bytes() for name, path in pointer["tables"].items()}


@pytest.fixture(scope="module")
def on_s3(s3, network, fast_env):
    """The benchmark's network of three providers (run into a local folder by conftest) run again with its landing
    area and warehouse in the bucket."""
    landing, ids, _, _ = network
    env = {**s3, **fast_env}
    os.environ.update(s3)  # (this process uploads the landing area)
    try:
        _upload(landing, f"s3://{BUCKET}/landing")
    finally:
        for name in s3:
            os.environ.pop(name)
    result = run_cli("run", "--landing", f"s3://{BUCKET}/landing", "--warehouse", f"s3://{BUCKET}/network", env=env)
    return result, env, ids


def test_a_network_on_object_storage_publishes_the_same_bytes_as_in_a_local_folder(network, on_s3, aws):
    (_, _, local, _), (result, env, ids) = network, on_s3
    assert result.returncode == 0, result.stderr
    for where in [f"provider={pid}" for pid in ids] + ["network"]:
        version, tables = _released(env, f"s3://{BUCKET}/network/{where}")
        expected = _local_release(local / where)
        assert set(tables) == set(expected) and tables, where
        different = [name for name in tables if _digest(tables[name]) != _digest(expected[name])]
        assert not different, f"{where}: {different} differ from the local folder's"
    listing = _bucket(f"s3://{BUCKET}/network").listing()
    assert not any(p.endswith((".run.lock", ".gathering")) or "/.staging/" in p for p in listing)
    assert not any(p.endswith("published") or p.endswith("tiedolla.duckdb") and "versions/" not in p for p in listing)


def test_duckdb_reads_the_released_tables_from_the_bucket(on_s3, aws):
    """DuckDB (through an fsspec filesystem: its httpfs extension would have to be downloaded) reads a provider's
    released table from the bucket as docs/bi.md says: the path from release.json, then read_parquet."""
    import duckdb
    from obstore.fsspec import FsspecStore

    result, env, ids = on_s3
    where = f"s3://{BUCKET}/network/provider={ids[0]}"
    con = duckdb.connect()
    con.register_filesystem(FsspecStore("s3", client_options={"allow_http": True}))  # (the endpoint: AWS_ENDPOINT_URL)
    con.execute(
        f"SET VARIABLE t = (SELECT '{where}/' || tables.fact_study_right FROM read_json('{where}/release.json'))"
    )
    rows = con.execute("SELECT count(*) FROM read_parquet(getvariable('t'))").fetchone()[0]
    assert rows > 0


def _versions(url: str) -> set[str]:
    return {p.split("/")[1] for p in _bucket(url).listing() if p.startswith("versions/")}


def test_rollback_and_forget_on_object_storage(on_s3, aws, network, fast_env):
    """A second release, a rollback to the first (a reader of the bucket sees it whole), and a person forgotten
    from every kept version in the bucket, from a machine whose cache is empty (it shares no disk with the last)."""
    (landing, _, _, _), (_, env, ids) = network, on_s3
    where = f"s3://{BUCKET}/network/provider={ids[0]}"
    first, first_tables = _released(env, where)
    again = run_cli(
        "run", "--landing", f"s3://{BUCKET}/landing", "--warehouse", f"s3://{BUCKET}/network", "--full", env=env
    )
    assert again.returncode == 0, again.stderr
    second, _ = _released(env, where)
    assert second != first and {first, second} <= _versions(where)

    elsewhere = {**env, "TIEDOLLA_CACHE": env["TIEDOLLA_CACHE"] + "-elsewhere"}
    rolled = run_cli("rollback", "--warehouse", where, env=elsewhere)
    assert rolled.returncode == 0, rolled.stderr
    assert _released(env, where) == (first, first_tables)
    assert json.loads(_bucket(where).read("manifest.json")[0])["run_id"] == first

    student = _first_student(landing / ids[0])
    run_storage = f".dagster/storage/partition={ids[0]}/"  # (the network's, beside the provider's warehouse)
    assert any(p.startswith(run_storage) for p in _bucket(f"s3://{BUCKET}/network").listing())
    forgot = run_cli("forget", "--warehouse", where, "--student-number", student, env=elsewhere)
    assert forgot.returncode == 0, forgot.stderr
    assert not any(p.startswith(run_storage) for p in _bucket(f"s3://{BUCKET}/network").listing())
    for version in (first, second):
        assert f"versions/{version}/dim_student: 1" in forgot.stdout
    fs = _arrow_fs(env)
    for version in (first, second):
        before = pq.read_table(f"{where.removeprefix('s3://')}/versions/{version}/dim_student.parquet", filesystem=fs)
        assert before.num_rows == pq.read_table(io.BytesIO(first_tables["dim_student"])).num_rows - 1
    again = run_cli("forget", "--warehouse", where, "--student-number", student, env=env)
    assert again.returncode == 1  # (this machine's copy is behind: it fetches what the other machine wrote)


def _first_student(landing: Path) -> str:
    students = sorted(landing.glob("student_admin/*/opiskelijat.csv"))[-1]
    return students.read_text(encoding="utf-8-sig").splitlines()[1].split(";")[0]


def test_a_crash_in_the_middle_of_a_release_on_object_storage_leaves_the_previous_version_readable(
    s3, aws, network, fast_env, tmp_path
):
    """A run killed after uploading its version and before replacing release.json: a reader of the bucket sees the
    previous version whole; the half-released version is never offered; the next run (on another machine) takes
    over the dead run's lock, releases, and the half-released version goes."""
    landing, ids, _, _ = network
    url = f"s3://{BUCKET}/crash"
    env = {**s3, **fast_env, "TIEDOLLA_CACHE": str(tmp_path / "cache")}
    single = ["run", "--landing", f"s3://{BUCKET}/single", "--warehouse", url]
    _upload(landing / ids[1], f"s3://{BUCKET}/single")
    assert run_cli(*single, env=env).returncode == 0
    before = _released(env, url)

    killed = run_cli(*single, "--full", env={**env, "TIEDOLLA_FAILPOINT": "push:versions:kill"})
    assert killed.returncode == -9
    assert _released(env, url) == before
    listing = _bucket(url).listing()
    half = {p.split("/")[1] for p in listing if p.endswith("/.gathering")}
    assert len(half) == 1 and ".run.lock" in listing  # (uploaded, never released; the killed run's lock)
    listed = run_cli("rollback", "--warehouse", url, "--list", env={**env, "TIEDOLLA_CACHE": str(tmp_path / "b")})
    assert listed.returncode == 0 and half.pop() not in listed.stdout and before[0] in listed.stdout

    healthy = run_cli(*single, "--full", env={**env, "TIEDOLLA_CACHE": str(tmp_path / "c")})
    assert healthy.returncode == 0, healthy.stderr
    after = _released(env, url)
    assert after[0] != before[0] and after[1] == before[1]  # (a new version, the same tables)
    listing = _bucket(url).listing()
    assert not [p for p in listing if p.endswith((".gathering", ".run.lock"))]


def test_a_bucket_that_does_not_exist_is_named_in_words_and_nothing_runs(s3, small_landing, tmp_path):
    env = {**s3, "TIEDOLLA_CACHE": str(tmp_path / "cache")}
    for command in (
        ["run", "--landing", str(small_landing), "--warehouse", "s3://no-such-bucket/warehouse"],
        ["run", "--landing", "s3://no-such-bucket/landing", "--warehouse", str(tmp_path / "warehouse")],
        ["rollback", "--warehouse", "s3://no-such-bucket/warehouse", "--list"],
    ):
        done = run_cli(*command, env=env)
        assert done.returncode == 2, done.stderr
        assert "no-such-bucket" in done.stderr and "its bucket or container does not exist" in done.stderr
        assert "Traceback" not in done.stderr and "Debug source" not in done.stderr
    assert not (tmp_path / "warehouse").exists()


def test_a_second_writer_waits_for_the_lock_object_and_a_moved_release_is_refused(s3, aws, tmp_path):
    """The lock is a conditional write: a second holder is refused in words while the first holds it. A push whose
    release.json changed since its checkout releases nothing."""
    from pipelines.publishing.warehouse import WarehouseBusy
    from pipelines.publishing.working_copy import ReleaseMoved, checkout, locked, push

    bucket = _bucket(f"s3://{BUCKET}/locks")
    with locked(bucket):
        with pytest.raises(WarehouseBusy, match="is in use by pid"):
            with locked(bucket, wait_seconds=1.5):
                pass
    with locked(bucket):  # (let go: free again)
        pass

    bucket.create("release.json", json.dumps({"version": "a", "folder": "versions/a", "tables": {}}).encode())
    local = tmp_path / "copy"
    record = checkout(bucket, local)
    bucket.replace("release.json", b'{"version": "b", "folder": "versions/b", "tables": {}}', _tag(bucket))
    (local / "versions" / "c").mkdir(parents=True)
    (local / "versions" / "c" / "manifest.json").write_text("{}")
    (local / "release.json").write_text('{"version": "c", "folder": "versions/c", "tables": {}}')
    with pytest.raises(ReleaseMoved, match="another run released"):
        push(bucket, local, record)
    assert json.loads(bucket.read("release.json")[0])["version"] == "b"
    assert "versions/c/.gathering" in bucket.listing()  # (never offered; the next release prunes it)


def _tag(bucket) -> str:
    return bucket.read("release.json")[1]


def test_a_network_run_from_the_dagster_ui_works_on_the_bucket(s3, aws, network, tmp_path):
    """``dagster dev`` with its landing area and warehouse in the bucket (``TIEDOLLA_LANDING``,
    ``TIEDOLLA_WAREHOUSE``): a backfill of the providers and then the benchlearning, each run checking out what it
    needs into a cache of its own (nothing shared with the command line's) and pushing back, publish the same bytes
    as the network's run into a local folder; no lock is left behind."""
    from tests.served import backfill, finished, launch, serving, until

    landing, ids, local, _ = network
    _upload(landing, f"s3://{BUCKET}/ui-landing")
    where = f"s3://{BUCKET}/ui"
    settings = {
        **s3,
        "TIEDOLLA_LANDING": f"s3://{BUCKET}/ui-landing",
        "TIEDOLLA_WAREHOUSE": where,
        "TIEDOLLA_CACHE": str(tmp_path / "dagster-cache"),
    }
    with serving(tmp_path, landing, **settings) as port:
        backfill(port, ids)
        runs = until(port, lambda runs: finished(runs, "tiedolla", len(ids)), "the backfill's runs")
        assert {r["status"] for r in runs} == {"SUCCESS"}
        assert launch(port, "network") == "SUCCESS"
    for member in [f"provider={pid}" for pid in ids] + ["network"]:
        _, tables = _released(s3, f"{where}/{member}")
        expected = _local_release(local / member)
        assert tables and {n: _digest(t) for n, t in tables.items()} == {n: _digest(t) for n, t in expected.items()}
    assert not [p for p in _bucket(where).listing() if p.endswith((".run.lock", ".gathering", ".checkout.json"))]


@pytest.fixture(scope="module")
def azure(tmp_path_factory):
    """Azurite's Blob service on 127.0.0.1 with an empty container: the environment a command needs to reach it
    (obstore's own emulator settings)."""
    from azure.core.exceptions import ServiceRequestError
    from azure.storage.blob import BlobServiceClient

    from tests.services import AZURITE_ACCOUNT, AZURITE_KEY, azurite_blob

    port = free_port()
    location = tmp_path_factory.mktemp("azurite")
    server = subprocess.Popen(
        # (the Azure SDKs this test uses, to create the container and to read as a BI tool does (pyarrow's), speak a
        # newer API version than this Azurite knows: its own switch lets them through; obstore's calls, which the
        # commands make, were seen to work without it)
        [str(azurite_blob()), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(location)]
        + ["--skipApiVersionCheck"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    client = BlobServiceClient.from_connection_string(
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={endpoint}/{AZURITE_ACCOUNT};",
        retry_total=0,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                client.create_container(BUCKET)
                break
            except ServiceRequestError:
                assert time.monotonic() < deadline and server.poll() is None, "Azurite did not start"
                time.sleep(0.5)
        yield {
            "AZURE_STORAGE_USE_EMULATOR": "true",
            "AZURITE_BLOB_STORAGE_URL": endpoint,
            "AZURE_STORAGE_ACCOUNT_NAME": AZURITE_ACCOUNT,
            "AZURE_STORAGE_ACCOUNT_KEY": AZURITE_KEY,
            "TIEDOLLA_CACHE": str(tmp_path_factory.mktemp("azure-cache")),
        }
    finally:
        server.kill()  # (the emulator keeps nothing the tests need)
        server.wait(timeout=30)


def _azure_release(env: dict, url: str) -> tuple[str, dict[str, str]]:
    """A reader's view of a warehouse in the container, through pyarrow's own Azure filesystem: the version
    ``release.json`` names and each table's digest."""
    import pyarrow.fs

    fs = pyarrow.fs.AzureFileSystem(
        account_name=env["AZURE_STORAGE_ACCOUNT_NAME"],
        account_key=env["AZURE_STORAGE_ACCOUNT_KEY"],
        blob_storage_authority=env["AZURITE_BLOB_STORAGE_URL"].removeprefix("http://"),
        blob_storage_scheme="http",
    )
    version, tables = _read_release(fs, url.removeprefix("az://"))
    return version, {name: _digest(data) for name, data in tables.items()}


def test_a_network_on_azure_blob_storage_publishes_survives_a_crash_rolls_back_and_forgets(
    azure, network, fast_env, tmp_path, monkeypatch
):
    """Azure's Blob API (Azurite): the benchmark's network publishes the same bytes as into a local folder; a run
    killed between uploading its version and releasing it leaves that release readable; the next run, on another
    machine, takes over the lock and releases; a rollback and a forget from a third machine with an empty cache."""
    for name, value in azure.items():
        monkeypatch.setenv(name, value)
    landing, ids, local, _ = network
    _upload(landing, f"az://{BUCKET}/landing")
    url, env = f"az://{BUCKET}/network", {**azure, **fast_env}
    members = [f"provider={pid}" for pid in ids] + ["network"]
    command = ["run", "--landing", f"az://{BUCKET}/landing", "--warehouse", url]

    published = run_cli(*command, env=env)
    assert published.returncode == 0, published.stderr
    first = {member: _azure_release(env, f"{url}/{member}") for member in members}
    for member in members:
        expected = {name: _digest(data) for name, data in _local_release(local / member).items()}
        assert first[member][1] == expected, member

    killed = run_cli(*command, "--full", env={**env, "TIEDOLLA_FAILPOINT": "push:versions:kill"})
    assert killed.returncode == -9
    assert {member: _azure_release(env, f"{url}/{member}") for member in members} == first
    listing = _bucket(url).listing()
    assert ".run.lock" in listing and any(p.endswith("/.gathering") for p in listing)

    again = run_cli(*command, "--full", env={**env, "TIEDOLLA_CACHE": str(tmp_path / "second")})
    assert again.returncode == 0, again.stderr
    second = _azure_release(env, f"{url}/{members[0]}")
    assert second[0] != first[members[0]][0] and second[1] == first[members[0]][1]
    assert not [p for p in _bucket(url).listing() if p.endswith((".gathering", ".run.lock"))]

    third = {**env, "TIEDOLLA_CACHE": str(tmp_path / "third")}
    rolled = run_cli("rollback", "--warehouse", f"{url}/{members[0]}", env=third)
    assert rolled.returncode == 0, rolled.stderr
    assert _azure_release(env, f"{url}/{members[0]}") == first[members[0]]
    student = _first_student(landing / ids[0])
    forgot = run_cli("forget", "--warehouse", f"{url}/{members[0]}", "--student-number", student, env=third)
    assert forgot.returncode == 0, forgot.stderr
    assert f"versions/{first[members[0]][0]}/dim_student: 1" in forgot.stdout
    assert _azure_release(env, f"{url}/{members[0]}")[1]["dim_student"] != first[members[0]][1]["dim_student"]
