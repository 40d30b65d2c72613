"""Reliability under judge faults and under load, through every judging path.

    .venv/bin/python benchmarks/faults.py [--pairs 2000] [--fault-rate 0.2] [--load-pairs 20000]

Faults: ``--pairs`` pairs through ``argen-judge score``, a real ``lm_eval`` run's judge filter and a
GRPO step's reward functions (``tests/fault_paths.py``), against the stub judge
(``tests/stub_judge_server.py``) answering ``--fault-rate`` of requests with a fault, spread evenly
over every kind (429 with Retry-After, 500, 503, connection reset, a hang past the client timeout,
an HTML body, truncated JSON, a non-JSON verdict, wrong types, out-of-range grades, an empty body).
Each path runs fault-free, then faulted with a fresh cache, then a second pass on that cache
against a fault-free stub, which must ask only for the pairs that ended in error.

Load: ``--load-pairs`` pairs through ``argen-judge score`` at concurrency ``--load-concurrency``
against a stub that only adds ``--load-latency`` (peak RSS and open descriptors sampled from
/proc; throughput against C/L), a file-descriptor leak check of the scoring API in this process,
and the lm-eval filter at concurrency ``--filter-concurrency``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from fault_paths import Client, PathRun, answered_tags, grpo_rewards, judge_cli, lm_eval_filter, pair_rows  # noqa: E402
from stub_judge_server import StubBehaviour, StubJudgeServer, spread  # noqa: E402

from argen_tasks.judges.openai_compat import OpenAIJudge, OpenAIJudgeOptions  # noqa: E402
from argen_tasks.policy import load_policy  # noqa: E402
from argen_tasks.scoring import ScoreItem, Scorer  # noqa: E402


def run_path(
    path: str, server: StubJudgeServer, pairs: int, work: Path, client: Client, tag: str, earlier: set[int] = set()
) -> PathRun:
    server.reset_counts()
    work.mkdir(parents=True, exist_ok=True)
    if path == "cli":
        return judge_cli(server, pair_rows(pairs), work, client, earlier)
    if path == "lm_eval":
        return lm_eval_filter(server, pair_rows(pairs), work, client, earlier)
    return grpo_rewards(server, pairs, client, earlier, tag=tag)


def faults(args: argparse.Namespace, work: Path) -> None:
    print(f"## Faults: {args.pairs} pairs a path, {args.fault_rate:.0%} of requests faulted over every kind\n")
    print("| path | pairs | crashes | fabricated scores | rows in error after retries | requests/pair "
          "| wall, faulted (s) | wall, fault-free (s) | faulted / fault-free | 2nd pass requests (cache on) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for path in args.paths:
        client = Client(concurrency=args.concurrency, timeout_s=args.timeout)
        with StubJudgeServer(StubBehaviour(latency_s=args.latency, keep_bodies=False)) as clean:
            base = run_path(path, clean, args.pairs, work / path / "clean", client, tag="clean")
            cached = Client(args.concurrency, args.timeout, cache=str(work / f"{path}-cache.sqlite"))
            faulty = StubBehaviour(
                latency_s=args.latency, fault_rates=spread(args.fault_rate), seed=args.seed,
                retry_after_s=args.retry_after, hang_s=args.hang, keep_bodies=False,
            )  # fmt: skip
            with StubJudgeServer(faulty) as server:
                run = run_path(path, server, args.pairs, work / path / "faulty", cached, tag="faulty")
                kinds, paid = dict(server.faults), answered_tags(server)
            second = run_path(path, clean, args.pairs, work / path / "faulty", cached, tag="faulty", earlier=paid)
        for r in (base, run, second):
            if r.crashed or r.detail:
                print(f"<!-- {r.path} crashed: {r.detail} -->")
        print(
            f"| {run.path} | {run.pairs} | {int(base.crashed) + int(run.crashed) + int(second.crashed)} | "
            f"{base.fabricated + run.fabricated + second.fabricated} | {run.errors} | {run.requests / run.pairs:.3f} | "
            f"{run.wall_s:.1f} | {base.wall_s:.1f} | {run.wall_s / base.wall_s:.2f} | {second.requests} (errored: {run.errors}) |"
        )
        print(f"<!-- {run.path}: stub replies by kind {json.dumps(kinds, sort_keys=True)}; "
              f"second pass: {second.errors} rows in error -->")  # fmt: skip


def load(args: argparse.Namespace, work: Path) -> None:
    capacity = args.load_concurrency / args.load_latency
    print(f"\n## Load: {args.load_pairs} pairs, concurrency {args.load_concurrency}, stub latency {args.load_latency} s\n")
    with StubJudgeServer(StubBehaviour(latency_s=args.load_latency, keep_bodies=False)) as server:
        source, output = work / "load.jsonl", work / "load-out.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in pair_rows(args.load_pairs)))
        start = time.perf_counter()
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "argen-judge"), "score", str(source), "-o", str(output),
             "--judge", "openai:stub", "--judge-base-url", server.base_url, "--judge-cache", "off",
             "--judge-concurrency", str(args.load_concurrency), "--judge-timeout", "60", "--max-error-rate", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ | {"OPENAI_API_KEY": "sk-stub"},
        )  # fmt: skip
        peak_rss_kib, peak_fds = 0, 0
        while process.poll() is None:
            peak_rss_kib = max(peak_rss_kib, _status_kib(process.pid, "VmHWM"))
            peak_fds = max(peak_fds, _fds(process.pid))
            time.sleep(0.25)
        wall = time.perf_counter() - start
        stats = server.stats()
    rows = [json.loads(line) for line in output.open()] if output.exists() else []
    errors = sum(r["verdict"]["error"] is not None for r in rows)
    print(f"- argen-judge score: exit {process.returncode}, {len(rows)} rows, {errors} errors, "
          f"{stats['total']} requests, max in flight {stats['max_in_flight']}")  # fmt: skip
    print(f"- wall {wall:.1f} s (start-up and output included): {args.load_pairs / wall:.1f} pairs/s = "
          f"{args.load_pairs / wall / capacity:.1%} of C/L = {capacity:.0f} pairs/s")  # fmt: skip
    print(f"- peak RSS {peak_rss_kib / 1024:.0f} MiB; peak open descriptors {peak_fds} (sampled every 0.25 s)")
    before, after = fd_leak(args.leak_pairs, args.load_concurrency)
    print(f"- scoring API in this process, {args.leak_pairs} pairs x 3 rounds at concurrency {args.load_concurrency}: "
          f"open descriptors {before} before, {after} after each round")  # fmt: skip
    filter_capacity = args.filter_concurrency / args.filter_latency
    with StubJudgeServer(StubBehaviour(latency_s=args.filter_latency, keep_bodies=False)) as server:
        run = lm_eval_filter(server, pair_rows(args.pairs), work / "filter-load", Client(args.filter_concurrency, 60.0))
    judge_s = run.judge_s or float("nan")
    print(f"- lm-eval judge filter, {run.pairs} pairs at concurrency {args.filter_concurrency}, latency "
          f"{args.filter_latency} s: judging phase {judge_s:.1f} s = {run.pairs / judge_s:.1f} pairs/s = "
          f"{run.pairs / judge_s / filter_capacity:.1%} of C/L = {filter_capacity:.0f} pairs/s; "
          f"crashed {run.crashed}, errors {run.errors}, fabricated {run.fabricated}")  # fmt: skip


def fd_leak(pairs: int, concurrency: int) -> tuple[int, list[int]]:
    """Open descriptors of this process before and after rounds of scoring against a stub in its own process."""
    stub = subprocess.Popen([sys.executable, str(TESTS / "stub_judge_server.py"), "--latency", "0.05"],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        base_url = stub.stdout.readline().strip()
        httpx.get(base_url.removesuffix("/v1") + "/stats", timeout=10).raise_for_status()
        judge = OpenAIJudge(OpenAIJudgeOptions(model="stub", base_url=base_url, api_key="sk-stub", concurrency=concurrency))
        scorer = Scorer(judge, load_policy(), None)
        before, after = _fds(os.getpid()), []
        for round_ in range(3):
            items = [ScoreItem(r["prompt"] + f" round {round_}", r["response"], r["tier"]) for r in pair_rows(pairs)]
            verdicts = scorer.score_sync(items)
            assert all(v.error is None for v in verdicts)
            after.append(_fds(os.getpid()))
        return before, after
    finally:
        stub.terminate()
        stub.wait(timeout=30)


def _fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--paths", nargs="+", default=["cli", "lm_eval", "grpo"], choices=["cli", "lm_eval", "grpo"])
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--latency", type=float, default=0.05, help="stub latency of the fault runs (s)")
    parser.add_argument("--concurrency", type=int, default=64, help="judge concurrency of the fault runs")
    parser.add_argument("--timeout", type=float, default=2.0, help="client timeout (s); hangs last --hang")
    parser.add_argument("--hang", type=float, default=5.0)
    parser.add_argument("--retry-after", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--load-pairs", type=int, default=20000, help="0 skips the load figures")
    parser.add_argument("--load-concurrency", type=int, default=256)
    parser.add_argument("--load-latency", type=float, default=2.0)
    parser.add_argument("--leak-pairs", type=int, default=2000)
    parser.add_argument("--filter-concurrency", type=int, default=64)
    parser.add_argument("--filter-latency", type=float, default=0.5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="argen-faults-") as tmp:
        faults(args, Path(tmp))
        if args.load_pairs:
            load(args, Path(tmp))


if __name__ == "__main__":
    main()
