"""callbacks/latent.py: FLD (ivaae.txt §4) against its closed form, the covariance heat map (Figure 6), the
encoder probe (Figure 5), and the three callbacks in real fits on toy data and on MNIST files."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn
from torchvision.io import read_image

from callbacks._common import resolve_log_dir
from callbacks.frechet import gaussian_statistics
from callbacks.latent import (
    EncoderProbe,
    FrechetLatentDistance,
    LatentCovarianceHeatmap,
    encoder_features,
    frechet_latent_distance,
    map_in_batches,
    model_fld,
    probe_error,
    probe_mlp,
    save_covariance_heatmap,
)
from datamodules import MNIST, Ring8
from datamodules.base import TensorBatches
from test_datamodules import mnist_root  # noqa: F401  (fixture writing genuine MNIST IDX files)
from zoo import IVAAE


@pytest.fixture(autouse=True)
def one_intra_op_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------- FLD
def test_fld_of_prior_samples_is_zero_within_sampling_error():
    torch.manual_seed(0)
    n, d = 20_000, 8
    # E||mean||^2 = d / n = 4e-4; the trace term's bias is of the same order
    assert 0 <= frechet_latent_distance(torch.randn(n, d)) < 3e-3


def test_fld_grows_with_a_mean_shift_as_the_closed_form_says():
    torch.manual_seed(0)
    z = torch.randn(5000, 4)
    shift = torch.tensor([1.0, -2.0, 0.5, 0.0])
    base = frechet_latent_distance(z)
    # FLD = ||mu||^2 + Tr(Sigma + I - 2 Sigma^(1/2)); a shift changes only ||mu||^2, by 2 mu.s + ||s||^2
    expected = base + 2 * torch.dot(z.double().mean(0), shift.double()).item() + shift.pow(2).sum().item()
    assert frechet_latent_distance(z + shift) == pytest.approx(expected, rel=1e-9)
    assert frechet_latent_distance(z + shift) == pytest.approx(5.25, abs=0.02)


def test_fld_of_a_diagonal_gaussian_is_the_closed_form():
    torch.manual_seed(0)
    mean, std = torch.tensor([1.0, 0.0, -1.0]), torch.tensor([2.0, 0.5, 1.0])
    codes = mean + std * torch.randn(50_000, 3)
    # ||m||^2 + sum (sigma_i^2 + 1 - 2 sigma_i) = 2 + (2 - 1)^2 + (0.5 - 1)^2 + 0
    assert frechet_latent_distance(codes) == pytest.approx(3.25, rel=0.02)
    with pytest.raises(ValueError, match=r"\(n >= 2, d\)"):
        frechet_latent_distance(torch.zeros(1, 3))


class LinearEncoderModel(nn.Module):
    """encode(x) = A x + b, the code of a deterministic encoder, and nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(3, 2)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.layer(x)


def test_model_fld_encodes_in_chunks_through_the_transform():
    torch.manual_seed(0)
    model = LinearEncoderModel()
    x = torch.randn(103, 3)
    expected = frechet_latent_distance(model.encode(2 * x))
    assert model_fld(model, x, batch_size=10, transform=lambda chunk: 2 * chunk) == pytest.approx(expected, rel=1e-5)
    assert map_in_batches(model.encode, x, batch_size=7).shape == (103, 2)
    with pytest.raises(ValueError, match="batch_size"):
        map_in_batches(model.encode, x, batch_size=0)


# ---------------------------------------------------------------- heat map and probe
def test_covariance_heatmap_is_written_and_returns_the_covariance(tmp_path):
    torch.manual_seed(0)
    codes = torch.randn(400, 5) @ torch.randn(5, 5)
    path = tmp_path / "cov.png"
    cov = save_covariance_heatmap(path, codes)
    torch.testing.assert_close(cov, gaussian_statistics(codes)[1].cpu())
    image = read_image(str(path))
    assert image.shape[0] in (3, 4) and image.shape[1] > 100 and image.shape[2] > 100


def test_probe_is_a_two_layer_mlp_of_1000_units():
    sizes = [(m.in_features, m.out_features) for m in probe_mlp(1024, 10) if isinstance(m, nn.Linear)]
    assert sizes == [(1024, 1000), (1000, 1000), (1000, 10)]


def blobs(n: int, seed: int, separation: float) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(3, (n,), generator=generator)
    centers = separation * torch.eye(3, 6)
    return centers[labels] + torch.randn(n, 6, generator=generator), labels


def test_probe_error_separates_separable_features_and_is_chance_on_noise():
    train, val = blobs(600, 0, 6.0), blobs(300, 1, 6.0)
    kwargs = dict(steps=150, hidden_dim=32, lr=1e-3)
    assert probe_error(*train, *val, **kwargs) < 0.02
    noise_labels = torch.randint(3, (300,), generator=torch.Generator().manual_seed(2))
    assert probe_error(*train, val[0], noise_labels, **kwargs) == pytest.approx(2 / 3, abs=0.1)
    assert probe_error(*train, *val, **kwargs) == probe_error(*train, *val, **kwargs)  # seeded
    with pytest.raises(ValueError, match="steps"):
        probe_error(*train, *val, steps=0)


def test_probe_reads_the_encoders_last_hidden_layer():
    model = IVAAE(image_shape=(2,), hidden_dim=8).eval()
    x = torch.randn(5, 2)
    features = encoder_features(model, x)
    assert features.shape == (5, 8) and torch.equal(features, model.encoder.body(x))
    plain = LinearEncoderModel()  # no encoder_features: the probe reads the code
    assert torch.equal(encoder_features(plain, x.repeat(1, 2)[:, :3]), plain.encode(x.repeat(1, 2)[:, :3]))


# ---------------------------------------------------------------- the callbacks in real fits
def quiet_trainer(tmp_path: Path, **kwargs) -> L.Trainer:
    defaults = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                    accelerator="cpu", default_root_dir=tmp_path)
    return L.Trainer(**{**defaults, **kwargs})


def test_callbacks_log_fld_heatmap_and_probe_error_on_toy_data(tmp_path):
    torch.manual_seed(0)
    data = Ring8(num_train=256, num_val=128, batch_size=64)
    model = IVAAE(image_shape=(2,), hidden_dim=8)
    fld = FrechetLatentDistance(num_samples=200)
    heatmap = LatentCovarianceHeatmap(num_samples=200)
    probe = EncoderProbe(every_n_epochs=1, steps=30, num_train=200, num_val=100, hidden_dim=16)
    trainer = quiet_trainer(tmp_path, max_epochs=1, callbacks=[fld, heatmap, probe])
    trainer.fit(model, datamodule=data)
    metrics = trainer.callback_metrics
    assert {"val/fld", "val/latent_offdiag", "val/probe_error"} <= set(metrics)
    x, labels = fld.subset(trainer, "train", 200)
    assert x.shape == (200, 2) and labels.shape == (200,)
    model.eval()
    assert metrics["val/fld"].item() == pytest.approx(frechet_latent_distance(model.encode(x)), rel=1e-5)
    assert 0.0 <= metrics["val/probe_error"].item() <= 1.0
    images = resolve_log_dir(trainer) / "images"
    assert (images / "latent_covariance_epoch0000.png").is_file() and (images / "latent_covariance_last.png").is_file()


class NoEncoder(L.LightningModule):
    has_encoder = False

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 2)

    def training_step(self, batch, batch_idx):
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_models_without_an_encoder_are_skipped_and_other_data_is_refused(tmp_path):
    data = Ring8(num_train=128, num_val=64, batch_size=64)
    callbacks = [FrechetLatentDistance(), LatentCovarianceHeatmap(), EncoderProbe()]
    trainer = quiet_trainer(tmp_path, max_epochs=1, callbacks=callbacks)
    trainer.fit(NoEncoder(), datamodule=data)
    assert not any(name.startswith("val/") for name in trainer.callback_metrics)
    plain = TensorBatches((torch.randn(64, 2), torch.zeros(64)), 32)
    with pytest.raises(ValueError, match="needs a zoo datamodule"):
        quiet_trainer(tmp_path, max_epochs=1, callbacks=[FrechetLatentDistance()]).fit(
            IVAAE(image_shape=(2,), hidden_dim=4), train_dataloaders=plain)


@pytest.mark.parametrize("kwargs, name", [({"every_n_epochs": 0}, "every_n_epochs"),
                                          ({"num_samples": 1}, "num_samples"), ({"batch_size": 0}, "batch_size")])
def test_bad_callback_arguments_name_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        FrechetLatentDistance(**kwargs)
    with pytest.raises(ValueError, match="num_train"):
        EncoderProbe(num_train=0)


def test_callbacks_read_mnist_through_its_64x64_transform(mnist_root, tmp_path):  # noqa: F811
    root, _ = mnist_root
    torch.manual_seed(0)
    data = MNIST(data_dir=str(root), image_size=64, batch_size=4, download=False)
    model = IVAAE(image_shape=(1, 64, 64))
    callbacks = [FrechetLatentDistance(num_samples=None), EncoderProbe(steps=3, hidden_dim=8, num_train=None)]
    trainer = quiet_trainer(tmp_path, max_steps=1, callbacks=callbacks)
    trainer.fit(model, datamodule=data)
    assert math.isfinite(trainer.callback_metrics["val/fld"].item())
    assert 0.0 <= trainer.callback_metrics["val/probe_error"].item() <= 1.0
    x, _ = callbacks[0].subset(trainer, "train", None)
    assert x.dtype == torch.uint8 and x.shape == (20, 1, 28, 28)  # stored; resized to 64x64 chunk by chunk
    model.eval()
    codes = model.encode(data.batch_transform()(x))
    assert trainer.callback_metrics["val/fld"].item() == pytest.approx(frechet_latent_distance(codes), rel=1e-4)
