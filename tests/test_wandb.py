"""The W&B dashboard through ``cli.py``: what ``--trainer.logger WandbLogger`` records, in each mode.

Offline runs are read back from wandb's own ``run-<id>.wandb`` file (the records ``wandb sync``
uploads), so these tests check what the dashboard will show: every player's loss, the evaluation
callbacks' metrics, the image panels (with their PNG files), and the full config. Every wandb
directory, the home folder and the netrc file point into ``tmp_path``: no real key is found and
nothing is written outside it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

pytest.importorskip("wandb", reason="W&B is optional: pip install -e '.[wandb]' (also in the dev extra)")

import cli  # noqa: E402
from test_datamodules import mnist_root  # noqa: F401  (fixture: 20 + 10 genuine MNIST IDX digits)

ROOT = Path(__file__).resolve().parents[1]
TINY_GRID = ["--model", "AIM", "--model.hidden_dim", "16", "--data", "Grid25", "--data.num_train", "400",
             "--data.num_val", "100", "--data.batch_size", "20", "--trainer.max_epochs", "1",
             "--trainer.log_every_n_steps", "5"]
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def fit_args(root: Path, *extra: str, model_and_data: list[str] = TINY_GRID) -> list[str]:
    return ["fit", *model_and_data, *QUIET, "--trainer.default_root_dir", str(root), *extra]


@pytest.fixture
def wandb_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No W&B variable of the caller's, no key, every wandb folder and the home under tmp_path; the
    working directory is an empty folder that must stay empty (nothing lands beside the code)."""
    for name in {"WANDB_MODE", *(name for name in os.environ if name.startswith("WANDB_"))}:
        monkeypatch.setenv(name, "")  # records the caller's value (or its absence) to restore at the end:
        monkeypatch.delenv(name)  # WandbLogger(offline=True) sets WANDB_MODE in this process
    for name in ("home", "wandb_config", "wandb_cache", "wandb_data", "cwd"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NETRC", str(tmp_path / "home" / ".netrc"))  # does not exist: no stored key
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb_config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb_cache"))
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb_data"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_CONSOLE", "off")  # leave pytest's stdout capture alone
    monkeypatch.setenv("WANDB_DISABLE_GIT", "true")
    monkeypatch.setenv("WANDB_DISABLE_CODE", "true")
    monkeypatch.chdir(tmp_path / "cwd")
    yield tmp_path
    finish_wandb()  # a run left open by a failed test must not be reused by the next one


def finish_wandb() -> None:
    """Close the W&B run and wandb's process-wide state as the end of ``python cli.py`` does, so that
    the next run in this process reads its settings (WANDB_MODE, ...) afresh."""
    import wandb

    wandb.finish()
    wandb.teardown()


def fit_and_finish(args: list[str]) -> None:
    """One ``python cli.py ...`` in this process."""
    try:
        assert cli.run_command_line(args) == 0
    finally:
        finish_wandb()


# ------------------------------------------------------------------------ reading an offline run
def wandb_records(path: Path) -> Iterator[object]:
    """The protobuf records of a ``.wandb`` file: a 7-byte header (``:W&B``, magic, version), then
    LevelDB-log blocks of 32 KiB holding records (crc32, length, type: full / first / middle / last)."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a wandb transaction log"
    position, block, pending = 7, 32768, b""
    while position + 7 <= len(data):
        if block - position % block < 7:  # a block's tail too short for a record header is padding
            position += block - position % block
            continue
        _, length, kind = struct.unpack("<IHB", data[position:position + 7])
        chunk = data[position + 7:position + 7 + length]
        position += 7 + length
        if kind == 0:  # zero padding up to the end of the block
            position += (block - position % block) % block
            continue
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record


class OfflineRun:
    """What an offline run holds: ``history`` (one dict per ``log`` call, nested keys joined with
    ``/``), ``config`` (the run config), ``project``, ``name`` and the run's folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.id = folder.name.rpartition("-")[2]
        self.history: list[dict[str, object]] = []
        self.config: dict[str, object] = {}
        for record in wandb_records(folder / f"run-{self.id}.wandb"):
            kind = record.WhichOneof("record_type")
            if kind == "history":
                self.history.append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                                     for item in record.history.item})
            elif kind == "run":
                self.project, self.name = record.run.project, record.run.display_name
            elif kind == "config":
                self.config.update({item.key: json.loads(item.value_json) for item in record.config.update})

    def logged(self, key: str) -> list[object]:
        return [row[key] for row in self.history if key in row]

    def image_files(self, key: str) -> list[Path]:
        """The PNG files of every panel logged under ``key`` (each must be a W&B image)."""
        assert self.logged(f"{key}/_type"), f"no image logged under {key}; keys: {sorted(self.keys())}"
        assert set(self.logged(f"{key}/_type")) == {"images/separated"}
        return [self.folder / "files" / name for names in self.logged(f"{key}/filenames") for name in names]

    def keys(self) -> set[str]:
        return {key for row in self.history for key in row}


def offline_run(wandb_dir: Path) -> OfflineRun:
    folders = sorted((wandb_dir / "wandb").glob("offline-run-*"))
    assert len(folders) == 1, f"expected one offline run in {wandb_dir / 'wandb'}, found {folders}"
    return OfflineRun(folders[0])


def assert_png(path: Path) -> None:
    assert path.is_file(), path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path


# ------------------------------------------------------------------------------------- offline
def test_offline_toy_run_records_losses_metrics_scatter_plots_and_config(wandb_env: Path, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(wandb_env / "wandb_dir"))
    root = wandb_env / "runs"
    fit_and_finish(fit_args(root, "--trainer.logger", "WandbLogger", "--trainer.logger.project", "zoo-tests",
                            "--trainer.logger.name", "tiny-grid"))

    run = offline_run(wandb_env / "wandb_dir")  # WANDB_DIR is where wandb's files go
    assert (run.project, run.name) == ("zoo-tests", "tiny-grid")
    for player in ("discriminator", "generator", "encoder"):
        assert len(run.logged(f"loss/{player}_step")) == 4  # 20 batches, logged every 5
        assert len(run.logged(f"loss/{player}")) == 1  # the epoch mean
    for metric in ("modes/captured", "modes/high_quality", "val/recon_mse"):
        assert len(run.logged(metric)) == 1, metric
    assert all(isinstance(step, int) for step in run.logged("trainer/global_step"))  # the x axis
    for panel in ("scatter_samples", "scatter_reconstructions"):
        files = run.image_files(f"images/{panel}")
        assert len(files) == 1
        assert_png(files[0])

    assert run.config["model_class"] == "AIM" and run.config["data_class"] == "Grid25"
    full = run.config["config"]
    assert full["model"]["class_path"] == "zoo.AIM" and full["model"]["init_args"]["hidden_dim"] == 16
    assert full["data"]["class_path"] == "datamodules.Grid25" and full["data"]["init_args"]["num_train"] == 400
    assert full["trainer"]["max_epochs"] == 1 and full["best_checkpoint"] == "auto"
    assert run.config["hidden_dim"] == 16 and run.config["lr"] == pytest.approx(2e-4)  # the model's hparams too

    # The run's own files sit under --trainer.default_root_dir, in <project>/<run id>/, one folder per run.
    run_dir = root / "zoo-tests" / run.id
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["model"] == full["model"] and saved["data"] == full["data"]
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "finished"
    assert_png(run_dir / "images" / "scatter_samples_last.png")
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert list((wandb_env / "cwd").iterdir()) == []


def test_offline_flag_image_run_records_samples_reconstructions_and_interpolations(
        wandb_env: Path, mnist_root) -> None:  # noqa: F811
    data_dir, _ = mnist_root
    model_and_data = ["--model", "AIM", "--data", "MNIST", "--data.data_dir", str(data_dir), "--data.download",
                      "false", "--data.batch_size", "10", "--trainer.max_epochs", "1",
                      "--trainer.log_every_n_steps", "1"]
    root = wandb_env / "runs"
    # --trainer.logger.offline true alone (no WANDB_MODE, no key) is enough; wandb's files go beside the runs.
    fit_and_finish(fit_args(root, "--trainer.logger", "WandbLogger", "--trainer.logger.offline", "true",
                            model_and_data=model_and_data))

    run = offline_run(root)
    for player in ("discriminator", "generator", "encoder"):
        assert run.logged(f"loss/{player}_step") and run.logged(f"loss/{player}")
    assert len(run.logged("val/recon_mse")) == 1
    shapes = {}
    for panel in ("samples", "reconstructions", "interpolations"):
        files = run.image_files(f"images/{panel}")
        assert len(files) == 1, panel
        assert_png(files[0])
        shapes[panel] = (run.logged(f"images/{panel}/width")[0], run.logged(f"images/{panel}/height")[0])
    # torchvision's grid: 28-px images with 2-px padding. 64 samples in 8 columns; the 10 validation digits
    # beside their reconstructions (20 images, 6 columns); 5 pairs of digits, 8 interpolation steps each.
    assert shapes == {"samples": (8 * 30 + 2, 8 * 30 + 2), "reconstructions": (6 * 30 + 2, 4 * 30 + 2),
                      "interpolations": (8 * 30 + 2, 5 * 30 + 2)}
    assert run.config["model_class"] == "AIM" and run.config["data_class"] == "MNIST"
    assert run.config["config"]["data"]["init_args"]["data_dir"] == str(data_dir)
    assert (root / "lightning_logs" / run.id / "config.yaml").is_file()  # default project: lightning_logs
    assert list((wandb_env / "cwd").iterdir()) == []


# ------------------------------------------------------------------------------------ disabled
def test_disabled_mode_trains_and_writes_nothing_for_wandb(wandb_env: Path, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    root = wandb_env / "runs"
    fit_and_finish(fit_args(root, "--trainer.logger", "WandbLogger", "--trainer.max_epochs", "1"))
    summaries = list(root.glob("*/*/metrics.json"))
    assert len(summaries) == 1 and json.loads(summaries[0].read_text())["status"] == "finished"
    assert not list(wandb_env.rglob("*.wandb")) and not list(wandb_env.rglob("wandb"))
    assert list((wandb_env / "cwd").iterdir()) == []


# --------------------------------------------------------------------------------- no key, online
def test_online_without_a_key_is_one_error_line_within_seconds(wandb_env: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("WANDB_")}
    env.update(HOME=str(wandb_env / "home"), NETRC=str(wandb_env / "home" / ".netrc"),
               WANDB_CONFIG_DIR=str(wandb_env / "wandb_config"), WANDB_CACHE_DIR=str(wandb_env / "wandb_cache"))
    start = time.monotonic()
    result = subprocess.run([sys.executable, str(ROOT / "cli.py"), *fit_args(wandb_env / "runs", "--trainer.logger",
                                                                              "WandbLogger")],
                            cwd=wandb_env / "cwd", env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=60)
    elapsed = time.monotonic() - start
    assert result.returncode == cli.EXIT_USER_ERROR, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for advice in ("wandb login", "WANDB_API_KEY", "WANDB_MODE=offline", "wandb sync", "--trainer.logger.offline true"):
        assert advice in errors[0]
    assert elapsed < 60
    assert not list(wandb_env.rglob("*.wandb")) and not (wandb_env / "runs").exists()


def test_an_unreachable_server_is_one_error_line(wandb_env: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # nothing listens: connection refused
    monkeypatch.setenv("WANDB_INIT_TIMEOUT", "2")  # wandb's own retry limit (90 s by default)
    try:
        status = cli.run_command_line(fit_args(wandb_env / "runs", "--trainer.logger", "WandbLogger"))
    finally:
        finish_wandb()
    assert status == cli.EXIT_USER_ERROR
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "W&B failed" in errors[0] and "127.0.0.1:9" in errors[0]
    assert "WANDB_MODE=offline" in errors[0] and "wandb sync" in errors[0]


def has_key_afresh() -> bool:
    """cli.has_wandb_key() as a new process would answer it (wandb reads its settings once per process)."""
    import wandb

    wandb.teardown()
    return cli.has_wandb_key()


def test_a_key_in_netrc_or_the_environment_counts(wandb_env: Path, monkeypatch) -> None:
    assert not has_key_afresh()
    (wandb_env / "home" / ".netrc").write_text("machine api.wandb.ai\n  login user\n  password " + "k" * 40 + "\n")
    assert has_key_afresh()
    monkeypatch.setenv("WANDB_BASE_URL", "https://wandb.example.org")  # a private server: its own entry
    assert not has_key_afresh()
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    assert has_key_afresh()


def test_a_login_through_wandbs_settings_file_counts(wandb_env: Path, monkeypatch) -> None:
    """`wandb login --host URL` stores the server in wandb's settings file and the key in the netrc under
    that server: the check must ask wandb which server it will use, not assume api.wandb.ai."""
    settings = wandb_env / "wandb_config" / "settings"
    (wandb_env / "home" / ".netrc").write_text("machine wandb.example.org\n  login user\n  password " + "k" * 40 + "\n")
    assert not has_key_afresh()  # the netrc's server is not the one wandb will use
    settings.write_text("[default]\nbase_url = https://wandb.example.org\n")
    assert has_key_afresh()
    (wandb_env / "home" / ".netrc").unlink()
    assert not has_key_afresh()
    settings.write_text("[default]\napi_key = " + "k" * 40 + "\n")  # a key in the settings file itself
    assert has_key_afresh()


def test_online_with_a_key_from_the_settings_file_passes_the_check(wandb_env: Path) -> None:
    from lightning.pytorch.loggers import WandbLogger

    import wandb

    logger = WandbLogger(save_dir=str(wandb_env / "runs"))
    wandb.teardown()
    with pytest.raises(cli.ConfigError, match="needs an API key"):
        cli.check_wandb_credentials([logger])
    (wandb_env / "wandb_config" / "settings").write_text("[default]\nmode = offline\n")  # `wandb offline`
    wandb.teardown()
    cli.check_wandb_credentials([logger])  # offline through wandb's settings: no key needed
    (wandb_env / "wandb_config" / "settings").write_text("[default]\napi_key = " + "k" * 40 + "\n")
    wandb.teardown()
    cli.check_wandb_credentials([logger])  # no error, and no network: the key is not verified here


# ------------------------------------------------------------------------- without W&B
def test_default_logger_records_losses_and_png_panels(wandb_env: Path) -> None:
    root = wandb_env / "runs"
    assert cli.run_command_line(fit_args(root)) == 0
    run_dir = root / "lightning_logs" / "version_0"
    for panel in ("scatter_samples", "scatter_reconstructions"):
        assert_png(run_dir / "images" / f"{panel}_epoch0000.png")
    if (run_dir / "metrics.csv").exists():  # CSVLogger: the default without tensorboard
        header = (run_dir / "metrics.csv").read_text().splitlines()[0].split(",")
        for key in ("loss/discriminator_step", "loss/generator_step", "loss/encoder_step", "loss/discriminator",
                    "modes/captured", "val/recon_mse"):
            assert key in header, key
    else:  # TensorBoardLogger, the default where tensorboard is installed
        assert list(run_dir.glob("events.out.tfevents.*"))
    assert not list(wandb_env.rglob("wandb"))


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None,
                    reason="tensorboard is not installed (pip install tensorboard); test_callbacks checks the "
                           "TensorBoard image path with a recording logger")
def test_tensorboard_logger_gets_the_image_panels(wandb_env: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root = wandb_env / "runs"
    assert cli.run_command_line(fit_args(root, "--trainer.logger", "TensorBoardLogger",
                                         "--trainer.logger.save_dir", str(root))) == 0
    events = EventAccumulator(str(root / "lightning_logs" / "version_0"), size_guidance={"images": 0})
    events.Reload()
    tags = events.Tags()
    assert {"images/scatter_samples", "images/scatter_reconstructions"} <= set(tags["images"])
    assert {"loss/discriminator_step", "loss/generator_step", "loss/encoder_step", "modes/captured"} <= set(
        tags["scalars"])
