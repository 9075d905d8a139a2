"""Tests of callbacks/: the metric functions on hand-made numbers, the shared helpers, and real
Lightning fits of tiny fake models (2-D toy data and 1x8x8 images) with every callback attached."""

from __future__ import annotations

import csv
import json
import math
import re
import signal
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import pytest
from lightning.pytorch.utilities.exceptions import SIGTERMException
import torch
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger, WandbLogger
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset
from torchvision.io import read_image
from torchvision.utils import save_image

from callbacks import (
    MetricsSummary,
    ModeCounting,
    ReconstructionMSE,
    SamplePanels,
    evaluating,
    is_due,
    log_image_to_loggers,
    mode_metrics,
    reconstruction_mse,
)

FIXED_SUMMARY_KEYS = {"epoch", "global_step", "model", "data", "status"}
GRID = torch.linspace(-4, 4, 5)
GRID_CENTERS = torch.cartesian_prod(GRID, GRID)  # the 25-Gaussian grid of aim.txt §5.3
GRID_STD = 0.05


# --------------------------------------------------------------------------- fakes


class FakeGenerativeModel(L.LightningModule):
    """Honours the zoo's model contract with a linear generator and a linear encoder."""

    has_encoder = True

    def __init__(self, image_shape: tuple[int, ...], latent_dim: int = 3) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        data_size = math.prod(image_shape)
        self.generator = nn.Linear(latent_dim, data_size)
        self.encoder = nn.Linear(data_size, latent_dim)
        self.sampling_modes: list[bool] = []  # module.training seen by every generate() call
        self.interrupt_at_batch: int | None = None
        self.interruption: type[BaseException] = KeyboardInterrupt

    def sample_prior(self, n: int) -> Tensor:
        return torch.randn(n, self.latent_dim, device=self.device)

    @torch.no_grad()
    def generate(self, z: Tensor) -> Tensor:
        self.sampling_modes.append(self.training)
        return self._decode(z)

    def sample(self, n: int) -> Tensor:
        return self.generate(self.sample_prior(n))

    @torch.no_grad()
    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x.flatten(1))

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.generate(self.encode(x))

    def _decode(self, z: Tensor) -> Tensor:
        x = self.generator(z).view(-1, *self.image_shape)
        return x.tanh() if len(self.image_shape) == 3 else x

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        if batch_idx == self.interrupt_at_batch:
            raise self.interruption
        x = batch[0]
        loss = (self._decode(self.encoder(x.flatten(1))) - x).square().mean()
        self.log("loss/reconstruction", loss)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)


class FakeGeneratorOnly(FakeGenerativeModel):
    has_encoder = False


class FakeDataModule(L.LightningDataModule):
    def __init__(self, inputs: Tensor, batch_size: int) -> None:
        super().__init__()
        self.dataset = TensorDataset(inputs, torch.zeros(len(inputs), dtype=torch.long))
        self.batch_size = batch_size

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.dataset, batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.dataset, batch_size=self.batch_size)


class FakeToyGrid(FakeDataModule):
    """The 5x5 Gaussian grid, with the `centers` and `std` attributes of the toy datamodules."""

    def __init__(self) -> None:
        generator = torch.Generator().manual_seed(0)
        labels = torch.randint(len(GRID_CENTERS), (400,), generator=generator)
        points = GRID_CENTERS[labels] + GRID_STD * torch.randn(400, 2, generator=generator)
        super().__init__(points, batch_size=64)
        self.centers = GRID_CENTERS
        self.std = GRID_STD


class FakeImages(FakeDataModule):
    def __init__(self) -> None:
        # 40 images in batches of 16: the last validation batch is short (8), which separates the
        # exact mean over pixels from a mean of batch means.
        images = torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
        super().__init__(images, batch_size=16)


def fit(
    tmp_path: Path, model: L.LightningModule, data: L.LightningDataModule, callbacks: list[L.Callback], max_epochs: int
) -> Path:
    trainer = L.Trainer(
        max_epochs=max_epochs,
        limit_train_batches=2,
        logger=CSVLogger(tmp_path),
        callbacks=callbacks,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        default_root_dir=tmp_path,
    )
    trainer.fit(model, datamodule=data)
    return Path(trainer.log_dir)


def logged_values(log_dir: Path, metric: str) -> list[float]:
    """The values of ``metric`` that reached the CSVLogger, in order."""
    with open(log_dir / "metrics.csv") as handle:
        return [float(row[metric]) for row in csv.DictReader(handle) if row.get(metric)]


# --------------------------------------------------------------------------- pure functions


def test_mode_metrics_all_grid_centers_give_25_modes_and_100_percent() -> None:
    samples = GRID_CENTERS.repeat(4, 1)
    assert mode_metrics(samples, GRID_CENTERS, GRID_STD) == {"modes": 25.0, "high_quality": 100.0}


def test_mode_metrics_samples_near_three_centers_give_3_modes() -> None:
    chosen = GRID_CENTERS[[0, 7, 19]].repeat_interleave(50, dim=0)
    samples = chosen + 0.5 * GRID_STD * torch.randn(chosen.shape, generator=torch.Generator().manual_seed(1))
    assert mode_metrics(samples, GRID_CENTERS, GRID_STD) == {"modes": 3.0, "high_quality": 100.0}


def test_mode_metrics_samples_four_std_away_are_low_quality_and_capture_nothing() -> None:
    samples = GRID_CENTERS + torch.tensor([4 * GRID_STD, 0.0])
    assert mode_metrics(samples, GRID_CENTERS, GRID_STD) == {"modes": 0.0, "high_quality": 0.0}


def test_mode_metrics_threshold_is_three_std_of_euclidean_distance() -> None:
    center = GRID_CENTERS[12]
    direction = torch.tensor([0.6, 0.8])  # unit vector: the distance is Euclidean, not per axis
    inside = center + 2.9 * GRID_STD * direction
    outside = center + 3.1 * GRID_STD * direction
    assert mode_metrics(inside[None], GRID_CENTERS, GRID_STD) == {"modes": 1.0, "high_quality": 100.0}
    assert mode_metrics(outside[None], GRID_CENTERS, GRID_STD) == {"modes": 0.0, "high_quality": 0.0}
    both = torch.stack([inside, outside, outside, outside])
    assert mode_metrics(both, GRID_CENTERS, GRID_STD) == {"modes": 1.0, "high_quality": 25.0}


def test_reconstruction_mse_is_on_the_unit_pixel_scale() -> None:
    assert reconstruction_mse(-torch.ones(2, 1, 3, 3), torch.ones(2, 1, 3, 3)).item() == 1.0
    x = torch.tensor([[-1.0, 0.0], [1.0, 0.5]])
    x_rec = torch.tensor([[0.0, 0.0], [1.0, -0.5]])
    # on [0, 1]: |0 - 0.5| and |0.75 - 0.25| are 0.5 -> squared 0.25 twice, over 4 pixels
    assert reconstruction_mse(x, x_rec).item() == pytest.approx(0.125)
    with pytest.raises(ValueError):
        reconstruction_mse(x, x_rec[:1])


# --------------------------------------------------------------------------- shared helpers


def test_is_due_counts_epochs_from_one() -> None:
    assert [epoch for epoch in range(10) if is_due(epoch, 3)] == [2, 5, 8]
    assert all(is_due(epoch, 1) for epoch in range(4))


def test_evaluating_sets_eval_no_grad_and_restores_modes_and_rng() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Dropout())
    model[1].eval()  # a frozen BatchNorm in an otherwise training model must stay frozen
    before = [module.training for module in model.modules()]
    rng_before = torch.get_rng_state()
    with evaluating(model):
        assert not any(module.training for module in model.modules())
        assert not torch.is_grad_enabled()
        torch.randn(100)
    assert [module.training for module in model.modules()] == before == [True, True, False, True]
    assert torch.is_grad_enabled()
    assert torch.equal(torch.get_rng_state(), rng_before)


def test_log_image_to_loggers_sends_to_wandb_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    calls: list[dict] = []
    original_log_image = WandbLogger.log_image

    def spy(self: WandbLogger, **kwargs: object) -> None:
        calls.append(kwargs)
        original_log_image(self, **kwargs)

    monkeypatch.setattr(WandbLogger, "log_image", spy)
    wandb_logger = WandbLogger(save_dir=str(tmp_path), offline=True, project="zoo-tests")
    trainer = L.Trainer(logger=[CSVLogger(tmp_path), wandb_logger], accelerator="cpu", enable_progress_bar=False)
    png = tmp_path / "panel.png"
    save_image(torch.rand(3, 8, 8), png)
    try:
        log_image_to_loggers(trainer, "images/samples", png)
        log_image_to_loggers(trainer, "images/tensor", torch.rand(3, 8, 8))
    finally:
        wandb_logger.experiment.finish()
    assert [call["key"] for call in calls] == ["images/samples", "images/tensor"]
    assert all(call["step"] == trainer.global_step for call in calls)


def test_log_image_to_loggers_sends_chw_images_to_tensorboard(tmp_path: Path) -> None:
    class RecordingTensorBoardLogger(TensorBoardLogger):
        """Stands in for TensorBoard (not installed here): records add_image calls."""

        def __init__(self) -> None:
            self.added: list[tuple[str, Tensor, int]] = []

        @property
        def experiment(self) -> RecordingTensorBoardLogger:
            return self

        def add_image(self, tag: str, image: Tensor, global_step: int, dataformats: str) -> None:
            assert dataformats == "CHW"
            self.added.append((tag, image, global_step))

    tensorboard = RecordingTensorBoardLogger()
    png = tmp_path / "panel.png"
    save_image(torch.rand(1, 8, 6), png)
    log_image_to_loggers(SimpleNamespace(loggers=[tensorboard], global_step=7), "images/samples", png)
    (tag, image, step), = tensorboard.added
    assert (tag, tuple(image.shape), step) == ("images/samples", (3, 8, 6), 7)


# --------------------------------------------------------------------------- fits


@pytest.mark.parametrize("model_class", [FakeGenerativeModel, FakeGeneratorOnly])
def test_fit_on_2d_grid_writes_scatters_mode_counts_and_summary(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    model_class: type[FakeGenerativeModel],
) -> None:
    model = model_class(image_shape=(2,))
    mode_counting_calls: list[Tensor] = []

    def numbered_mode_metrics(samples: Tensor, centers: Tensor, std: float) -> dict[str, float]:
        # Each evaluation returns its call number, so the summary must hold the final evaluation's.
        assert samples.shape == (500, 2) and torch.equal(centers, GRID_CENTERS) and std == GRID_STD
        mode_counting_calls.append(samples)
        return {"modes": float(len(mode_counting_calls)), "high_quality": 10.0 * len(mode_counting_calls)}

    monkeypatch.setattr("callbacks.mode_counting.mode_metrics", numbered_mode_metrics)
    callbacks = [
        MetricsSummary(),  # first on purpose: the final evaluations must still reach it
        ModeCounting(num_samples=500, every_n_epochs=2),
        SamplePanels(every_n_epochs=2, num_scatter=300),
        ReconstructionMSE(every_n_epochs=2),
    ]
    log_dir = fit(tmp_path, model, FakeToyGrid(), callbacks, max_epochs=3)

    # every 2nd epoch (index 1) plus the final weights (index 2); never epoch index 0
    images = log_dir / "images"
    kinds = ["scatter_samples"] + (["scatter_reconstructions"] if model.has_encoder else [])
    for kind in kinds:
        for name in (f"{kind}_epoch0001.png", f"{kind}_epoch0002.png", f"{kind}_last.png"):
            assert (images / name).is_file(), name
    assert sorted(path.name for path in images.glob("*_epoch0000.png")) == []
    assert (images / "scatter_reconstructions_last.png").exists() == model.has_encoder
    assert model.sampling_modes and not any(model.sampling_modes)

    summary = json.loads((log_dir / "metrics.json").read_text())
    assert FIXED_SUMMARY_KEYS <= summary.keys()
    assert summary["status"] == "finished"
    assert (summary["epoch"], summary["model"], summary["data"]) == (3, model_class.__name__, "FakeToyGrid")
    assert len(mode_counting_calls) == 2
    assert (summary["modes/captured"], summary["modes/high_quality"]) == (2.0, 20.0)
    assert ("val/recon_mse" in summary) == model.has_encoder
    assert logged_values(log_dir, "modes/captured") == [1.0, 2.0]

    printed = capsys.readouterr().out
    assert str(log_dir / "metrics.json") in printed
    assert re.search(rf"^modes/captured +{summary['modes/captured']:.4g}$", printed, flags=re.MULTILINE)


def test_fit_on_images_writes_panels_and_exact_reconstruction_mse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = FakeGenerativeModel(image_shape=(1, 8, 8))
    data = FakeImages()
    callbacks = [
        SamplePanels(num_samples=9, num_reconstructions=4),
        ReconstructionMSE(max_batches=None),
        MetricsSummary(),
    ]
    log_dir = fit(tmp_path, model, data, callbacks, max_epochs=2)

    images = log_dir / "images"
    for kind in ("samples", "reconstructions", "interpolations"):
        for name in (f"{kind}_epoch0000.png", f"{kind}_epoch0001.png", f"{kind}_last.png"):
            assert (images / name).is_file(), name
    tile = 8 + 2  # make_grid pads every 8x8 image by 2 pixels
    # 3x3 samples; 4 originals beside their reconstructions, 2 pairs per row; 2 pairs x 8 steps
    assert read_image(str(images / "samples_last.png")).shape[1:] == (3 * tile + 2, 3 * tile + 2)
    assert read_image(str(images / "reconstructions_last.png")).shape[1:] == (2 * tile + 2, 4 * tile + 2)
    assert read_image(str(images / "interpolations_last.png")).shape[1:] == (2 * tile + 2, 8 * tile + 2)
    assert not any(model.sampling_modes)

    summary = json.loads((log_dir / "metrics.json").read_text())
    assert FIXED_SUMMARY_KEYS <= summary.keys()
    all_images = data.dataset.tensors[0]
    with torch.no_grad():
        expected = reconstruction_mse(all_images, model.reconstruct(all_images)).item()
    assert summary["val/recon_mse"] == pytest.approx(expected, rel=1e-5)
    assert "val/recon_mse" in capsys.readouterr().out


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, SIGTERMException], ids=["ctrl-c", "sigterm"])
def test_summary_marks_an_interrupted_fit(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          interruption: type[BaseException]) -> None:
    model = FakeGeneratorOnly(image_shape=(2,))
    model.interrupt_at_batch = 1
    model.interruption = interruption
    sigint_handler = signal.getsignal(signal.SIGINT)  # Lightning ignores SIGINT after a KeyboardInterrupt
    try:
        with pytest.raises(SystemExit):
            fit(tmp_path, model, FakeToyGrid(), [MetricsSummary()], max_epochs=1)
    finally:
        signal.signal(signal.SIGINT, sigint_handler)
    (summary_path,) = tmp_path.rglob("metrics.json")
    summary = json.loads(summary_path.read_text())
    assert summary["status"] == "interrupted"
    assert summary["epoch"] == 0 and summary["data"] == "FakeToyGrid"
    assert str(summary_path) in capsys.readouterr().out


def test_mode_counting_without_mixture_datamodule_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="centers"):
        fit(tmp_path, FakeGeneratorOnly(image_shape=(2,)), FakeImages(), [ModeCounting()], max_epochs=1)


# ------------------------------------------------------------------ scatter plots, resume hint, checkpoints
def test_scatter_legend_sits_outside_the_axes_and_the_step_is_shown():
    from callbacks.images import scatter_figure
    from datamodules import Grid25

    centers = Grid25(num_train=100, num_val=100).centers
    figure = scatter_figure(torch.randn(200, 2) * 3, "generated", torch.randn(100, 2) * 3, centers,
                            title="generated: epoch 3, step 6000")
    axes = figure.axes[0]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(figure).get_renderer()
    legend_box, axes_box = axes.get_legend().get_window_extent(renderer), axes.get_window_extent(renderer)
    assert legend_box.x0 >= axes_box.x1  # to the right of the plot: it covers no mode
    assert axes.get_title() == "generated: epoch 3, step 6000"


def test_resume_hint_does_not_repeat_a_ckpt_path_the_command_has(tmp_path):
    from callbacks.interrupt import resume_hint

    saved = tmp_path / "checkpoints" / "last.ckpt"
    assert resume_hint(None, saved) == f"Resume with the same command plus --ckpt_path {saved}"
    assert resume_hint(str(saved), saved) == "Resume with the same command (its --ckpt_path is this checkpoint)"
    other = tmp_path / "old" / "last.ckpt"
    assert resume_hint(str(other), saved) == f"Resume with the same command, its --ckpt_path replaced by {saved}"
    assert "plus" not in resume_hint(str(other), saved)


class LogScore(L.Callback):
    """Logs ``score`` = ``scores[epoch]`` at each epoch end, before the checkpoint callbacks run."""

    def __init__(self, scores):
        self.scores = scores

    def on_train_epoch_end(self, trainer, pl_module):
        pl_module.log("score", float(self.scores[trainer.current_epoch]))


def test_checkpoints_store_no_weights_twice_and_the_best_survives_a_newer_last(tmp_path):
    from callbacks import BestCheckpoint, LastCheckpoint

    model, data = FakeGenerativeModel(image_shape=(2,)), FakeToyGrid()
    folder = tmp_path / "checkpoints"
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False,
                        max_epochs=3, limit_train_batches=2, default_root_dir=tmp_path,
                        callbacks=[LogScore([1.0, 3.0, 2.0]), LastCheckpoint(dirpath=folder),
                                   BestCheckpoint(dirpath=folder, monitor="score", mode="max", save_top_k=1,
                                                  filename="best-{epoch}")])
    trainer.fit(model, datamodule=data)
    assert sorted(p.name for p in folder.iterdir()) == ["best-epoch=1.ckpt", "last.ckpt"]  # no epoch copies
    best, last = folder / "best-epoch=1.ckpt", folder / "last.ckpt"
    # The best (epoch 1) was a link to that epoch's last.ckpt; the epoch-2 last.ckpt replaced the name only.
    assert best.stat().st_ino != last.stat().st_ino
    assert torch.load(best, weights_only=True)["global_step"] < torch.load(last, weights_only=True)["global_step"]
    assert torch.load(best, weights_only=True)["epoch"] == 1
