"""The default job's speed by CPU thread count, alone and beside a neighbour: the evidence for ``fit --threads``.

    python benchmarks/threads.py                    # the table of BENCHMARKS.md ("CPU threads")
    python benchmarks/threads.py --short 20 --long 60 --cases alone:1   # a quick look

Each case runs ``cli.py fit --config configs/aim/grid25.yaml`` as real processes, once for ``--short`` and
once for ``--long`` iterations (same seed); the difference of the two wall times is the time of
``long - short`` iterations, so start-up, data generation and the end-of-fit evaluation cancel out.
"alone:T" is one process with T threads; "pair:T" two identical processes started together, each with T
threads (the table gives the slower one's speed). "default" means no ``--threads`` and no
``OMP_NUM_THREADS``: the zoo's own choice.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ("alone:1", "alone:2", "alone:default", "pair:1", "pair:2", "pair:default")


def command(steps: int, threads: str, root_dir: str) -> list[str]:
    args = [sys.executable, str(ROOT / "cli.py"), "fit", "--config", "configs/aim/grid25.yaml",
            "--trainer.max_steps", str(steps), "--trainer.enable_progress_bar", "false", "--trainer.logger", "false",
            "--best_checkpoint", "none", "--trainer.default_root_dir", root_dir]
    return args + ([] if threads == "default" else ["--threads", threads])


def wall_times(processes: int, steps: int, threads: str, timeout: float) -> list[float]:
    """Wall time of each of ``processes`` identical fits started together."""
    env = {key: value for key, value in os.environ.items() if key not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        running = [subprocess.Popen(command(steps, threads, f"{folder}/{i}"), cwd=ROOT, env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(processes)]
        times = []
        for process in running:
            process.wait(timeout=timeout)
            if process.returncode != 0:
                raise SystemExit(f"a benchmark fit failed: {' '.join(command(steps, threads, folder))}")
            times.append(time.perf_counter() - start)
        return times


def measure(case: str, short: int, long: int, timeout: float) -> float:
    """Iterations per second of the slowest process of ``case``."""
    kind, _, threads = case.partition(":")
    processes = 2 if kind == "pair" else 1
    short_times = wall_times(processes, short, threads, timeout)
    long_times = wall_times(processes, long, threads, timeout)
    extra = max(long_times) - max(short_times)
    if extra <= 0:  # the short fit stalled longer than the long one: the machine is too noisy for this case
        return float("nan")
    return (long - short) / extra


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--short", type=int, default=200)
    parser.add_argument("--long", type=int, default=1200)
    parser.add_argument("--timeout", type=float, default=900, help="seconds per fit before giving up")
    options = parser.parse_args(argv)
    if options.long <= options.short:
        raise SystemExit("--long must be larger than --short")
    alone = {}
    print(f"| case | threads per process | it/s (slowest process) | share of the same threads alone |")
    print("|---|---|---|---|")
    for case in options.cases:
        kind, _, threads = case.partition(":")
        speed = measure(case, options.short, options.long, options.timeout)
        if kind == "alone":
            alone[threads] = speed
        share = f"{speed / alone[threads]:.2f}" if kind == "pair" and threads in alone else "-"
        print(f"| {case} | {threads} | {speed:.1f} | {share} |", flush=True)


if __name__ == "__main__":
    main()
