"""The command line as users call it: ``python cli.py fit --model AIM --data Grid25 ...``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

import cli
import zoo
from zoo import AIM

ROOT = Path(__file__).resolve().parents[1]
FAST_GRID = ["--data", "Grid25", "--data.num_train", "2000", "--data.num_val", "500", "--data.batch_size", "100"]


def fit_args(tmp_path: Path, *extra: str) -> list[str]:
    return ["fit", "--model", "AIM", "--model.hidden_dim", "16", *FAST_GRID, "--trainer.max_steps", "30",
            "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(tmp_path), *extra]


def test_fit_aim_on_grid25_writes_metrics_samples_and_checkpoints(tmp_path, capsys):
    cli.main(fit_args(tmp_path))
    run_dir = tmp_path / "lightning_logs" / "version_0"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["model"] == "AIM" and metrics["data"] == "Grid25" and metrics["status"] == "finished"
    assert metrics["global_step"] == 30  # training iterations, not optimizer steps
    for key in ("modes/captured", "modes/high_quality", "loss/discriminator", "loss/generator", "loss/encoder"):
        assert key in metrics
    assert (run_dir / "images" / "scatter_samples_last.png").stat().st_size > 0
    assert (run_dir / "checkpoints" / "last.ckpt").exists()
    assert "modes/captured" in capsys.readouterr().out


def test_image_shape_is_linked_from_the_datamodule(tmp_path):
    the_cli = cli.main(["--model", "AIM", "--data", "MNIST", "--data.data_dir", str(tmp_path),
                        "--data.download", "false"], run=False)
    assert the_cli.model.image_shape == (1, 28, 28) and the_cli.model.latent_dim == 32
    the_cli = cli.main(["--model", "AIMMinus", "--data", "CIFAR10", "--data.image_size", "64",
                        "--data.data_dir", str(tmp_path), "--data.download", "false"], run=False)
    assert the_cli.model.image_shape == (3, 64, 64) and the_cli.model.latent_dim == 64


def test_model_overrides_reach_the_model(tmp_path):
    the_cli = cli.main(["--model", "DALIF", "--model.lam", "0.5", "--model.lr", "1e-3", *FAST_GRID], run=False)
    assert the_cli.model.lam == 0.5 and the_cli.model.hparams.lr == 1e-3
    assert type(the_cli.model).__name__ == "DALIF"


def test_unknown_model_name_is_one_line_listing_the_models():
    result = subprocess.run([sys.executable, "cli.py", "fit", "--model", "NoSuchGAN", "--data", "Grid25"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: unknown model 'NoSuchGAN' for --model; available: {', '.join(cli.class_names(zoo, zoo.GenerativeModule))}"]
    assert "AIM" in result.stderr


def test_print_config_round_trips(tmp_path):
    printed = subprocess.run([sys.executable, "cli.py", "fit", "--config", "configs/aim/grid25.yaml",
                              "--model.lam", "0.25", "--print_config"],
                             cwd=ROOT, capture_output=True, text=True, timeout=120, check=True).stdout
    config_file = tmp_path / "config.yaml"
    config_file.write_text(printed)
    config = yaml.safe_load(printed)
    assert config["model"]["class_path"] == "zoo.AIM" and config["model"]["init_args"]["lam"] == 0.25
    assert config["data"]["class_path"] == "datamodules.Grid25"
    the_cli = cli.main(["fit", "--config", str(config_file), "--trainer.max_steps", "2", "--data.num_train", "2000",
                        "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(tmp_path)])
    assert isinstance(the_cli.model, AIM) and the_cli.model.lam == 0.25 and the_cli.model.latent_dim == 2
    assert the_cli.datamodule.hparams["batch_size"] == config["data"]["init_args"]["batch_size"]
    saved = yaml.safe_load((tmp_path / "lightning_logs/version_0/config.yaml").read_text())
    assert saved["model"] == config["model"]


def test_checkpoint_from_the_cli_loads_without_datamodule(tmp_path):
    cli.main(fit_args(tmp_path))
    model = AIM.load_from_checkpoint(tmp_path / "lightning_logs/version_0/checkpoints/last.ckpt", map_location="cpu")
    model.eval()
    x = torch.randn(5, 2)
    assert torch.equal(model.reconstruct(x), model.reconstruct(x))
    assert model.sample(7).shape == (7, 2)


def test_logging_interval_counts_training_iterations(tmp_path):
    cli.main(fit_args(tmp_path, "--trainer.log_every_n_steps", "10"))
    rows = (tmp_path / "lightning_logs/version_0/metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    step_column, loss_column = header.index("step"), header.index("loss/discriminator_step")
    logged_steps = [int(r.split(",")[step_column]) for r in rows[1:] if r.split(",")[loss_column]]
    assert logged_steps == [9, 19, 29]  # every 10 batches of a 30-batch run


@pytest.mark.slow
def test_fit_aim_on_real_mnist_writes_image_panels(tmp_path):
    data_dir = os.environ.get("ZOO_DATA_DIR")
    if not data_dir:
        pytest.skip("set ZOO_DATA_DIR to a folder holding MNIST/raw (e.g. ../shared/data)")
    cli.main(["fit", "--model", "AIM", "--data", "MNIST", "--data.data_dir", data_dir, "--data.download", "false",
              "--trainer.max_steps", "20", "--trainer.enable_progress_bar", "false",
              "--trainer.default_root_dir", str(tmp_path)])
    run_dir = tmp_path / "lightning_logs" / "version_0"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 < metrics["val/recon_mse"] < 1.0
    for panel in ("samples", "reconstructions", "interpolations"):
        assert (run_dir / "images" / f"{panel}_last.png").stat().st_size > 0


def test_missing_data_is_one_clear_message_without_traceback(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    result = subprocess.run([sys.executable, str(ROOT / "cli.py"), "fit", "--model", "AIM", "--data", "MNIST",
                             "--data.data_dir", str(data_dir), "--data.download", "false"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "train-images-idx3-ubyte" in result.stderr and str(data_dir) in result.stderr
    assert "--data.data_dir" in result.stderr  # where the user tells the zoo where the files are
    assert not (tmp_path / "lightning_logs").exists()  # the failed run leaves no empty version_N folder


@pytest.mark.parametrize("config, shape, latent_dim", [("aim/mnist.yaml", (1, 28, 28), 32),
                                                       ("aim/cifar10.yaml", (3, 64, 64), 64),
                                                       ("aim/grid25.yaml", (2,), 2)])
def test_paper_configs_build_the_papers_networks(config, shape, latent_dim, tmp_path):
    the_cli = cli.main(["--config", str(ROOT / "configs" / config), "--data.init_args.batch_size", "100"] +
                       (["--data.data_dir", str(tmp_path)] if "grid" not in config else []), run=False)
    assert the_cli.model.image_shape == shape and the_cli.model.latent_dim == latent_dim
    assert the_cli.model.lam == pytest.approx(1 / latent_dim)  # aim.txt §5: lambda = 1/d


# ------------------------------------------------------------------------------ commands and help
ZOO_COMMANDS = ("fit", "evaluate", "demo", "fetch-weights", "reproduce", "export")


def test_help_lists_every_command_and_each_has_its_own_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.run_command_line(["--help"])
    assert exit_info.value.code == 0
    listed = capsys.readouterr().out
    commands = re.search(r"\{([a-z,-]+)\}", listed).group(1).split(",")
    assert commands == list(ZOO_COMMANDS)  # validate / test / predict need steps the zoo's models lack
    for command in ZOO_COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            cli.run_command_line([command, "--help"])
        assert exit_info.value.code == 0, command
        assert "usage:" in capsys.readouterr().out, command


@pytest.mark.parametrize("command", ["validate", "test", "predict"])
def test_lightning_commands_the_models_cannot_run_are_not_offered(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.run_command_line([command, "--model", "AIM", "--data", "Grid25"])
    assert exit_info.value.code == 2
    assert f"invalid choice: '{command}'" in capsys.readouterr().err


@pytest.mark.parametrize("args, option", [
    (["fit", "--model.lr", "1e-3", "--model", "AIM", "--data", "Grid25"], "--model"),
    (["fit", "--model", "AIM", "--data.batch_size", "10", "--data=Grid25"], "--data"),
])
def test_model_arguments_before_the_model_are_one_error_line(args, option, capsys):
    assert cli.run_command_line(args) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith(f"error: {option} X comes before {option}.<arg>")


def test_model_help_after_the_model_is_not_mistaken_for_the_wrong_order():
    cli.check_argument_order(["fit", "--model", "AIM", "--model.lr", "1e-3", "--data", "Grid25"])
    cli.check_argument_order(["fit", "--model.help", "AIM", "--model", "AIM"])


# ------------------------------------------------------------------------------------ quiet runs
NOTICES = ("tensorboardX", "litlogger", "no `validation_step`", "`max_epochs` was not set", "LeafSpec",
           "`weights_only` was not set", "anonymous")


def test_the_default_job_prints_no_notices_and_says_where_its_files_are(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "cli.py"), "fit", "--config", "aim/grid25",
                             "--trainer.max_steps", "50", "--trainer.default_root_dir", str(tmp_path),
                             "--trainer.enable_progress_bar", "false"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for notice in NOTICES:
        assert notice not in result.stderr + result.stdout, notice
    run_dir = tmp_path / "lightning_logs" / "version_0"
    assert f"metrics:     {run_dir / 'metrics.json'}" in result.stdout
    assert f"images:      {run_dir / 'images'}" in result.stdout
    assert f"checkpoints: {run_dir / 'checkpoints'}" in result.stdout
    # No weights stored twice: last.ckpt only, and the best checkpoint of the same step is a link to it.
    files = sorted(path.name for path in (run_dir / "checkpoints").iterdir())
    assert files == ["best-modes_high_quality-0-50.ckpt", "last.ckpt"]
    best, last = (run_dir / "checkpoints" / name for name in files)
    assert best.stat().st_ino == last.stat().st_ino


def test_wandb_is_not_given_the_setting_it_warns_about(tmp_path):
    from lightning.pytorch.loggers import WandbLogger

    logger = WandbLogger(save_dir=str(tmp_path), offline=True)
    assert "anonymous" in logger._wandb_init
    cli.drop_unused_wandb_settings([logger])
    assert "anonymous" not in logger._wandb_init


# ---------------------------------------------------------------------------- paper configs by name
def test_a_config_name_finds_the_paper_config_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = str(ROOT / "configs" / "aim" / "grid25.yaml")
    for name in ("aim/grid25", "aim/grid25.yaml", "configs/aim/grid25.yaml"):
        assert cli.resolve_config_args(["fit", "--config", name]) == ["fit", "--config", expected]
    assert cli.resolve_config_args(["fit", f"--config=aim/grid25"]) == ["fit", f"--config={expected}"]
    own = tmp_path / "aim" / "grid25.yaml"  # a file of the user's own wins
    own.parent.mkdir()
    own.write_text("seed_everything: 1\n")
    assert cli.resolve_config_args(["fit", "--config", "aim/grid25.yaml"]) == ["fit", "--config", "aim/grid25.yaml"]
    assert cli.resolve_config_args(["fit", "--config", "no/such"]) == ["fit", "--config", "no/such"]


def test_threads_default_to_one_for_vector_data_and_follow_the_user_otherwise(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert cli.cpu_threads(None, (2,)) == 1
    assert cli.cpu_threads(None, (3, 32, 32)) is None  # torch's own choice for conv nets
    assert cli.cpu_threads(3, (2,)) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert cli.cpu_threads(None, (2,)) is None  # the user's environment wins
    with pytest.raises(cli.ConfigError, match="--threads must be a positive integer"):
        cli.cpu_threads(0, (2,))


def test_a_grid_fit_trains_on_one_thread_and_gives_the_process_its_threads_back(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    cli.main(["fit", "--model", f"{ProbeAIM.__module__}.ProbeAIM", "--model.hidden_dim", "16", *FAST_GRID,
              "--trainer.max_steps", "3", "--trainer.enable_progress_bar", "false",
              "--trainer.default_root_dir", str(tmp_path)])
    assert ProbeAIM.threads_seen and set(ProbeAIM.threads_seen) == {1}
    assert torch.get_num_threads() == 2
    torch.set_num_threads(before)


class ProbeAIM(AIM):
    """AIM recording the intra-op thread count its training steps run with."""

    threads_seen: list[int] = []

    def training_step(self, batch, batch_idx):
        ProbeAIM.threads_seen.append(torch.get_num_threads())
        return super().training_step(batch, batch_idx)
