"""Checkpoints to share: ``cli.py export``, ``zoo.load_checkpoint`` of files and URLs, ``model(z)``, and
``datamodules.to_model_input`` for a user's own images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import cli
import datamodules
import zoo
from datamodules.base import ScaleAndResize
from zoo.checkpoint import CheckpointError, model_class_path

GRID = ["--data", "Grid25", "--data.num_train", "1000", "--data.num_val", "200", "--data.batch_size", "100"]


@pytest.fixture(scope="module")
def grid_checkpoint(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("run")
    cli.main(["fit", "--model", "AIM", "--model.hidden_dim", "16", *GRID, "--trainer.max_steps", "3",
              "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(root)])
    return root / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt"


def test_export_writes_only_weights_hyper_parameters_class_and_version(grid_checkpoint, tmp_path, capsys):
    out = tmp_path / "model.pt"
    assert cli.run_command_line(["export", "--ckpt_path", str(grid_checkpoint), "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    exported = torch.load(out, weights_only=True)  # plain tensors and values: loads without running code
    assert set(exported) == {"state_dict", "hyper_parameters", "zoo"}
    assert exported["zoo"] == {"version": zoo.__version__, "model_class": model_class_path(zoo.AIM), "kind": "export",
                               "trained_with": zoo.__version__}
    assert exported["hyper_parameters"]["hidden_dim"] == 16 and tuple(exported["hyper_parameters"]["image_shape"]) == (2,)
    assert not any(key.startswith("_") for key in exported["hyper_parameters"])
    assert out.stat().st_size < grid_checkpoint.stat().st_size / 2  # no Adam moments, loops or RNG states


def test_load_checkpoint_reads_exports_and_full_checkpoints_alike(grid_checkpoint, tmp_path):
    out = zoo.export_checkpoint(grid_checkpoint, tmp_path / "model.pt")
    exported, full = zoo.load_checkpoint(out), zoo.load_checkpoint(grid_checkpoint)
    assert type(exported) is type(full) is zoo.AIM and not exported.training
    assert exported.state_dict().keys() == full.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(exported.state_dict().values(), full.state_dict().values()))
    z = torch.randn(5, exported.latent_dim)
    assert torch.equal(exported(z), full.generate(z))  # model(z) is generate(z)


def test_export_of_a_checkpoint_onto_itself_is_refused(grid_checkpoint):
    with pytest.raises(CheckpointError, match="choose another file name"):
        zoo.export_checkpoint(grid_checkpoint, grid_checkpoint)


def test_a_url_is_downloaded_once_into_the_torch_hub_cache(grid_checkpoint, tmp_path, monkeypatch):
    out = zoo.export_checkpoint(grid_checkpoint, tmp_path / "shared" / "model.pt")
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    downloads = []
    download = torch.hub.download_url_to_file
    monkeypatch.setattr(torch.hub, "download_url_to_file",
                        lambda url, dst, **kwargs: (downloads.append(url), download(url, dst, **kwargs)))
    url = out.as_uri()
    first = zoo.load_checkpoint(url)
    second = zoo.load_checkpoint(url)
    assert downloads == [url]
    cached = list((hub / "checkpoints").iterdir())
    assert len(cached) == 1 and cached[0].name.endswith("-model.pt")
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    with pytest.raises(CheckpointError, match="cannot download"):
        zoo.load_checkpoint((tmp_path / "missing.pt").as_uri())


def test_a_crafted_download_runs_no_code(tmp_path, monkeypatch):
    marker = tmp_path / "ran"

    class Crafted:
        def __reduce__(self):
            return (Path.touch, (marker,))

    crafted = tmp_path / "crafted.pt"
    torch.save({"state_dict": Crafted()}, crafted)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(CheckpointError, match="refusing to load"):
        zoo.load_checkpoint(crafted.as_uri())
    assert not marker.exists()


# ------------------------------------------------------------------------------ a user's own images
def image_model_export(tmp_path: Path) -> Path:
    """An (untrained) AIM for 28x28 grey images, written as a zoo checkpoint and exported."""
    model = zoo.AIM(image_shape=(1, 28, 28), latent_dim=8)
    checkpoint = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                  "zoo": {"version": zoo.__version__, "model_class": model_class_path(zoo.AIM)}}
    torch.save(checkpoint, tmp_path / "full.ckpt")
    return zoo.export_checkpoint(tmp_path / "full.ckpt", tmp_path / "model.pt")


def test_readme_reconstruction_example(tmp_path):
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 256, (90, 120, 3), dtype=np.uint8))
    model = zoo.load_checkpoint(image_model_export(tmp_path))
    x = datamodules.to_model_input(photo, model.image_shape)
    x_rec = model.reconstruct(x)
    assert x.shape == x_rec.shape == (1, 1, 28, 28)
    assert x.min() >= -1 and x.max() <= 1 and x_rec.min() >= -1 and x_rec.max() <= 1


def test_to_model_input_matches_the_datamodules_transform():
    pixels = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    assert torch.equal(datamodules.to_model_input(pixels, (3, 32, 32)), ScaleAndResize()(pixels))
    assert torch.equal(datamodules.to_model_input(pixels, (3, 64, 64)), ScaleAndResize(64)(pixels))
    assert datamodules.to_model_input(pixels[0], (3, 32, 32)).shape == (1, 3, 32, 32)
    assert datamodules.to_model_input(pixels[0, 0], (1, 32, 32)).shape == (1, 1, 32, 32)
    x = datamodules.to_model_input(torch.tensor([[0, 255]], dtype=torch.uint8).expand(2, 2), (1, 2, 2))
    assert x.flatten().tolist() == [-1.0, 1.0, -1.0, 1.0]


def test_to_model_input_crops_the_centre_and_converts_colour_like_pil():
    rng = np.random.default_rng(1)
    wide = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)  # H x W x C, as PIL and numpy hold images
    from_pil = datamodules.to_model_input(Image.fromarray(wide), (3, 20, 20))
    from_array = datamodules.to_model_input(wide, (3, 20, 20))
    assert torch.equal(from_pil, from_array)  # the same centered 20 x 20 square
    assert torch.equal(from_pil[0], torch.from_numpy(wide[:, 5:25]).permute(2, 0, 1).float() / 127.5 - 1)
    grey_pil = datamodules.to_model_input(Image.fromarray(wide), (1, 20, 20))
    grey_tensor = datamodules.to_model_input(torch.from_numpy(wide).permute(2, 0, 1), (1, 20, 20))
    assert (grey_pil - grey_tensor).abs().max() <= 1 / 127.5 + 1e-6  # PIL's luma, up to its rounding
    assert datamodules.to_model_input(Image.fromarray(wide[..., 0]), (3, 16, 16)).shape == (1, 3, 16, 16)
    batch = datamodules.to_model_input([Image.fromarray(wide)] * 2, (3, 8, 8))
    assert batch.shape == (2, 3, 8, 8)


def test_to_model_input_says_what_it_takes():
    with pytest.raises(TypeError, match="uint8"):
        datamodules.to_model_input(torch.rand(3, 8, 8), (3, 8, 8))
    with pytest.raises(ValueError, match="2-D points"):
        datamodules.to_model_input(torch.zeros(3, 8, 8, dtype=torch.uint8), (2,))
