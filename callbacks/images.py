"""Image panels: fixed-noise samples, reconstructions, latent interpolations, 2-D scatter plots.

The panels are those of the papers' figures: samples from fixed noise, reconstructions laid out as
aim.txt Figure 2 / Figure 6 (odd columns originals, even columns reconstructions), latent
interpolations, and for the 2-D mixtures the scatter plots of aim.txt Figure 3 (data, reconstructions,
samples).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_warn
from matplotlib.figure import Figure
from torch import Tensor
from torchvision.io import ImageReadMode, read_image
from torchvision.utils import save_image

from callbacks._common import (
    PeriodicEvaluation,
    at_least_float32,
    evaluating,
    has_val_dataloader,
    module_device,
    resolve_log_dir,
    take_val_examples,
)

INTERPOLATION_STEPS = 8


def to_unit_range(images: Tensor) -> Tensor:
    """Map images from [-1, 1] to [0, 1] for display, clamping whatever lies outside. At least float32
    (a bf16 batch from a forward pass under autocast is upcast), so saved images never carry bf16 steps."""
    images = at_least_float32(images)
    return (images.clamp(-1, 1) + 1) / 2


def log_image_to_loggers(trainer: L.Trainer, key: str, image: str | Path | Tensor) -> None:
    """Send one image to every logger of ``trainer`` that shows images, at ``trainer.global_step``.

    ``image`` is a PNG path or a ``(C, H, W)`` tensor (float in [0, 1] or uint8). W&B gets
    ``log_image``, TensorBoard gets ``experiment.add_image``; other loggers (CSV) are skipped: the
    PNG files on disk are their record.
    """
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            wandb_image = str(image) if isinstance(image, (str, Path)) else _hwc_uint8(image)
            logger.log_image(key=key, images=[wandb_image], step=trainer.global_step)
        elif isinstance(logger, TensorBoardLogger):
            chw = read_image(str(image), ImageReadMode.RGB) if isinstance(image, (str, Path)) else image.detach().cpu()
            logger.experiment.add_image(key, chw, global_step=trainer.global_step, dataformats="CHW")


def _hwc_uint8(image: Tensor) -> np.ndarray:
    image = image.detach().cpu()
    if image.is_floating_point():
        image = (image.clamp(0, 1) * 255).round().to(torch.uint8)
    return image.permute(1, 2, 0).numpy()


def interpolate_codes(pl_module: L.LightningModule, images: Tensor, steps: int = INTERPOLATION_STEPS) -> Tensor:
    """Decodings along straight lines between the codes of image pairs ``(0, 1), (2, 3), ...``.

    Returns ``(pairs * steps, C, H, W)`` images, one pair after another; each pair's ``steps``
    decodings run from ``G(E(x_a))`` to ``G(E(x_b))`` inclusive. An odd last image is ignored.
    """
    pair_count = images.shape[0] // 2
    codes = pl_module.encode(images[: 2 * pair_count])
    start, end = codes[0::2].unsqueeze(1), codes[1::2].unsqueeze(1)
    weights = torch.linspace(0, 1, steps, device=codes.device, dtype=codes.dtype)
    weights = weights.view(1, steps, *([1] * (codes.dim() - 1)))
    return pl_module.generate((start + weights * (end - start)).flatten(0, 1))


def image_panels(model: L.LightningModule, noise: Tensor, real: Tensor | None,
                 posterior_samples: int = 0) -> dict[str, tuple[Tensor, int]]:
    """The papers' image panels as ``{kind: (images, columns)}``, from fixed noise and real images.

    ``samples``: G(noise), in a square grid. With ``real`` (models with an encoder):
    ``reconstructions``, originals in odd columns and G(E(x)) beside them (aim.txt Figure 2);
    ``interpolations``: one row per pair of real images, decodings along the segment between
    their codes; and, when ``posterior_samples`` > 0 and the model has ``sample_posterior``,
    ``posterior_samples``: each row a real image followed by G(z), z ~ q(z|x) (aim.txt Figure 5,
    'unsupervised conditional generation').
    """
    samples = model.generate(noise)
    panels = {"samples": (samples, math.ceil(math.sqrt(samples.shape[0])))}
    if real is None:
        return panels
    side_by_side = torch.stack([real, model.reconstruct(real)], dim=1).flatten(0, 1)
    panels["reconstructions"] = (side_by_side, 2 * math.ceil(math.sqrt(side_by_side.shape[0]) / 2))
    if real.shape[0] >= 2:
        panels["interpolations"] = (interpolate_codes(model, real), INTERPOLATION_STEPS)
    if posterior_samples > 0 and hasattr(model, "sample_posterior"):
        rows = real[:8]
        neighbours = model.sample_posterior(rows, posterior_samples)
        panels["posterior_samples"] = (torch.cat([rows.unsqueeze(1), neighbours], dim=1).flatten(0, 1),
                                       posterior_samples + 1)
    return panels


def save_scatter(path: Path, points: Tensor, label: str, real: Tensor | None, centers: Tensor | None,
                 title: str | None = None) -> None:
    scatter_figure(points, label, real, centers, title).savefig(path, bbox_inches="tight")


def scatter_figure(points: Tensor, label: str, real: Tensor | None, centers: Tensor | None,
                   title: str | None = None) -> Figure:
    """Points over the data (light grey) and the mode centers (crosses); the legend sits to the right of
    the axes, where it covers no mode, and ``title`` (e.g. the epoch and step) above them."""
    # A bare Figure renders with Agg and leaves pyplot's global backend and state alone.
    figure = Figure(figsize=(6, 5), dpi=100)
    axes = figure.subplots()
    if real is not None:
        axes.scatter(real[:, 0], real[:, 1], s=3, c="lightgrey", label="data")
    points = points.detach().float().cpu()
    axes.scatter(points[:, 0], points[:, 1], s=3, c="tab:blue", alpha=0.6, label=label)
    if centers is not None:
        axes.scatter(centers[:, 0], centers[:, 1], s=16, c="black", marker="x", linewidths=0.8, label="modes")
    axes.set_aspect("equal", adjustable="datalim")
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="small", markerscale=2)
    if title:
        axes.set_title(title, fontsize="medium")
    return figure


class SamplePanels(PeriodicEvaluation):
    """Write PNG panels to ``<log_dir>/images`` and to image-capable loggers.

    Every ``every_n_epochs`` epochs and on the final weights (see :class:`PeriodicEvaluation`):

    - image data ``(C, H, W)``: ``samples`` (``num_samples`` decodings of fixed noise); for models
      with an encoder, ``reconstructions`` of a fixed real batch, originals in odd columns and their
      reconstructions in the even column beside them (as aim.txt Figure 2), and ``interpolations``:
      one row per pair of fixed real images, :data:`INTERPOLATION_STEPS` decodings of equally spaced
      points on the segment between their codes (endpoints included);
    - 2-D data ``(2,)``: ``scatter_samples`` (``num_scatter`` points from fixed noise, coloured, over
      ``num_scatter`` real points in light grey, mode centers as crosses when the datamodule has
      ``centers``) and, with an encoder, ``scatter_reconstructions`` of those real points.

    Files are ``<kind>_epoch<E>.png`` (``E`` = 0-based epoch, 4 digits) plus ``<kind>_last.png``,
    overwritten each time. The noise (drawn once at fit start from ``sample_prior``) and the real
    batch (the first examples of ``trainer.datamodule.val_dataloader()``, taken once) stay fixed, so
    panels compare across epochs. Without a datamodule that has ``val_dataloader``, the panels that
    need real data are skipped with a one-time warning. Only rank zero draws and writes.
    """

    def __init__(
        self, every_n_epochs: int = 1, num_samples: int = 64, num_reconstructions: int = 32, num_scatter: int = 2500
    ) -> None:
        super().__init__(every_n_epochs)
        if num_samples < 1 or num_scatter < 1 or num_reconstructions < 0:
            raise ValueError("num_samples and num_scatter must be >= 1 and num_reconstructions >= 0")
        self.num_samples = num_samples
        self.num_reconstructions = num_reconstructions
        self.num_scatter = num_scatter
        self._image_dir: Path | None = None
        self._is_2d = False
        self._fixed_noise: Tensor | None = None
        self._fixed_real: Tensor | None = None
        self._centers: Tensor | None = None

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_fit_start(trainer, pl_module)
        self._image_dir = resolve_log_dir(trainer) / "images"
        image_shape = tuple(pl_module.image_shape)
        if image_shape != (2,) and len(image_shape) != 3:
            raise ValueError(f"SamplePanels draws (C, H, W) images or 2-D points, not samples of shape {image_shape}")
        self._is_2d = image_shape == (2,)
        if not trainer.is_global_zero:
            return
        with evaluating(pl_module):
            self._fixed_noise = pl_module.sample_prior(self.num_scatter if self._is_2d else self.num_samples)
        self._fixed_real = self._take_fixed_real(trainer, pl_module)
        centers = getattr(trainer.datamodule, "centers", None)
        self._centers = torch.as_tensor(centers).cpu() if centers is not None else None

    def _take_fixed_real(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Tensor | None:
        if self._is_2d:
            count = self.num_scatter
        else:
            count = self.num_reconstructions if pl_module.has_encoder else 0
        if count == 0:
            return None
        if not has_val_dataloader(trainer.datamodule):
            rank_zero_warn("SamplePanels: no datamodule with val_dataloader(); panels that need real data are skipped.")
            return None
        return take_val_examples(trainer.datamodule, count).to(module_device(pl_module))

    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule, epoch: int) -> dict[str, float]:
        if not trainer.is_global_zero:
            return {}
        assert self._image_dir is not None and self._fixed_noise is not None
        self._image_dir.mkdir(parents=True, exist_ok=True)
        noise = self._fixed_noise.to(module_device(pl_module))
        real = self._fixed_real
        with_reconstructions = bool(pl_module.has_encoder) and real is not None
        if self._is_2d:
            self._publish_scatter(trainer, "scatter_samples", epoch, pl_module.generate(noise), "generated")
            if with_reconstructions:
                reconstructions = pl_module.reconstruct(real)
                self._publish_scatter(trainer, "scatter_reconstructions", epoch, reconstructions, "reconstructed")
            return {}
        for kind, (images, columns) in image_panels(pl_module, noise, real if with_reconstructions else None).items():
            self._publish_grid(trainer, kind, epoch, images, columns)
        return {}

    def _publish_grid(self, trainer: L.Trainer, kind: str, epoch: int, images: Tensor, columns: int) -> None:
        path = self._epoch_path(kind, epoch)
        save_image(to_unit_range(images), path, nrow=columns)
        self._publish(trainer, kind, path)

    def _publish_scatter(self, trainer: L.Trainer, kind: str, epoch: int, points: Tensor, label: str) -> None:
        path = self._epoch_path(kind, epoch)
        real = self._fixed_real.cpu() if self._fixed_real is not None else None
        title = f"{label}: epoch {trainer.current_epoch}, step {trainer.global_step}"
        save_scatter(path, points, label, real, self._centers, title)
        self._publish(trainer, kind, path)

    def _epoch_path(self, kind: str, epoch: int) -> Path:
        assert self._image_dir is not None
        return self._image_dir / f"{kind}_epoch{epoch:04d}.png"

    def _publish(self, trainer: L.Trainer, kind: str, path: Path) -> None:
        shutil.copyfile(path, path.with_name(f"{kind}_last.png"))
        log_image_to_loggers(trainer, f"images/{kind}", path)


def write_demo(model: L.LightningModule, real: Tensor | None, out_dir: str | Path, num_samples: int = 64,
               posterior_samples: int = 7, seed: int = 0, centers: Tensor | None = None) -> list[Path]:
    """PNG panels of a trained model into ``out_dir``: what ``python cli.py demo`` writes.

    Images: ``samples.png`` and, for models with an encoder and given ``real`` images,
    ``reconstructions.png``, ``interpolations.png`` and (stochastic encoders) ``posterior_samples.png``.
    2-D data: ``scatter_samples.png`` and ``scatter_reconstructions.png``. Deterministic for a seed.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with evaluating(model):
        torch.manual_seed(seed)
        device = module_device(model)
        real = real.to(device) if real is not None and model.has_encoder else None
        written = []
        if tuple(model.image_shape) == (2,):
            noise = model.sample_prior(max(num_samples, 2500))
            reference = real.cpu() if real is not None else None
            save_scatter(out_dir / "scatter_samples.png", model.generate(noise), "generated", reference, centers)
            written.append(out_dir / "scatter_samples.png")
            if real is not None:
                save_scatter(out_dir / "scatter_reconstructions.png", model.reconstruct(real), "reconstructed",
                             reference, centers)
                written.append(out_dir / "scatter_reconstructions.png")
            return written
        panels = image_panels(model, model.sample_prior(num_samples), real, posterior_samples)
        for kind, (images, columns) in panels.items():
            save_image(to_unit_range(images), out_dir / f"{kind}.png", nrow=columns)
            written.append(out_dir / f"{kind}.png")
    return written
