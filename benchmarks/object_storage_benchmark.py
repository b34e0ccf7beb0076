"""What a run costs with its landing area and warehouse on object storage, against the same run on local folders.

    .venv/bin/python benchmarks/object_storage_benchmark.py --size small
    .venv/bin/python benchmarks/object_storage_benchmark.py --landing DIR   # a landing generated earlier

Needs the test extra (moto's S3 server and boto3: ``pip install -e '.[test]'``). The server runs on the loopback
address, so the network costs nearly nothing: what is measured is the working copy's own work (listing, fetching,
uploading, the lock and the pointer's conditional writes), not a real store's latency or bandwidth.

Each line is one ``tiedolla run`` in a process of its own: on local folders (a first run, then one with nothing new),
then on the bucket with a cache of its own (a first run, then one with nothing new), and once more with nothing new
from an empty cache, as a pod that never ran here would (it checks out the whole current release first).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from network_benchmark import KEY, tiedolla, timed

from pipelines.cli import DEMO_AS_OF
from pipelines.demo_data.export import generate
from pipelines.object_storage import Bucket

BUCKET, REGION = "tiedolla-benchmark", "eu-north-1"


@contextmanager
def s3_server(port: int) -> Iterator[None]:
    """moto's S3 server on 127.0.0.1:``port``, with an empty bucket, while the block runs; this process's
    environment (and so each run's) reaches it."""
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=5)
            break
        except OSError:
            time.sleep(0.5)
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="benchmark",
        AWS_SECRET_ACCESS_KEY="benchmark",
        AWS_REGION=REGION,
        AWS_ALLOW_HTTP="true",
    )
    import boto3

    try:
        boto3.client("s3", endpoint_url=endpoint, region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield
    finally:
        server.terminate()
        server.wait(timeout=30)


def measure(landing: Path, work: Path) -> None:
    """Print each run's seconds and peak RSS, then the size of the warehouse in the bucket."""
    bucket = Bucket(f"s3://{BUCKET}/landing")
    for path in sorted(p for p in landing.rglob("*") if p.is_file()):
        bucket.upload(path, path.relative_to(landing).as_posix())
    local = ("--landing", str(landing), "--warehouse", str(work / "warehouse"))
    remote = ("--landing", f"s3://{BUCKET}/landing", "--warehouse", f"s3://{BUCKET}/warehouse")
    runs = [
        ("local folders, first run", local, None),
        ("local folders, nothing new", local, None),
        ("object storage, first run", remote, work / "cache"),
        ("object storage, nothing new", remote, work / "cache"),
        ("object storage, nothing new, from an empty cache", remote, work / "empty cache"),
    ]
    for what, where, cache in runs:
        if cache is not None:
            os.environ["TIEDOLLA_CACHE"] = str(cache)
        seconds, rss, code = timed(tiedolla(*where))
        print(f"{what:50} {seconds:6.1f} s  peak RSS {rss / 2**30:.2f} GiB  exit {code}")
    objects = Bucket(f"s3://{BUCKET}/warehouse").listing()
    size = sum(e.size for e in objects.values())
    print(f"the warehouse in the bucket: {len(objects)} objects, {size / 2**20:.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="small", choices=["small", "medium", "large"])
    parser.add_argument("--landing", type=Path, help="a landing folder generated earlier (--size is then ignored)")
    parser.add_argument("--port", type=int, default=5057, help="the S3 server's port on 127.0.0.1")
    args = parser.parse_args()
    os.environ["TIEDOLLA_PSEUDONYM_KEY"] = KEY
    with tempfile.TemporaryDirectory() as work, s3_server(args.port):
        if args.landing is None:
            generate(args.size, 1, Path(work) / "landing", DEMO_AS_OF)
        measure(args.landing or Path(work) / "landing", Path(work))


if __name__ == "__main__":
    main()
