"""``cli.py reproduce``: the table registry, a real 2-seed campaign at a tiny budget, its resume, runs shared
between tables, the spec guard, and the rendering of RESULTS.md from result files (including the check that
the committed RESULTS.md / README.md are exactly what the committed result files render)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

import cli
from reproduction import campaign, render, worker
from reproduction.tables import TABLES

ROOT = Path(__file__).resolve().parents[1]
PAPER_TABLES = ("aim-table1", "aim-table2", "dali-table1", "dali-table2", "ivgan-table1", "ivgan-table2",
                "ivgan-table3", "ivaae-table1", "ivaae-table2")


def test_every_paper_table_is_listed_with_its_rows_configs_and_protocol(capsys):
    assert cli.run_command_line(["reproduce", "--list"]) == 0
    listing = capsys.readouterr().out
    for name in (*PAPER_TABLES, "ring8"):
        assert f"\n{name}: " in "\n" + listing
    assert "- AIM (ours): Grid25: configs/aim/grid25.yaml" in listing
    assert "- VAEGAN: Grid25: configs/baselines/vaegan_grid25.yaml" in listing
    assert "- Unrolled GAN: StackedMNIST: configs/baselines/unrolledgan_stacked_mnist.yaml" in listing
    assert "no zoo model" not in listing  # every system of the papers' tables is a zoo model
    assert "evaluate --metrics modes --num_samples 2500 --split test on last.ckpt" in listing


def test_every_config_a_table_names_exists():
    for table in TABLES.values():
        for row in table.rows:
            for run in row.runs.values():
                if run is not None:
                    assert (ROOT / run.config).is_file(), f"{table.name} / {row.name}: {run.config}"


@pytest.mark.parametrize("args, message", [
    (["reproduce", "nope"], "unknown table 'nope'"),
    (["reproduce", "aim-table2", "--rows", "AIM"], "aim-table2 has no row 'AIM'"),
    (["reproduce", "aim-table2", "--seeds", "0"], "--seeds must be a positive integer"),
    (["reproduce"], "name a table"),
    (["reproduce", "aim-table1", "--columns", "SVHN"], "aim-table1 has no column 'SVHN'"),
])
def test_bad_arguments_are_one_error_line(args, message, capsys):
    assert cli.run_command_line(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def test_columns_select_datasets_and_data_dir_reaches_image_runs_only(tmp_path, monkeypatch):
    table = TABLES["aim-table1"]
    jobs = campaign.plan(table, "AIM", 2, {"max_steps": 5}, {}, replace=False, columns="MNIST")
    assert [(job.column, job.seed) for job in jobs] == [("MNIST", 0), ("MNIST", 1)]
    specs = []

    def no_training(command, **kwargs):
        specs.append(json.loads(command[3]))
        return campaign.subprocess.CompletedProcess(command, 1)

    monkeypatch.setattr(campaign.subprocess, "run", no_training)
    campaign.launch(jobs[0], tmp_path, threads=1, data_dir="/data")
    grid_job = campaign.plan(TABLES["aim-table2"], "AIM (ours)", 1, {}, {}, replace=False)[0]
    campaign.launch(grid_job, tmp_path, threads=1, data_dir="/data")
    monkeypatch.undo()
    image_args, grid_args = (worker.fit_arguments(spec) for spec in specs)
    assert image_args[image_args.index("--data.init_args.data_dir") + 1] == "/data"
    assert "--data.init_args.data_dir" not in grid_args  # the 2-D datamodules take no data_dir
    assert "data_dir" not in jobs[0].spec()  # where this machine keeps data does not make another experiment


@pytest.fixture(scope="module")
def campaign_dir(tmp_path_factory) -> Path:
    """aim-table2's AIM row, seeds 0 and 1, 20 iterations each: two real training processes at once (--jobs 2)."""
    out = tmp_path_factory.mktemp("results")
    failures = campaign.run_table(TABLES["aim-table2"], "AIM (ours)", 2, 2, out, {"max_steps": 20},
                                  out / "runs", threads=1, echo=lambda line: None)
    assert failures == []
    return out


def test_a_two_seed_run_writes_per_seed_metrics_and_their_mean_and_std(campaign_dir):
    results = json.loads((campaign_dir / "aim-table2.json").read_text())
    cell = results["cells"]["AIM (ours)"]
    assert set(cell["runs"]) == {"0", "1"}
    assert cell["spec"]["config"] == "configs/aim/grid25.yaml"
    assert cell["spec"]["budget"] == {"max_steps": 20}
    assert cell["spec"]["protocol"]["num_samples"] == 2500
    for run in cell["runs"].values():
        assert run["steps"] == 20
        assert 0 <= run["metrics"]["modes/captured"] <= 25 and 0 <= run["metrics"]["modes/high_quality"] <= 100
        assert run["commit"] and run["device"] and run["zoo_version"] and run["train_seconds"] > 0
    values = [run["metrics"]["modes/high_quality"] for run in cell["runs"].values()]
    summary = cell["summary"]["modes/high_quality"]
    assert summary["n"] == 2
    assert summary["mean"] == pytest.approx(sum(values) / 2)
    assert summary["std"] == pytest.approx(abs(values[0] - values[1]) / math.sqrt(2))
    # The seeds are the runs' seeds: two different seeds give two different trainings.
    assert cell["runs"]["0"]["metrics"] != cell["runs"]["1"]["metrics"]


def test_running_again_continues_where_the_campaign_stopped(campaign_dir):
    before = json.loads((campaign_dir / "aim-table2.json").read_text())["cells"]["AIM (ours)"]["runs"]
    lines: list[str] = []
    failures = campaign.run_table(TABLES["aim-table2"], "AIM (ours)", 3, 1, campaign_dir, {"max_steps": 20},
                                  campaign_dir / "runs", threads=1, echo=lines.append)
    assert failures == []
    assert lines[0].startswith("aim-table2: 1 runs")  # seeds 0 and 1 are not trained again
    after = json.loads((campaign_dir / "aim-table2.json").read_text())["cells"]["AIM (ours)"]["runs"]
    assert set(after) == {"0", "1", "2"} and {k: after[k] for k in ("0", "1")} == before
    lines.clear()
    campaign.run_table(TABLES["aim-table2"], "AIM (ours)", 3, 1, campaign_dir, {"max_steps": 20},
                       campaign_dir / "runs", threads=1, echo=lines.append)
    assert lines == [f"aim-table2: nothing to run ({campaign_dir / 'aim-table2.json'} is complete for these rows "
                     "and seeds)"]


def test_another_budget_is_refused_unless_replaced(campaign_dir):
    with pytest.raises(campaign.ReproduceError, match="pass --replace"):
        campaign.plan(TABLES["aim-table2"], "AIM (ours)", 1, {"max_steps": 30},
                      json.loads((campaign_dir / "aim-table2.json").read_text()), replace=False)


def test_a_run_measured_for_another_table_is_reused(campaign_dir, tmp_path):
    """dali-table2's DALI row is aim-table2's AIM experiment: no training, the runs are copied and say so."""
    (tmp_path / "aim-table2.json").write_text((campaign_dir / "aim-table2.json").read_text())
    lines: list[str] = []
    failures = campaign.run_table(TABLES["dali-table2"], "DALI", 2, 1, tmp_path, {"max_steps": 20},
                                  tmp_path / "runs", threads=1, echo=lines.append)
    assert failures == [] and not (tmp_path / "runs").exists()
    runs = json.loads((tmp_path / "dali-table2.json").read_text())["cells"]["DALI"]["runs"]
    assert {run["copied_from"] for run in runs.values()} == {"aim-table2/AIM (ours)"}


def fake_results(out: Path, values: dict[str, list[float]], budget: dict | None = None) -> None:
    table = TABLES["aim-table2"]
    results: dict = {}
    for row, highs in values.items():
        run = table.row(row).runs["Grid25"]
        for seed, high in enumerate(highs):
            job = campaign.Job(table, row, "Grid25", run, seed, budget or {})
            campaign.record_run(results, job, {
                "metrics": {"modes/captured": 25.0, "modes/high_quality": high}, "steps": 20000,
                "train_seconds": 100.0, "commit": "abc", "device": "a test CPU", "started": "2026-12-01T00:00:00"})
    campaign.write_results(out / "aim-table2.json", results)


def test_render_writes_mean_std_seeds_budget_and_machine_between_the_markers(tmp_path):
    fake_results(tmp_path, {"AIM (ours)": [70.0, 80.0, 90.0]}, {"max_steps": 5000})
    text = ("before\n<!-- reproduce:begin aim-table2 -->\nold\n<!-- reproduce:end aim-table2 -->\n"
            "<!-- reproduce:begin aim-table2:AIM (ours) -->\n<!-- reproduce:end aim-table2:AIM (ours) -->\nafter\n")
    rendered = render.render_text(text, tmp_path)
    assert rendered.startswith("before\n") and rendered.endswith("after\n") and "old" not in rendered
    row = next(line for line in rendered.splitlines() if line.startswith("| AIM (ours) |"))
    cells = [cell.strip() for cell in row.split("|")[1:-1]]
    assert cells[:5] == ["AIM (ours)", "25", "81.1", "25.0 ± 0.0", "80.0 ± 10.0"]
    assert cells[5] == "3" and cells[6] == "20,000 iterations, a reduced budget"
    assert "| ALI | 15.84 | 1.6 | not run yet | not run yet |" in rendered
    assert "| Unrolled GAN | 23.6 | 16 | not run yet | not run yet |" in rendered  # a config, no result file row
    assert "Measured on a test CPU; commits abc" in rendered
    assert ("25.0 ± 0.0 modes (max 25), 80.0 ± 10.0 % high quality: mean ± std over 3 seeds of 20,000 "
            "iterations, a reduced budget, on a test CPU") in rendered
    assert render.render_text(rendered, tmp_path) == rendered  # idempotent


def test_a_marker_naming_no_table_fails(tmp_path):
    with pytest.raises(ValueError, match="names no known table"):
        render.render_text("<!-- reproduce:begin nope -->\n<!-- reproduce:end nope -->\n", tmp_path)


def test_committed_documents_are_what_the_committed_result_files_render():
    """No number in RESULTS.md or README.md is typed by hand: re-rendering them changes nothing."""
    changed = render.render_files(ROOT / "results", check=True)
    assert changed == [], f"run `python cli.py reproduce --render` and commit: {changed}"
    assert "<!-- reproduce:begin aim-table2 -->" in (ROOT / "RESULTS.md").read_text()


def test_a_diverging_run_is_recorded_with_its_status_not_retried(tmp_path):
    """DALI-f without its score bound at lr 1 overflows at once: the run is a result ('stopped early'), kept out
    of the mean, and the rendered row says so, instead of a failure that every re-run would train again."""
    spec = {"config": "configs/dali/dali_f_grid25.yaml", "seed": 0, "budget": {"max_steps": 50}, "threads": 1,
            "overrides": ["--model.max_score", "null", "--model.lr", "1.0", "--model.hidden_dim", "16",
                          "--data.num_train", "2000", "--data.num_val", "300", "--data.batch_size", "100"],
            "protocol": {"metrics": ["modes"], "num_samples": 500, "split": "test", "checkpoint": "last"},
            "run_dir": str(tmp_path / "run")}
    result = worker.run(spec)
    assert result["status"].startswith("stopped early: the loss of") and result["metrics"] == {}
    table = TABLES["dali-table2"]
    results: dict = {}
    job = campaign.Job(table, "DALI-f", "Grid25", table.row("DALI-f").runs["Grid25"], 0, {"max_steps": 50})
    campaign.record_run(results, job, result)
    assert results["cells"]["DALI-f"]["summary"] == {}
    campaign.write_results(tmp_path / "dali-table2.json", results)
    rendered = render.render_text("<!-- reproduce:begin dali-table2 -->\n<!-- reproduce:end dali-table2 -->\n",
                                  tmp_path)
    assert "seed(s) 0 stopped early on a non-finite loss" in rendered


def test_the_best_fid_checkpoint_is_the_minimum_fid_over_training(tmp_path):
    """ivgan.txt / ivaae.txt report the minimum FID over training: the configs' FID callback plus the CLI's best-FID
    checkpoint keep that one, and the worker measures it (stand-in feature extractor: no Inception here)."""
    import lightning as L
    from test_fidelity import PixelFeatures, UInt8Images, even_pixel_images

    import cli
    from callbacks import FidelityMetrics
    from callbacks.checkpoints import LastCheckpoint
    from zoo import AIM

    images = torch.nn.functional.interpolate(even_pixel_images(n=64).float(), size=32).to(torch.uint8)  # 1 batch
    fid = FidelityMetrics(metrics=["fid"], every_n_epochs=1, num_fake=64, num_real=64, split="val",
                          cache_dir=str(tmp_path), extractor=PixelFeatures())
    seen: dict[int, float] = {}

    class RecordFID(L.Callback):
        def on_train_epoch_end(self, trainer, pl_module):
            seen[trainer.current_epoch] = float(trainer.callback_metrics["fidelity/fid"])

    folder = tmp_path / "checkpoints"
    best = cli.best_checkpoint_callback("auto", [fid])
    assert best.monitor == "fidelity/fid" and best.mode == "min"
    best.dirpath = str(folder)
    trainer = L.Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=tmp_path,
                        callbacks=[fid, RecordFID(), LastCheckpoint(dirpath=folder), best])
    trainer.fit(AIM(image_shape=(3, 32, 32), latent_dim=8, lr=2e-3), datamodule=UInt8Images(images))
    assert len(seen) == 3 and len(set(seen.values())) == 3
    measured = worker.measured_checkpoint(folder, "best")
    best_epoch = min(seen, key=seen.get)
    assert measured.name.startswith(f"best-fidelity_fid-{best_epoch}-")
    assert worker.measured_checkpoint(folder, "last") == folder / "last.ckpt"


def test_the_worker_keeps_the_fid_callback_only_when_the_protocol_measures_the_best_checkpoint():
    def arguments(config: str, checkpoint: str) -> list[str]:
        return worker.fit_arguments({"config": config, "overrides": [], "seed": 0, "budget": {}, "run_dir": "r",
                                     "protocol": {"checkpoint": checkpoint}})

    best = arguments("configs/ivaae/mnist.yaml", "best")
    assert best[best.index("--best_checkpoint") + 1] == "fidelity/fid" and "--trainer.callbacks=[]" not in best
    last = arguments("configs/ivaae/mnist.yaml", "last")
    assert last[last.index("--best_checkpoint") + 1] == "none" and "--trainer.callbacks=[]" in last
    assert "--trainer.callbacks=[]" not in arguments("configs/aim/mnist.yaml", "last")
    with pytest.raises(SystemExit, match="attaches no callbacks.FidelityMetrics"):
        arguments("configs/aim/mnist.yaml", "best")
    for table in ("ivgan-table1", "ivgan-table3", "ivaae-table1"):
        for column in TABLES[table].columns:
            assert column.protocol.checkpoint == "best", (table, column.name)
            for row in TABLES[table].rows:
                run = row.runs.get(column.name)
                if run is not None:
                    assert "callbacks.FidelityMetrics" in worker.config_callbacks(run.config), run.config


def test_a_relaunched_run_starts_in_an_empty_folder_and_stale_checkpoints_are_refused(tmp_path, monkeypatch):
    job = campaign.plan(TABLES["aim-table2"], "AIM (ours)", 1, {"max_steps": 5}, {}, replace=False)[0]
    stale = tmp_path / "aim-table2" / "AIM__ours_" / "seed0" / "checkpoints" / "last.ckpt"
    stale.parent.mkdir(parents=True)
    stale.write_text("an interrupted attempt's checkpoint")
    monkeypatch.setattr(campaign.subprocess, "run",
                        lambda command, **kwargs: campaign.subprocess.CompletedProcess(command, 1))
    campaign.launch(job, tmp_path, threads=1)
    assert not stale.exists()
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    (folder / "last.ckpt").write_text("")
    (folder / "last-v1.ckpt").write_text("")
    with pytest.raises(SystemExit, match="last-v1.ckpt beside last.ckpt"):
        worker.measured_checkpoint(folder, "last")
