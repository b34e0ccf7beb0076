"""A network's run with ``--jobs`` against the sum of its providers' single runs: wall time and peak RSS.

    .venv/bin/python benchmarks/network_benchmark.py --providers 7 --size large --jobs 2

Each provider of a generated network is first run on its own (``tiedolla run`` on its folder, one after the
other), then the whole network with ``tiedolla run --jobs N``. Both are ``tiedolla`` processes, so both pay the same
interpreter and Dagster start. Peak RSS is the largest sum, over the process tree, of the resident memory of every
process (sampled from /proc every 0.2 s), since ``--jobs`` runs providers in processes of their own.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pipelines.cli import DEMO_AS_OF
from pipelines.demo_data.network import generate_network

KEY = "benchmark-key-not-secret-synthetic-data"


def _tree_rss_bytes(root: int) -> int:
    """Resident memory of ``root`` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [c for c, p in parents.items() if p == pid and c not in tree]
        tree.update(children)
        frontier += children
    total = 0
    for pid in tree:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total


def timed(command: list[str], output: Path | None = None) -> tuple[float, int, int]:
    """Wall seconds, peak tree RSS (bytes) and exit code of one command (its standard output kept in ``output``)."""
    start = time.perf_counter()
    out = open(output, "wb") if output else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL)
    peak, done = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_bytes(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    code = process.wait()
    done.set()
    sampler.join()
    if output:
        out.close()
    return time.perf_counter() - start, peak, code


def tiedolla(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", "run", *args]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--providers", type=int, default=7)
    parser.add_argument("--size", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--landing", type=Path, help="a network generated earlier (with --providers/--size ignored)")
    args = parser.parse_args()
    os.environ["TIEDOLLA_PSEUDONYM_KEY"] = KEY
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        landing = args.landing or tmp / "landing"
        if args.landing is None:
            t = time.perf_counter()
            generate_network(args.providers, args.size, 1, landing, DEMO_AS_OF, history=False)
            print(f"generate {args.providers} × {args.size}: {time.perf_counter() - t:.1f} s")
        ids = sorted(p.name for p in landing.iterdir() if p.is_dir())
        singles = []
        for pid in ids:
            seconds, rss, code = timed(
                tiedolla("--landing", str(landing / pid), "--warehouse", str(tmp / "single" / pid))
            )
            singles.append((seconds, rss))
            print(f"  single run {pid}: {seconds:6.1f} s, peak RSS {rss / 2**30:.2f} GiB, exit {code}")
        summary = tmp / "network_summary.txt"
        network, network_rss, code = timed(
            tiedolla("--landing", str(landing), "--warehouse", str(tmp / "network"), "--jobs", str(args.jobs)),
            summary,
        )
        single_sum = sum(s for s, _ in singles)
        largest = max(r for _, r in singles) / 2**30
        print(f"sum of the {len(ids)} single runs: {single_sum:.1f} s (largest peak RSS {largest:.2f} GiB)")
        print(f"network run, --jobs {args.jobs}: {network:.1f} s = {network / single_sum:.2f}× the sum, exit {code}")
        print(f"peak RSS of the network run (all its processes): {network_rss / 2**30:.2f} GiB")
        print(*(" ".join(line.split()) for line in summary.read_text().splitlines() if "benchlearning" in line))


if __name__ == "__main__":
    main()
