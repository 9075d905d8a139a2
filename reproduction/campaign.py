"""``python cli.py reproduce``: train every (row, seed) of a paper table, evaluate it, write the results.

    python cli.py reproduce --list
    python cli.py reproduce aim-table2 --seeds 5 --jobs 2           # results/aim-table2.json, as it goes
    python cli.py reproduce ring8 --rows AIM (ours),ALI --max_steps 5000
    python cli.py reproduce --render                                 # RESULTS.md / README.md from results/

Each run is a separate process (:mod:`reproduction.worker`): ``cli.py fit`` on the row's config with
``seed_everything`` and the data seed set to the run's seed, then the table's evaluation protocol on
the checkpoint it names. The results file holds, per cell (row x dataset), the spec (config file and its
SHA-256, overrides, budget, protocol), every seed's metrics with its commit, zoo version, device and wall
time, and the mean and sample standard deviation over seeds. Running the same command again skips
the runs already in the file, so an interrupted campaign continues where it stopped; a run is also taken
from another table's file when its spec is identical (dali-table2 shares aim-table2's runs).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from reproduction.tables import TABLES, Run, Table

ROOT = Path(__file__).resolve().parents[1]
SEP = " @ "  # cell key: "<row> @ <column>" (just "<row>" in one-column tables)


class ReproduceError(ValueError):
    """A bad argument or results file; the message says what to do."""


@dataclass(frozen=True)
class Job:
    table: Table
    row: str
    column: str
    run: Run
    seed: int
    budget: dict

    @property
    def cell(self) -> str:
        return cell_key(self.table, self.row, self.column)

    def spec(self) -> dict:
        return run_spec(self.table, self.column, self.run, self.budget)


def cell_key(table: Table, row: str, column: str) -> str:
    return row if len(table.columns) == 1 else f"{row}{SEP}{column}"


def config_sha256(config: str) -> str:
    path = ROOT / config
    if not path.is_file():
        raise ReproduceError(f"the config {config} of a table row does not exist (looked in {ROOT})")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_spec(table: Table, column: str, run: Run, budget: dict) -> dict:
    """What makes two runs the same experiment: a run is reused only when its spec is identical."""
    return {"config": run.config, "config_sha256": config_sha256(run.config), "overrides": list(run.overrides),
            "budget": dict(budget), "protocol": table.column(column).protocol.as_dict()}


# ------------------------------------------------------------------------------------------ results files
def results_path(out: Path, table: Table) -> Path:
    return out / f"{table.name}.json"


def load_results(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ReproduceError(f"{path} is not valid JSON ({error}); move it away to start the table afresh") from None


def write_results(path: Path, results: dict) -> None:
    """Atomically: an interrupted write never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as handle:
        json.dump(results, handle, indent=1, sort_keys=True)
        handle.write("\n")
    os.replace(handle.name, path)


def summarize(runs: dict[str, dict], metric_keys: Iterable[str]) -> dict:
    """Mean and sample standard deviation (n - 1) of every metric over the seeds; std is 0 for one seed."""
    summary = {}
    for key in metric_keys:
        values = [run["metrics"][key] for run in runs.values() if run["metrics"].get(key) is not None]
        if not values:
            continue
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
        summary[key] = {"mean": mean, "std": std, "n": len(values)}
    return summary


def record_run(results: dict, job: Job, run: dict) -> None:
    table = job.table
    results.setdefault("table", table.name)
    results.setdefault("title", table.title)
    results.setdefault("source", table.source)
    cell = results.setdefault("cells", {}).setdefault(job.cell, {"row": job.row, "column": job.column,
                                                                 "spec": job.spec(), "runs": {}})
    cell["runs"][str(job.seed)] = run
    cell["runs"] = dict(sorted(cell["runs"].items(), key=lambda item: int(item[0])))
    metric_keys = [metric.key for metric in table.column(job.column).metrics]
    cell["summary"] = summarize(cell["runs"], metric_keys)


def find_shared_run(out: Path, job: Job) -> tuple[str, dict] | None:
    """The same experiment (identical spec and seed) already measured for another table."""
    spec = job.spec()
    for path in sorted(out.glob("*.json")):
        if path.stem == job.table.name:
            continue
        try:
            other = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        for name, cell in other.get("cells", {}).items():
            run = cell.get("runs", {}).get(str(job.seed))
            if cell.get("spec") == spec and run is not None and "copied_from" not in run:
                return f"{path.stem}/{name}", run
    return None


# ------------------------------------------------------------------------------------------ planning
def select(kind: str, table: Table, names: list[str], wanted: str | None) -> list[str]:
    """The comma-separated ``wanted`` names (all of ``names`` when empty); an unknown one is a ReproduceError."""
    if not wanted:
        return names
    chosen = [name.strip() for name in wanted.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in names]
    if unknown:
        plural = {"row": "rows", "column": "columns (datasets)"}[kind]
        raise ReproduceError(f"--{kind}s: {table.name} has no {kind} {', '.join(map(repr, unknown))}; "
                             f"its {plural}: {', '.join(names)}")
    return chosen


def select_rows(table: Table, rows: str | None) -> list[str]:
    return select("row", table, [row.name for row in table.rows], rows)


def select_columns(table: Table, columns: str | None) -> list[str]:
    return select("column", table, [column.name for column in table.columns], columns)


def plan(table: Table, rows: str | None, seeds: int, budget: dict, results: dict, replace: bool,
         columns: str | None = None) -> list[Job]:
    """The (row, column, seed) runs still to do; refuses to mix specs within a cell unless ``replace``."""
    jobs = []
    wanted_columns = select_columns(table, columns)
    for row_name in select_rows(table, rows):
        row = table.row(row_name)
        for column in table.columns:
            if column.name not in wanted_columns:
                continue
            run = row.runs.get(column.name)
            if run is None:
                continue
            job0 = Job(table, row_name, column.name, run, 0, budget)
            cell = results.get("cells", {}).get(job0.cell)
            if cell is not None and cell["spec"] != job0.spec():
                if not replace:
                    raise ReproduceError(
                        f"{table.name} / {job0.cell}: the results file holds runs of another experiment "
                        f"({describe_spec(cell['spec'])}) than this command asks for ({describe_spec(job0.spec())}); "
                        "pass --replace to discard them, or --out another folder")
                del results["cells"][job0.cell]
                cell = None
            done = set(cell["runs"]) if cell else set()
            jobs += [Job(table, row_name, column.name, run, seed, budget) for seed in range(seeds)
                     if str(seed) not in done]
    # Seed by seed across the rows: a campaign stopped early leaves every row with as many seeds as possible.
    return sorted(jobs, key=lambda job: job.seed)


def describe_spec(spec: dict) -> str:
    budget = describe_budget(spec["budget"])
    changed = "" if spec["config_sha256"] == config_sha256(spec["config"]) else ", an earlier version of the file"
    return f"{spec['config']}{changed} {' '.join(spec['overrides'])} at {budget}".replace("  ", " ")


def describe_budget(budget: dict) -> str:
    if "max_steps" in budget:
        return f"{budget['max_steps']:,} iterations (reduced)"
    if "max_epochs" in budget:
        return f"{budget['max_epochs']} epochs (reduced)"
    return "the config's budget"


# ------------------------------------------------------------------------------------------ running
def threads_per_job(jobs: int, threads: int | None = None) -> int:
    """CPU threads of each run: ``--threads``, else the cores shared out among the ``--jobs`` runs (two runs
    that each take every core run many times slower than one alone)."""
    return threads if threads else max(1, (os.cpu_count() or 1) // jobs)


def launch(job: Job, runs_dir: Path, threads: int, data_dir: str | None = None) -> dict:
    """Train and evaluate one run in its own process; returns the worker's result (or a failure).

    ``data_dir`` says where this machine keeps the datasets; it is not part of the experiment's spec."""
    run_dir = runs_dir / job.table.name / slug(job.cell) / f"seed{job.seed}"
    spec = {"config": job.run.config, "overrides": list(job.run.overrides), "seed": job.seed, "budget": job.budget,
            "protocol": job.table.column(job.column).protocol.as_dict(), "run_dir": str(run_dir), "threads": threads,
            "data_dir": data_dir if job.table.column(job.column).reads_files else None}
    # A run not in the results file starts afresh: files of an interrupted attempt (its last.ckpt above all) would
    # make Lightning write last-v1.ckpt beside them, and the worker would measure the stale one.
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    result_file = run_dir / "result.json"
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    with open(run_dir / "log.txt", "w") as log:
        process = subprocess.run([sys.executable, "-m", "reproduction.worker", json.dumps(spec), str(result_file)],
                                 cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if process.returncode == 0 and result_file.is_file():
        return json.loads(result_file.read_text())
    tail = (run_dir / "log.txt").read_text(errors="replace").strip().splitlines()[-5:]
    return {"failed": f"exit status {process.returncode}; log {run_dir / 'log.txt'}: " + " | ".join(tail)}


def slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def run_table(table: Table, rows: str | None, seeds: int, jobs: int, out: Path, budget: dict, runs_dir: Path,
              replace: bool = False, threads: int | None = None, echo=print, data_dir: str | None = None,
              columns: str | None = None) -> list[str]:
    """Run what is missing of ``table``; writes ``out/<table>.json`` after every run. Returns the failures."""
    path = results_path(out, table)
    results = load_results(path)
    pending = plan(table, rows, seeds, budget, results, replace, columns)
    if replace:
        write_results(path, results)
    failures: list[str] = []
    to_train = []
    for job in pending:
        shared = find_shared_run(out, job)
        if shared is None:
            to_train.append(job)
            continue
        source, run = shared
        record_run(results, job, {**run, "copied_from": source})
        echo(f"{table.name} / {job.cell} seed {job.seed}: the same run as {source}")
    if len(to_train) < len(pending):
        write_results(path, results)
    if not to_train:
        echo(f"{table.name}: nothing to run ({path} is complete for these rows and seeds)")
        return failures
    threads = threads_per_job(jobs, threads)
    echo(f"{table.name}: {len(to_train)} runs, {jobs} at a time, {threads} CPU thread(s) each; "
         f"budget: {describe_budget(budget)}; results: {path}")
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures: dict[Future, Job] = {pool.submit(launch, job, runs_dir, threads, data_dir): job for job in to_train}
        done_count = 0
        while futures:
            finished, _ = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                job = futures.pop(future)
                done_count += 1
                result = future.result()
                prefix = f"[{done_count}/{len(to_train)}] {table.name} / {job.cell} seed {job.seed}"
                if "failed" in result:
                    failures.append(f"{prefix}: {result['failed']}")
                    echo(f"{prefix}: FAILED: {result['failed']}")
                    continue
                record_run(results, job, result)
                write_results(path, results)
                values = result["metrics"]
                if result.get("status", "finished") != "finished":
                    echo(f"{prefix}: {result['status']}")
                metrics = ", ".join(f"{metric.label} {values.get(metric.key, float('nan')):.{metric.digits}f}"
                                    for metric in table.column(job.column).metrics)
                echo(f"{prefix}: {metrics} ({result['train_seconds']:.0f} s)")
    return failures


# ------------------------------------------------------------------------------------------ command
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cli.py reproduce",
        description="Train every (row, seed) of a paper table, evaluate each run with the table's protocol and "
                    "write results/<table>.json as it goes; run again to continue an interrupted campaign.")
    p.add_argument("table", nargs="?", help="a table name from --list")
    p.add_argument("--list", action="store_true", help="print the tables, their rows, configs and protocols")
    p.add_argument("--render", action="store_true",
                   help="rewrite the measured tables of RESULTS.md and README.md from the result files")
    p.add_argument("--check", action="store_true", help="with --render: exit 1 if a file would change")
    p.add_argument("--rows", help="comma-separated row names (default: every row the zoo can run)")
    p.add_argument("--columns", help="comma-separated datasets of the table (default: every one), e.g. MNIST")
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    p.add_argument("--jobs", type=int, default=1, help="trainings at once, each with its share of the CPU threads")
    p.add_argument("--threads", type=int, help="CPU threads per run (default: the cores divided by --jobs)")
    p.add_argument("--out", default="results", help="folder of the result files (default results/)")
    p.add_argument("--runs_dir", default="runs/reproduce", help="where the runs' checkpoints and logs go")
    p.add_argument("--data_dir", help="where the image datasets are (passed as --data.data_dir; default: each "
                                      "config's own, usually data/); 2-D tables need none")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--max_steps", type=int, help="a reduced budget: training iterations per run")
    budget.add_argument("--max_epochs", type=int, help="a reduced budget: epochs per run")
    p.add_argument("--replace", action="store_true",
                   help="discard a cell's runs when they were made with another config, budget or protocol")
    return p


def command(args: Sequence[str]) -> int:
    from reproduction import render

    options = parser().parse_args(list(args))
    out = Path(options.out)
    if options.list:
        print(list_tables())
        return 0
    if options.render:
        changed = render.render_files(out, check=options.check)
        for path in changed:
            print(f"{'would change' if options.check else 'rendered'} {path}")
        return 1 if options.check and changed else 0
    if options.table is None:
        raise ReproduceError("name a table (python cli.py reproduce --list shows them), or pass --list or --render")
    if options.table not in TABLES:
        raise ReproduceError(f"unknown table {options.table!r}; known: {', '.join(TABLES)}")
    for name in ("seeds", "jobs", "threads", "max_steps", "max_epochs"):
        value = getattr(options, name)
        if value is not None and value < 1:
            raise ReproduceError(f"--{name} must be a positive integer, got {value}")
    budget = ({"max_steps": options.max_steps} if options.max_steps else
              {"max_epochs": options.max_epochs} if options.max_epochs else {})
    failures = run_table(TABLES[options.table], options.rows, options.seeds, options.jobs, out, budget,
                         Path(options.runs_dir), options.replace, options.threads,
                         data_dir=str(Path(options.data_dir).resolve()) if options.data_dir else None,
                         columns=options.columns)
    if failures:
        print(f"{len(failures)} run(s) failed; they are not in the results file and run again next time:",
              file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0


def list_tables() -> str:
    lines = []
    for table in TABLES.values():
        lines.append(f"{table.name}: {table.title} ({table.source})")
        for column in table.columns:
            protocol = column.protocol
            lines.append(f"  {column.name}: metrics {', '.join(m.key for m in column.metrics)}; "
                         f"evaluate --metrics {','.join(protocol.metrics)} --num_samples {protocol.num_samples} "
                         f"--split {protocol.split} on {protocol.checkpoint_file}"
                         + (f" ({protocol.note})" if protocol.note else ""))
        for row in table.rows:
            runs = [f"{column}: {run.config} {' '.join(run.overrides)}".strip() if run else f"{column}: no zoo model"
                    for column, run in row.runs.items()]
            lines.append(f"  - {row.name}{' (extra)' if row.extra else ''}: " + "; ".join(runs))
    return "\n".join(lines)


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def git_commit() -> str:
    """HEAD, with ``+dirty`` when tracked files differ from it (the run used uncommitted code)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("+dirty" if dirty else "")


def device_description(threads: int) -> str:
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} (CUDA)"
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {threads} thread(s) per run"
