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


GPU_CHECK_SECTIONS = ("overhead", "models", "fid", "stacked_mnist")


def test_gpu_check_smoke_reports_every_section_with_numbers(tmp_path, capsys):
    """The GPU runbook's plumbing on the CPU: every section runs and writes its numbers to the JSON."""
    import json

    out = tmp_path / "gpu_check.json"
    load("gpu_check").main(["--smoke", "--out", str(out)])
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["smoke"] is True and report["environment"]["device_type"] == "cpu"
    assert report["environment"]["torch"] and report["commit"]
    assert set(report["sections"]) == set(GPU_CHECK_SECTIONS)
    for name, section in report["sections"].items():
        # ok, or partial with a reason for each item left out; never a failure on the CPU
        assert section["status"] in ("ok", "partial"), (name, section.get("error"), section.get("traceback"))
        assert all(item["reason"] for item in section.get("skipped", [])), name
        assert section["seconds"] > 0 and section["budget_s"] > 0
    overhead = report["sections"]["overhead"]["rows"]
    assert {(r["case"], r["precision"]) for r in overhead} >= {("toy", "32"), ("toy", "bf16"), ("dcgan32", "bf16")}
    assert all(r["zoo_it_s"] > 0 and r["raw_it_s"] > 0 and r["floor_over_raw_median"] > 0 for r in overhead)
    models = report["sections"]["models"]["rows"]
    assert models and all(r["it_s"] > 0 and r["images_s"] > 0 for r in models)
    assert {r["precision"] for r in models} == {"32", "bf16"}
    fid = report["sections"]["fid"]
    assert fid["label"] == "random-weight Inception (timing only, not a FID)" and "RANDOM" in fid["extractor"]
    assert fid["fake_done"] == fid["num_fake"] and fid["real_done"] == fid["num_real"]
    assert fid["end_to_end_s"] > 0 and fid["frechet_s"] > 0
    stacked = report["sections"]["stacked_mnist"]
    assert stacked["steps"] == stacked["checkpoint_step"] == 2 and stacked["model"] == "IVLSGAN"
    assert 1 <= stacked["modes"] <= 1000 and stacked["kl_to_uniform"] >= 0 and stacked["num_samples"] == 64
    # the readable report: printed, and written beside the JSON
    markdown = out.with_suffix(".md").read_text()
    for heading in GPU_CHECK_SECTIONS:
        assert f"## {heading}: " in printed and f"## {heading}: " in markdown
    assert "random-weight Inception (timing only, not a FID)" in markdown


def test_gpu_check_without_mnist_says_what_is_missing_and_runs_on(tmp_path, monkeypatch):
    import json

    gpu_check = load("gpu_check")
    ran = []
    monkeypatch.setitem(gpu_check.SECTION_FUNCTIONS, "overhead", lambda ctx, budget: ran.append(1) or {"rows": []})
    out, empty = tmp_path / "r.json", tmp_path / "no-data"
    gpu_check.main(["--sections", "stacked_mnist", "overhead", "--device", "cpu", "--data_dir", str(empty),
                    "--out", str(out)])
    sections = json.loads(out.read_text())["sections"]
    stacked = sections["stacked_mnist"]
    assert stacked["status"] == "skipped" and ran == [1] and sections["overhead"]["status"] == "ok"
    assert str(empty / "MNIST" / "raw") in stacked["reason"] and "train-images-idx3-ubyte" in stacked["reason"]
    assert "--data_dir" in stacked["reason"] and "ZOO_DATA_DIR" in stacked["reason"]


def test_gpu_check_reads_gzipped_mnist(tmp_path):
    import gzip

    import torch

    gpu_check = load("gpu_check")
    plain = tmp_path / "plain"
    load("data_loading").write_idx(plain, torch.zeros(3, 28, 28, dtype=torch.uint8), torch.arange(3))
    packed = tmp_path / "packed" / "MNIST" / "raw"
    packed.mkdir(parents=True)
    for path in (plain / "MNIST" / "raw").iterdir():
        (packed / f"{path.name}.gz").write_bytes(gzip.compress(path.read_bytes()))
    found, reason = gpu_check.find_mnist(tmp_path / "packed", tmp_path / "work")
    assert reason == "" and (found / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").read_bytes() == \
        (plain / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").read_bytes()
    assert gpu_check.find_mnist(plain, tmp_path / "work2") == (plain.absolute(), "")


def test_gpu_check_isolates_a_failing_section_and_time_boxes(tmp_path, monkeypatch):
    import json
    import time

    gpu_check = load("gpu_check")

    def broken(ctx, budget):
        raise RuntimeError("boom")

    monkeypatch.setitem(gpu_check.SECTION_FUNCTIONS, "fid", broken)
    monkeypatch.setitem(gpu_check.SECTION_FUNCTIONS, "models", lambda ctx, budget: {"note": "ran"})
    out = tmp_path / "r.json"
    gpu_check.main(["--sections", "fid", "models", "--device", "cpu", "--out", str(out)])
    sections = json.loads(out.read_text())["sections"]
    assert sections["fid"]["status"] == "failed" and sections["fid"]["error"] == "RuntimeError: boom"
    assert sections["models"]["status"] == "ok"
    with pytest.raises(gpu_check.SectionTimeout, match="hard limit"):
        with gpu_check.hard_deadline(0.05, "slow"):
            time.sleep(2)
