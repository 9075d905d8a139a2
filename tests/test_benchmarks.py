"""The benchmark scripts still run and print complete, numeric tables (they are how BENCHMARKS.md
is produced, and nothing else would notice them breaking). Tiny sizes: this checks the plumbing, not
the speed."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
NUMBER = r"\d+(\.\d+)?"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_rows(output: str, first_cell: str) -> list[list[str]]:
    rows = [line.strip("|").split("|") for line in output.splitlines() if line.startswith(f"| {first_cell}")]
    return [[cell.strip() for cell in row] for row in rows]


def test_overhead_reports_zoo_and_floor_against_the_raw_loop(capsys):
    overhead = load("overhead")
    overhead.main(["--cases", "toy", "--steps", "4", "--block", "2", "--warmup", "2", "--zoo-trainer", "bare"])
    (row,) = table_rows(capsys.readouterr().out, "toy")
    assert row[:4] == ["toy", "512", "4", "2"]
    assert all(re.fullmatch(NUMBER, cell) for cell in row[4:]), row
    raw_it_s, zoo_it_s, median_ratio, total_ratio = float(row[4]), float(row[5]), float(row[7]), float(row[8])
    assert total_ratio == pytest.approx(raw_it_s / zoo_it_s, rel=0.02)
    assert median_ratio > 0


def test_overhead_refuses_steps_that_do_not_fill_whole_blocks(capsys):
    with pytest.raises(SystemExit):
        load("overhead").main(["--cases", "toy", "--steps", "5", "--block", "2"])
    assert "--steps (5) must be a multiple of --block (2)" in capsys.readouterr().err


def test_models_times_a_paper_config(capsys):
    load("models").main(["--configs", "configs/aim/mnist.yaml", "--precision", "32", "--steps", "2",
                         "--warmup", "1"])
    (row,) = table_rows(capsys.readouterr().out, "configs/aim/mnist.yaml")
    assert row[1] == "AIM"
    assert re.fullmatch(NUMBER, row[-1]) and re.fullmatch(NUMBER, row[-2]), row


def test_data_loading_times_both_paths_on_genuine_idx_files(capsys):
    load("data_loading").main(["--num-images", "400", "--batch-size", "100", "--epochs", "2", "--workers", "0",
                               "--image-size", "28", "--device", "cpu"])
    out = capsys.readouterr().out
    (resident,) = table_rows(out, "resident TensorBatches")
    (loader,) = table_rows(out, "torchvision MNIST + DataLoader, 0 workers")
    for row in (resident, loader):
        assert row[1] == "28" and all(re.fullmatch(NUMBER, cell.replace(",", "")) for cell in row[2:5]), row


def test_threads_reports_the_speed_of_each_case(capsys):
    threads = load("threads")
    threads.main(["--cases", "alone:1", "--short", "5", "--long", "25"])
    (row,) = table_rows(capsys.readouterr().out, "alone:1")
    # Plumbing, not speed: 20 iterations drown in start-up noise, which the script reports as nan.
    assert row[:2] == ["alone:1", "1"] and (row[2] == "nan" or float(row[2]) > 0) and row[3] == "-"
