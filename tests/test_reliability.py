"""Nothing a user trained is lost: exact resume, checkpoints on interrupt, non-finite losses, checkpoint errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException

import cli
import zoo
from callbacks import CheckpointOnInterrupt
from datamodules import Grid25
from zoo import AIM, DALIF
from zoo.base import NonFiniteLossError
from zoo.checkpoint import CheckpointError
from test_datamodules import mnist_root  # noqa: F401  (fixture: genuine IDX files)

ROOT = Path(__file__).resolve().parents[1]
RESUME_MODELS = [AIM, DALIF]


def grid(batch_size: int = 50) -> Grid25:
    return Grid25(num_train=500, num_val=100, batch_size=batch_size)  # 10 batches per epoch


def new_model(model_class: type, seed: int = 0) -> zoo.GenerativeModule:
    L.seed_everything(seed, verbose=False)
    return model_class(image_shape=(2,), hidden_dim=16, lr=1e-3)


def trainer(tmp_path, callbacks=(), **kwargs) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu", deterministic=True, logger=False, enable_progress_bar=False,
        enable_model_summary=False, num_sanity_val_steps=0, default_root_dir=tmp_path,
        callbacks=[ModelCheckpoint(dirpath=tmp_path / "checkpoints", save_last=True), CheckpointOnInterrupt(),
                   *callbacks],
        **kwargs,
    )


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    different = [name for name in state_a if not torch.equal(state_a[name], state_b[name])]
    assert not different, f"tensors differ after resuming: {different[:5]}"


class SendSignalAt(L.Callback):
    """Deliver ``signum`` to this process after training step ``step``."""

    def __init__(self, step: int, signum: int = signal.SIGTERM) -> None:
        self.step, self.signum = step, signum

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("model_class", RESUME_MODELS)
def test_resuming_from_an_epoch_checkpoint_is_bit_identical(model_class, tmp_path):
    uninterrupted = new_model(model_class)
    trainer(tmp_path / "a", max_epochs=3).fit(uninterrupted, datamodule=grid())

    first_part = new_model(model_class)
    trainer(tmp_path / "b", max_epochs=1).fit(first_part, datamodule=grid())
    resumed = new_model(model_class, seed=123)  # different init and RNG: all of it must come from the file
    trainer(tmp_path / "b", max_epochs=3).fit(resumed, datamodule=grid(),
                                              ckpt_path=tmp_path / "b" / "checkpoints" / "last.ckpt")
    assert_same_weights(resumed, uninterrupted)


def test_a_checkpoint_written_at_a_batch_end_mid_epoch_resumes_bit_identically(tmp_path):
    """ModelCheckpoint(every_n_train_steps) saves inside on_train_batch_end, before Lightning marks the batch
    completed; the data position must count that batch as done, as Lightning's loop does on restore."""
    uninterrupted = new_model(AIM)
    trainer(tmp_path / "a", max_epochs=2).fit(uninterrupted, datamodule=grid())

    every_6 = ModelCheckpoint(dirpath=tmp_path / "b" / "steps", filename="{step}", every_n_train_steps=6,
                              save_top_k=-1)
    trainer(tmp_path / "b", max_steps=7, callbacks=[every_6]).fit(new_model(AIM), datamodule=grid())
    checkpoint = tmp_path / "b" / "steps" / "step=6.ckpt"
    position = {"pass": 0, "batches_done": 6, "num_replicas": 1}
    saved = torch.load(checkpoint, weights_only=True)
    assert saved["Grid25"] == position
    # The loader is a stateful loader for Lightning (public state_dict / load_state_dict): it saves it itself.
    assert saved["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [position]

    resumed = new_model(AIM, seed=123)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer(tmp_path / "b", max_epochs=2).fit(resumed, datamodule=grid(), ckpt_path=checkpoint)
    assert not [w for w in caught if "not resumable" in str(w.message)]
    assert_same_weights(resumed, uninterrupted)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_mid_epoch_saves_a_checkpoint_that_resumes_bit_identically(signum, tmp_path):
    uninterrupted = new_model(AIM)
    trainer(tmp_path / "a", max_epochs=3).fit(uninterrupted, datamodule=grid())

    interrupted = new_model(AIM)
    run = trainer(tmp_path / "b", max_epochs=3, callbacks=[SendSignalAt(step=14, signum=signum)])
    with pytest.raises(SIGTERMException):
        run.fit(interrupted, datamodule=grid())
    saver = next(cb for cb in run.callbacks if isinstance(cb, CheckpointOnInterrupt))
    assert saver.saved_path == tmp_path / "b" / "checkpoints" / "last.ckpt"
    assert saver.reason == ("SIGTERM" if signum == signal.SIGTERM else "Ctrl-C")
    assert torch.load(saver.saved_path, weights_only=True)["global_step"] == 14  # mid-epoch 2, after step 14
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C handler given back

    resumed = new_model(AIM, seed=123)
    trainer(tmp_path / "b", max_epochs=3).fit(resumed, datamodule=grid(), ckpt_path=saver.saved_path)
    assert_same_weights(resumed, uninterrupted)


class PoisonLossAt(L.Callback):
    """Make the discriminator's loss NaN from training step ``step`` on."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            original = pl_module.discriminator_loss
            pl_module.discriminator_loss = lambda real, fake: original(real, fake) * float("nan")


def test_non_finite_loss_stops_naming_player_and_step_and_keeps_the_good_checkpoint(tmp_path):
    model = new_model(AIM)
    run = trainer(tmp_path, max_epochs=3, log_every_n_steps=5, callbacks=[PoisonLossAt(step=13)])
    with pytest.raises(NonFiniteLossError, match=r"features\+critic_head \(optimizer 0\).* step 13"):
        run.fit(model, datamodule=grid())
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 10  # the epoch-1 checkpoint, not overwritten with NaN weights
    assert all(torch.isfinite(t).all() for t in checkpoint["state_dict"].values() if t.is_floating_point())


def test_non_finite_loss_can_skip_the_update_instead(tmp_path):
    model = new_model(AIM)
    model.non_finite_loss = "skip"
    run = trainer(tmp_path, max_steps=20, callbacks=[PoisonLossAt(step=13)])
    with pytest.warns(UserWarning, match="update skipped"):
        run.fit(model, datamodule=grid())
    assert run.global_step == 20  # skipped updates still count their iteration
    assert model.skipped_updates == 7  # the discriminator's updates at steps 13..19
    assert all(torch.isfinite(p).all() for p in model.parameters())


# ---------------------------------------------------------------------------------- checkpoint files
def saved_checkpoint(tmp_path, model_class=AIM):
    model = new_model(model_class)
    trainer(tmp_path, max_steps=2).fit(model, datamodule=grid())
    return model, tmp_path / "checkpoints" / "last.ckpt"


def test_checkpoint_carries_version_class_and_rng(tmp_path):
    _, path = saved_checkpoint(tmp_path)
    meta = torch.load(path, weights_only=True)["zoo"]
    assert meta["version"] == zoo.version.__version__ == "0.1.0"
    assert meta["model_class"] == "zoo.aim.AIM"
    assert {"torch", "numpy", "python"} <= set(meta["rng"])


def test_any_checkpoint_loads_without_knowing_its_class(tmp_path):
    model, path = saved_checkpoint(tmp_path, DALIF)
    loaded = zoo.load_checkpoint(path)
    assert type(loaded) is DALIF and not loaded.training
    x = torch.randn(5, 2)
    assert torch.equal(loaded.reconstruct(x), model.eval().reconstruct(x))


def test_checkpoint_of_another_model_class_says_which_class_it_holds(tmp_path):
    _, path = saved_checkpoint(tmp_path, DALIF)
    with pytest.raises(CheckpointError, match="holds a DALIF model, not a AIMMinus.*--model DALIF"):
        zoo.AIMMinus.load_from_checkpoint(path)


def test_corrupt_checkpoint_file_is_a_clear_error(tmp_path):
    _, path = saved_checkpoint(tmp_path)
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="damaged or truncated"):
        zoo.load_checkpoint(truncated)
    with pytest.raises(CheckpointError, match="not found"):
        zoo.load_checkpoint(tmp_path / "nowhere.ckpt")


def test_checkpoint_with_other_networks_names_the_versions(tmp_path):
    _, path = saved_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match=r"does not fit AIM .*written by zoo"):
        AIM.load_from_checkpoint(path, hidden_dim=32)


# ---------------------------------------------------------------------------------- the command line
GRID = ["--data", "Grid25", "--data.num_train", "1000", "--data.num_val", "200", "--data.batch_size", "100"]


def cli_error(args: list[str], capsys) -> str:
    """The stderr of a command that must fail as a user error: exactly one 'error:' line, status 2."""
    assert cli.run_command_line(args) == cli.EXIT_USER_ERROR
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def quick_fit(tmp_path: Path, *extra: str) -> list[str]:
    return ["fit", "--model", "AIM", "--model.hidden_dim", "16", *GRID, "--trainer.max_steps", "3",
            "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(tmp_path), *extra]


@pytest.mark.parametrize("args, message", [
    (["--model.lr", "-1"], "invalid configuration: lr must be positive, got -1.0"),
    (["--data.batch_size", "0"], "invalid configuration: batch_size must be a positive integer, got 0"),
    (["--model.latent_dim", "0"], "latent_dim must be a positive integer"),
])
def test_bad_hyper_parameters_are_one_line(args, message, tmp_path, capsys):
    assert message in cli_error(quick_fit(tmp_path, *args), capsys)


def test_unknown_datamodule_name_lists_the_datamodules(capsys):
    line = cli_error(["fit", "--model", "AIM", "--data", "Grid52"], capsys)
    assert "unknown datamodule 'Grid52' for --data; available: CIFAR10" in line and "Grid25" in line


def test_truncated_dataset_file_says_which_folder_and_how_to_fix(mnist_root, capsys):
    root, _ = mnist_root
    images = root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:1000])
    line = cli_error(["fit", "--model", "AIM", "--data", "MNIST", "--data.data_dir", str(root),
                      "--data.download", "false"], capsys)
    assert "cannot be read" in line and str(root / "MNIST" / "raw") in line and "truncated" in line


def test_wandb_online_without_a_key_says_what_to_do(tmp_path, monkeypatch, capsys):
    for name in ("WANDB_API_KEY", "WANDB_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    line = cli_error(quick_fit(tmp_path, "--trainer.logger", "WandbLogger"), capsys)
    assert "wandb login" in line and "WANDB_API_KEY" in line and "WANDB_MODE=offline" in line


def test_resuming_from_a_damaged_or_foreign_checkpoint_is_one_line(tmp_path, capsys):
    _, path = saved_checkpoint(tmp_path / "dalif", DALIF)  # DALIF derives from AIM, yet is another model
    line = cli_error(quick_fit(tmp_path, "--ckpt_path", str(path)), capsys)
    assert "holds a DALIF model, not a AIM" in line and "--model DALIF" in line

    damaged = tmp_path / "damaged.ckpt"
    damaged.write_bytes(path.read_bytes()[:500])
    assert "damaged or truncated" in cli_error(quick_fit(tmp_path, "--ckpt_path", str(damaged)), capsys)

    _, aim_path = saved_checkpoint(tmp_path / "aim", AIM)  # trained on 2-D points; resumed on MNIST's shape
    model = AIM(image_shape=(1, 28, 28))
    with pytest.raises(CheckpointError, match="does not fit this AIM .*written by zoo 0.1.0"):
        cli.check_resume_checkpoint(aim_path, model)


def test_resuming_from_the_cli_takes_the_checkpoints_hyper_parameters(tmp_path):
    _, path = saved_checkpoint(tmp_path / "first", AIM)  # a plain-Trainer checkpoint, hidden_dim 16
    resumed = cli.main(quick_fit(tmp_path, "--model.hidden_dim", "32", "--ckpt_path", str(path)))
    assert resumed.model.hparams.hidden_dim == 16 and resumed.trainer.global_step == 3


def test_checkpoint_from_the_cli_carries_the_full_run_config(tmp_path):
    cli.main(quick_fit(tmp_path))
    checkpoint = torch.load(tmp_path / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt",
                            weights_only=True)
    config = checkpoint["zoo"]["config"]
    assert "class_path: zoo.AIM" in config and "hidden_dim: 16" in config and "num_train: 1000" in config


def test_sigterm_during_fit_saves_a_checkpoint_and_exits_cleanly(tmp_path):
    """A real process, a real signal: the way a cluster pre-empts a job."""
    args = [sys.executable, "cli.py", *quick_fit(tmp_path)]
    args[args.index("--trainer.max_steps") + 1] = "1000000"
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    images = tmp_path / "lightning_logs" / "version_0" / "images"
    deadline = time.monotonic() + 120
    while not images.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)  # the first epoch's panels are written: training is under way
    assert process.poll() is None, process.communicate()[0]
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == cli.EXIT_SIGTERM, output
    assert "Traceback" not in output
    # warnings the zoo's own CLI code caused at every run: LightningCLI given sys.argv twice, jsonargparse's skip_none
    assert "args parameter is intended" not in output and "skip_none" not in output
    checkpoint_path = tmp_path / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt"
    assert f"checkpoint saved to {checkpoint_path}" in output
    assert torch.load(checkpoint_path, weights_only=True)["global_step"] >= 10  # past the first epoch
    assert '"status": "interrupted"' in (tmp_path / "lightning_logs" / "version_0" / "metrics.json").read_text()


def test_latent_size_not_divisible_by_the_blocks_is_one_line(tmp_path, capsys):
    args = quick_fit(tmp_path, "--model.num_blocks", "3", "--model.latent_dim", "4")
    args[args.index("AIM")] = "IVDCGAN"
    args[args.index("--model.hidden_dim") + 1] = "16"
    line = cli_error(args, capsys)
    assert "num_blocks=3 must divide latent_dim=4" in line


def test_the_best_checkpoint_by_a_metric_is_kept_beside_last(tmp_path):
    args = quick_fit(tmp_path)
    args[args.index("--trainer.max_steps") + 1] = "30"  # 3 epochs of 10 batches
    cli.main(args)  # Grid25: 'auto' follows modes/high_quality
    checkpoints = sorted(p.name for p in (tmp_path / "lightning_logs" / "version_0" / "checkpoints").iterdir())
    assert "last.ckpt" in checkpoints
    best = [name for name in checkpoints if name.startswith("best-modes_high_quality-")]
    assert len(best) == 1


def test_an_unknown_best_checkpoint_metric_lists_the_choices(tmp_path, capsys):
    line = cli_error(quick_fit(tmp_path, "--best_checkpoint", "lpips"), capsys)
    assert "--best_checkpoint 'lpips'" in line and "fidelity/fid" in line


def test_a_split_smaller_than_one_batch_is_one_line(tmp_path, capsys):
    args = quick_fit(tmp_path)
    args[args.index("--data.batch_size") + 1] = "5000"  # 1,000 training points
    line = cli_error(args, capsys)
    assert "batch_size=5000 exceeds the 1000 samples of this split" in line


def test_the_loader_position_counts_trained_batches_not_prefetched_ones():
    from datamodules import TensorBatches

    x = torch.arange(40.0).unsqueeze(1)
    loader = TensorBatches((x,), batch_size=4, shuffle=True, drop_last=True, seed=1)
    assert loader.state_dict() == {"pass": 0, "batches_done": 0, "num_replicas": 1}
    batches = iter(loader)
    for _ in range(3):
        next(batches)  # Lightning fetches one batch ahead of the step it trains
    loader.mark_batch_done()
    loader.mark_batch_done()
    assert loader.state_dict() == {"pass": 0, "batches_done": 2, "num_replicas": 1}

    resumed = TensorBatches((x,), batch_size=4, shuffle=True, drop_last=True, seed=1)
    resumed.load_state_dict(loader.state_dict())
    resumed.load_state_dict(loader.state_dict())  # applied twice (datamodule, then Lightning): still batch 2
    expected = [b for (b,) in TensorBatches((x,), batch_size=4, shuffle=True, drop_last=True, seed=1)][2:]
    assert all(torch.equal(a, b) for (a,), b in zip(resumed, expected, strict=True))

    for _ in range(8):
        loader.mark_batch_done()
    assert loader.state_dict() == {"pass": 1, "batches_done": 0, "num_replicas": 1}  # the pass is complete
