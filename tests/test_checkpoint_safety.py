"""A checkpoint runs no code: every way into a checkpoint (zoo.load_checkpoint, evaluate, demo,
fit --ckpt_path, Lightning's own resume) unpickles it with weights_only=True, and a crafted file is
one clear error, with nothing in it run."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import lightning as L
import pytest
import torch

import cli
import zoo
from datamodules import Grid25
from zoo import AIM
from zoo.checkpoint import CheckpointError, plain_hyper_parameters, read_checkpoint


class CreatesFile:
    """Unpickled without weights_only, this opens (creates) ``path``: stands for any code a file could run."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def crafted(tmp_path: Path, legacy: bool = False) -> tuple[Path, Path]:
    """A checkpoint-looking file whose unpickling would create ``marker``; (file, marker)."""
    marker = tmp_path / "code-ran"
    payload = {"state_dict": {}, "zoo": {"model_class": "zoo.aim.AIM"}, "hyper_parameters": CreatesFile(marker)}
    path = tmp_path / ("legacy.ckpt" if legacy else "crafted.ckpt")
    if legacy:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    else:
        torch.save(payload, path)
    assert not marker.exists()
    return path, marker


def real_checkpoint(tmp_path: Path, datamodule: Grid25 | None = None) -> Path:
    L.seed_everything(0, verbose=False)
    model = AIM(image_shape=(2,), hidden_dim=16)
    trainer = L.Trainer(accelerator="cpu", max_steps=2, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, enable_checkpointing=False, num_sanity_val_steps=0,
                        default_root_dir=tmp_path)
    trainer.fit(model, datamodule or Grid25(num_train=100, num_val=50, batch_size=50))
    path = tmp_path / "real.ckpt"
    trainer.save_checkpoint(path)
    return path


@pytest.fixture
def force_unsafe_default(monkeypatch):
    """What some environments set: torch.load without an explicit weights_only then unpickles anything."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy-pickle"])
def test_load_checkpoint_refuses_a_crafted_file_and_runs_nothing(legacy, tmp_path, force_unsafe_default):
    path, marker = crafted(tmp_path, legacy)
    with pytest.raises(CheckpointError, match=str(path.resolve())) as error:
        zoo.load_checkpoint(path)
    assert not marker.exists()
    if not legacy:  # the zip format names what the file asked for
        assert "refusing to load" in str(error.value) and "io.open" in str(error.value)
    assert "\n" not in str(error.value)


def test_lightnings_own_load_is_weights_only_too(tmp_path, monkeypatch, force_unsafe_default):
    """Even if the zoo's check were bypassed, Lightning's second read of the file runs nothing."""
    good = read_checkpoint(real_checkpoint(tmp_path))
    path, marker = crafted(tmp_path)
    monkeypatch.setattr(zoo.base, "read_checkpoint", lambda _: good)  # load_checkpoint's and load_from_checkpoint's
    with pytest.raises(pickle.UnpicklingError):
        zoo.load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["export", "run"])
def test_a_file_naming_a_class_that_is_no_zoo_model_is_refused_and_builds_nothing(kind, tmp_path):
    """weights_only keeps unpickling safe, but an export's model is built by calling the class the file
    names with the file's hyper-parameters; any class but a zoo model is refused before that call."""
    marker = tmp_path / "code-ran"
    meta = {"version": "0.1.0", "model_class": "subprocess.Popen", "kind": kind, "trained_with": "0.1.0"}
    if kind == "run":
        del meta["kind"], meta["trained_with"]
    path = tmp_path / "crafted.pt"
    torch.save({"state_dict": {}, "zoo": meta,
                "hyper_parameters": {"args": [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]}}, path)
    with pytest.raises(CheckpointError, match="subprocess.Popen as its model class, which is not a zoo model"):
        zoo.load_checkpoint(path)
    assert not marker.exists()


def one_error_line(args: list[str], capsys) -> str:
    assert cli.run_command_line(args) == cli.EXIT_USER_ERROR
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


FIT = ["fit", "--model", "AIM", "--model.hidden_dim", "16", "--data", "Grid25", "--data.num_train", "200",
       "--data.num_val", "100", "--data.batch_size", "100", "--trainer.max_steps", "3",
       "--trainer.enable_progress_bar", "false"]


@pytest.mark.parametrize("command", ["evaluate", "demo", "fit"])
def test_the_command_line_refuses_a_crafted_checkpoint_in_one_line(command, tmp_path, capsys,
                                                                   force_unsafe_default):
    path, marker = crafted(tmp_path)
    if command == "fit":
        args = [*FIT, "--trainer.default_root_dir", str(tmp_path), "--ckpt_path", str(path)]
    else:
        args = [command, "--ckpt_path", str(path), "--out", str(tmp_path / "out")]
    line = one_error_line(args, capsys)
    assert "refusing to load" in line and "io.open" in line and str(path.resolve()) in line
    assert not marker.exists()


def test_fit_resumes_through_lightning_with_weights_only(tmp_path, monkeypatch, force_unsafe_default):
    """``fit --ckpt_path``: Lightning reads the file again to resume; that read is weights-only as well."""
    good = read_checkpoint(real_checkpoint(tmp_path / "first"))
    path, marker = crafted(tmp_path)
    monkeypatch.setattr(cli, "read_checkpoint", lambda _: good)  # as if the zoo's own check were bypassed
    with pytest.raises(pickle.UnpicklingError):
        cli.main([*FIT, "--trainer.default_root_dir", str(tmp_path), "--ckpt_path", str(path)])
    assert not marker.exists()


def test_weights_only_false_is_refused(tmp_path, capsys):
    line = one_error_line([*FIT, "--trainer.default_root_dir", str(tmp_path), "--weights_only", "false"], capsys)
    assert "--weights_only false" in line


def test_the_zoos_checkpoints_load_weights_only(tmp_path):
    """A CLI run's checkpoint (config, RNG states, version, callbacks, loops, optimisers) and one whose
    hyper-parameters hold a pathlib.Path, which is stored as its string."""
    cli.main([*FIT, "--trainer.default_root_dir", str(tmp_path)])
    checkpoint = torch.load(tmp_path / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt",
                            weights_only=True)
    assert {"zoo", "callbacks", "loops", "optimizer_states", "hyper_parameters"} <= set(checkpoint)
    assert {"torch", "numpy", "python"} <= set(checkpoint["zoo"]["rng"])

    datamodule = Grid25(num_train=100, num_val=50, batch_size=50)
    datamodule.hparams["data_dir"] = tmp_path / "data"  # as MNIST(data_dir=Path(...)) would store it
    path = real_checkpoint(tmp_path / "path", datamodule)
    assert torch.load(path, weights_only=True)["datamodule_hyper_parameters"]["data_dir"] == str(tmp_path / "data")
    assert type(zoo.load_checkpoint(path)) is AIM


def test_plain_hyper_parameters_turns_paths_into_strings():
    checkpoint = {"hyper_parameters": {"a": Path("x/y"), "b": [Path("z"), 1], "c": (2, Path("w"))},
                  "datamodule_hyper_parameters": {"d": {"e": Path("v")}}, "state_dict": {}}
    plain_hyper_parameters(checkpoint)
    assert checkpoint["hyper_parameters"] == {"a": "x/y", "b": ["z", 1], "c": (2, "w")}
    assert checkpoint["datamodule_hyper_parameters"] == {"d": {"e": "v"}}
