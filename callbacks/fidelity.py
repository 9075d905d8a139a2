"""FID, Inception Score and KID with the standard Inception of the literature, cached real statistics.

The numbers compare with published ones because the features are torch-fidelity's port of the
TensorFlow FID Inception (``pt_inception-2015-12-05``: 2048-d pool features, 1008 logits, its own
TF1-compatible bilinear resize to 299 x 299 from uint8 RGB). The metric formulas are the standard
ones: FID = Frechet distance of the Gaussian fits (:mod:`callbacks.frechet`, float64); IS and KID are
torch-fidelity's (``isc_features_to_metric``: 10 splits; ``kid_features_to_metric``: polynomial
kernel of degree 3, 100 subsets of 1000).

Pure functions take uint8 images or features and return numbers; :class:`FidelityMetrics` is the
callback for training-time logging and ``python cli.py evaluate`` uses the same functions.

Offline machines: pass the weights file (``inception_weights``) or put it in the torch hub cache
(``$TORCH_HOME/hub/checkpoints/``); without it a :class:`InceptionWeightsError` says which file to
fetch from where and where to put it. ``python cli.py fetch-weights`` downloads it on a machine with
internet access.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import lightning as L
import torch
from torch import Tensor, nn

from callbacks._common import PeriodicEvaluation
from callbacks.frechet import frechet_distance, gaussian_statistics

INCEPTION_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
INCEPTION_FILE = INCEPTION_URL.rsplit("/", 1)[1]
METRICS = ("fid", "is", "kid")


class InceptionWeightsError(FileNotFoundError):
    """The Inception weights are neither at the given path, nor in the torch hub cache, nor downloadable."""


def inception_cache_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def weights_help(looked_at: Iterable[Path]) -> str:
    places = ", ".join(str(p) for p in looked_at)
    return (f"the Inception weights for FID / IS / KID were not found (looked at: {places}) and could not be "
            f"downloaded. Fetch {INCEPTION_URL} on a machine with internet access (or run `python cli.py "
            f"fetch-weights` there) and either put it at {inception_cache_path()} or pass its path with "
            "--inception_weights PATH")


class FeatureExtractor(Protocol):
    """uint8 RGB images (n, 3, H, W) -> {"features": (n, d) float32, "logits": (n, k) float32}."""

    name: str

    def __call__(self, images: Tensor) -> dict[str, Tensor]: ...


class InceptionExtractor(nn.Module):
    """torch-fidelity's FID Inception-v3: 2048-d features and the 1008 'unbiased' logits for IS."""

    name = "inception-v3-compat"

    def __init__(self, weights_path: str | Path | None = None) -> None:
        super().__init__()
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        path = Path(weights_path) if weights_path is not None else inception_cache_path()
        if weights_path is not None and not path.is_file():
            raise InceptionWeightsError(weights_help([path]))
        try:
            self.net = FeatureExtractorInceptionV3(
                self.name, ["2048", "logits_unbiased"],
                feature_extractor_weights_path=str(path) if path.is_file() else None,
            )
        except OSError as error:  # URLError, HTTPError, socket errors: offline
            raise InceptionWeightsError(f"{weights_help([path])} ({type(error).__name__}: {error})") from None
        self.net.eval().requires_grad_(False)

    @torch.inference_mode()
    def forward(self, images: Tensor) -> dict[str, Tensor]:
        features, logits = self.net(images)
        return {"features": features.float(), "logits": logits.float()}


def to_uint8_rgb(images: Tensor) -> Tensor:
    """Images in [-1, 1] (n, C, H, W), C = 1 or 3, as the uint8 RGB the Inception protocol reads."""
    if images.dim() != 4 or images.size(1) not in (1, 3):
        raise ValueError(f"FID / IS / KID need image batches (n, 1 or 3, H, W), got shape {tuple(images.shape)}")
    pixels = ((images.float() + 1.0) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
    return pixels.expand(-1, 3, -1, -1) if pixels.size(1) == 1 else pixels


@dataclass(frozen=True)
class FidelityProtocol:
    """How a FID / IS / KID number was measured; logged and written next to every value."""

    extractor: str
    num_real: int
    num_fake: int
    real_split: str
    image_shape: tuple[int, ...]
    resize: str = "uint8 RGB, bilinear (TF1-compatible, torch-fidelity) to 299x299"
    dtype: str = "float32 features, float64 statistics"
    seed: int = 0


def extract(extractor: Callable[[Tensor], dict[str, Tensor]], batches: Iterable[Tensor],
            limit: int) -> dict[str, Tensor]:
    """Run ``extractor`` over image batches in [-1, 1] until ``limit`` images; outputs on the CPU."""
    outputs: dict[str, list[Tensor]] = {}
    seen = 0
    for images in batches:
        images = images[: limit - seen]
        for key, value in extractor(to_uint8_rgb(images)).items():
            outputs.setdefault(key, []).append(value.cpu())
        seen += images.size(0)
        if seen >= limit:
            break
    if seen < limit:
        raise ValueError(f"only {seen} images were available, {limit} were asked for")
    return {key: torch.cat(values) for key, values in outputs.items()}


def generated_batches(model: Any, num_samples: int, batch_size: int) -> Iterator[Tensor]:
    """Batches of ``model.sample`` (no grad), ``num_samples`` images in all."""
    for start in range(0, num_samples, batch_size):
        yield model.sample(min(batch_size, num_samples - start))


def real_batches(datamodule: Any, split: str) -> Iterator[Tensor]:
    """The images of a zoo datamodule's split in [-1, 1], in stored order, as the model saw them in training."""
    for batch in evaluation_loader(datamodule, split):
        yield batch[0] if isinstance(batch, (tuple, list)) else batch


def evaluation_loader(datamodule: Any, split: str) -> Iterable:
    """The datamodule's unshuffled batches of ``split``."""
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    return datamodule._evaluation_loader(split)


# ------------------------------------------------------------------------------------ the metrics
def fid(real: dict[str, Tensor], fake: dict[str, Tensor]) -> float:
    """FID between the Gaussian fits of the Inception features (``real`` may hold cached statistics)."""
    real_mean, real_cov = (real["mean"], real["cov"]) if "mean" in real else gaussian_statistics(real["features"])
    return float(frechet_distance(real_mean, real_cov, *gaussian_statistics(fake["features"])))


def inception_score(fake: dict[str, Tensor], splits: int = 10, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of exp(E_x KL(p(y|x) || p(y))) over ``splits`` splits (torch-fidelity's ISC)."""
    from torch_fidelity.metric_isc import isc_features_to_metric

    result = isc_features_to_metric(fake["logits"], splits=splits, shuffle=True, rng_seed=seed)
    return result["inception_score_mean"], result["inception_score_std"]


def kernel_inception_distance(real: dict[str, Tensor], fake: dict[str, Tensor], subsets: int = 100,
                              subset_size: int = 1000, seed: int = 0, degree: int = 3, gamma: float | None = None,
                              coef0: float = 1.0) -> tuple[float, float]:
    """(mean, std) of the unbiased polynomial-kernel MMD^2 over random subsets (torch-fidelity's KID),
    with the kernel k(x, y) = (gamma <x, y> + coef0) ** degree (gamma None: 1 / feature dimension)."""
    from torch_fidelity.metric_kid import kid_features_to_metric

    if "features" not in real:
        raise ValueError("KID needs real features, not only statistics (the cache keeps features for KID)")
    subset_size = min(subset_size, len(real["features"]), len(fake["features"]))
    result = kid_features_to_metric(real["features"], fake["features"], kid_subsets=subsets,
                                    kid_subset_size=subset_size, rng_seed=seed, verbose=False,
                                    **kid_kernel_arguments(degree, gamma, coef0))
    return result["kernel_inception_distance_mean"], result["kernel_inception_distance_std"]


def kid_kernel_arguments(degree: int, gamma: float | None, coef0: float) -> dict[str, Any]:
    """The polynomial kernel's arguments under the names of the installed torch-fidelity.

    torch-fidelity 0.4 renamed ``kid_degree`` / ``kid_gamma`` / ``kid_coef0`` to
    ``kid_kernel_poly_*`` (and added ``kid_kernel``); it reads keyword arguments by name with defaults,
    so the old names would be ignored without a word.
    """
    from torch_fidelity.defaults import DEFAULTS

    if "kid_kernel_poly_degree" in DEFAULTS:
        return {"kid_kernel": "poly", "kid_kernel_poly_degree": degree, "kid_kernel_poly_gamma": gamma,
                "kid_kernel_poly_coef0": coef0}
    if "kid_degree" in DEFAULTS:
        return {"kid_degree": degree, "kid_gamma": gamma, "kid_coef0": coef0}
    raise RuntimeError("this torch-fidelity names the KID kernel arguments neither kid_kernel_poly_degree (0.4) "
                       "nor kid_degree (0.3); install torch-fidelity 0.3 or 0.4")


# ------------------------------------------------------------------------------------ real statistics
# Datamodule arguments that change how the data is loaded, not which images are served.
LOADING_ARGUMENTS = frozenset({"batch_size", "device", "download", "cache", "cache_dir", "decode_workers",
                               "num_workers", "pin_memory", "persistent_workers"})
FINGERPRINT_IMAGES = 1024


def data_arguments(datamodule: Any) -> dict[str, Any]:
    """The datamodule's hyper-parameters that decide its images (``data_dir`` made absolute)."""
    hparams = dict(getattr(datamodule, "hparams", None) or {})
    arguments = {name: value for name, value in hparams.items() if name not in LOADING_ARGUMENTS}
    if isinstance(arguments.get("data_dir"), (str, Path)):
        arguments["data_dir"] = str(Path(arguments["data_dir"]).expanduser().resolve())
    return arguments


def data_fingerprint(datamodule: Any, split: str, num_images: int = FINGERPRINT_IMAGES) -> str:
    """A hash of the split's size and of its first ``num_images`` images as uint8 RGB: cheap (a batch
    or a few), independent of the batch size and device, and different for different data."""
    digest = hashlib.sha1()
    loader = evaluation_loader(datamodule, split)
    digest.update(str(getattr(loader, "num_samples", "")).encode())
    seen = 0
    for batch in loader:
        images = (batch[0] if isinstance(batch, (tuple, list)) else batch)[: num_images - seen]
        digest.update(to_uint8_rgb(images).cpu().contiguous().numpy().tobytes())
        seen += images.size(0)
        if seen >= num_images:
            break
    return digest.hexdigest()


def real_statistics_key(dataset: str, split: str, image_shape: tuple[int, ...], num_real: int,
                        extractor: str, resize: str, arguments: dict[str, Any] | None = None,
                        fingerprint: str = "") -> str:
    """The cache file name of real statistics: readable, plus a hash of everything that decides them,
    including the datamodule's data arguments and a fingerprint of its images (LSUN bedroom and
    church_outdoor, CelebA crops 140 and 160, or two image folders must never share statistics)."""
    text = json.dumps([dataset, split, list(image_shape), num_real, extractor, resize, arguments or {}, fingerprint],
                      sort_keys=True, default=str)
    readable = f"{dataset}-{split}-{'x'.join(map(str, image_shape))}-{num_real}-{extractor}"
    return f"{readable}-{hashlib.sha1(text.encode()).hexdigest()[:16]}"


def real_statistics_key_of(datamodule: Any, split: str, num_real: int, extractor: Callable) -> str:
    """:func:`real_statistics_key` of ``datamodule``'s ``split`` (set up) for ``extractor``."""
    name = getattr(extractor, "name", type(extractor).__name__)
    return real_statistics_key(type(datamodule).__name__, split, tuple(datamodule.image_shape), num_real, name,
                               FidelityProtocol.resize, data_arguments(datamodule),
                               data_fingerprint(datamodule, split))


def real_statistics(datamodule: Any, split: str, num_real: int, extractor: Callable, cache_dir: Path | None,
                    keep_features: int = 10_000) -> dict[str, Tensor]:
    """Features statistics of ``num_real`` real images, computed once and cached under ``cache_dir``.

    The cache key (:func:`real_statistics_key_of`) holds the dataset, its data arguments and a
    fingerprint of its images, the split, image shape, sample count, extractor and resize method.
    The mean and covariance are stored (float64), plus the first ``keep_features`` features for KID.
    """
    path = None
    if cache_dir is not None:
        path = cache_dir / f"{real_statistics_key_of(datamodule, split, num_real, extractor)}.pt"
    if path is not None and path.is_file():
        return torch.load(path, map_location="cpu", weights_only=True)
    outputs = extract(extractor, real_batches(datamodule, split), num_real)
    mean, cov = gaussian_statistics(outputs["features"])
    stats = {"mean": mean, "cov": cov, "features": outputs["features"][:keep_features].clone()}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(stats, path)
    return stats


def default_cache_dir() -> Path:
    return Path(torch.hub.get_dir()).parent / "gan-zoo" / "real_statistics"


def evaluate_fidelity(model: Any, datamodule: Any, extractor: Callable, metrics: Iterable[str] = METRICS,
                      num_fake: int = 10_000, num_real: int = 10_000, split: str = "test", batch_size: int = 250,
                      cache_dir: Path | None = None, seed: int = 0) -> dict[str, Any]:
    """The asked-for metrics of ``model`` against ``datamodule``'s ``split``, with their protocol."""
    metrics = tuple(metrics)
    unknown = sorted(set(metrics) - set(METRICS))
    if unknown:
        raise ValueError(f"unknown fidelity metrics {unknown}; available: {', '.join(METRICS)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fake = extract(extractor, generated_batches(model, num_fake, batch_size), num_fake)
    results: dict[str, Any] = {}
    if "fid" in metrics or "kid" in metrics:
        real = real_statistics(datamodule, split, num_real, extractor, cache_dir)
        if "fid" in metrics:
            results["fid"] = fid(real, fake)
        if "kid" in metrics:
            results["kid_mean"], results["kid_std"] = kernel_inception_distance(real, fake, seed=seed)
    if "is" in metrics:
        results["is_mean"], results["is_std"] = inception_score(fake, seed=seed)
    protocol = FidelityProtocol(extractor=getattr(extractor, "name", type(extractor).__name__), num_real=num_real,
                         num_fake=num_fake, real_split=split, image_shape=tuple(datamodule.image_shape), seed=seed)
    results["protocol"] = asdict(protocol)
    return results


class FidelityMetrics(PeriodicEvaluation):
    """Log FID / IS / KID (``fidelity/fid``, ``fidelity/is_mean``, ``fidelity/kid_mean``, ...) every
    ``every_n_epochs`` training epochs and on the final weights; the protocol goes to the loggers' hyper-parameters.

    Args:
        metrics: any of "fid", "is", "kid".
        num_fake, num_real: images generated / taken from ``split`` (the literature uses 50k / the
            whole training set; 10k keeps a training-time check affordable).
        inception_weights: path of the Inception weights for offline machines (see module doc).
        cache_dir: where real statistics are cached (default ``$TORCH_HOME/gan-zoo/real_statistics``).
        extractor: a custom feature extractor (tests use a small one); default the Inception.
    """

    def __init__(self, metrics: Iterable[str] = ("fid",), every_n_epochs: int = 10, num_fake: int = 10_000,
                 num_real: int = 10_000, split: str = "test", batch_size: int = 250,
                 inception_weights: str | None = None, cache_dir: str | None = None,
                 extractor: Callable | None = None) -> None:
        super().__init__(every_n_epochs=every_n_epochs)
        self.metrics = tuple(metrics)
        unknown = sorted(set(self.metrics) - set(METRICS))
        if unknown:
            raise ValueError(f"unknown fidelity metrics {unknown}; available: {', '.join(METRICS)}")
        self.num_fake, self.num_real, self.split, self.batch_size = num_fake, num_real, split, batch_size
        self.inception_weights = inception_weights
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._extractor = extractor
        self.protocol: dict[str, Any] | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # Fail at the start of fit, not after the first epoch. Only rank zero evaluates (see
        # PeriodicEvaluation), so the other DDP ranks need no Inception in memory.
        if self._extractor is None and trainer.is_global_zero:
            self._extractor = InceptionExtractor(self.inception_weights)

    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule, epoch: int) -> dict[str, float]:
        extractor = self._extractor
        if isinstance(extractor, nn.Module):
            extractor.to(pl_module.device)
        results = evaluate_fidelity(pl_module, trainer.datamodule, extractor, self.metrics, self.num_fake,
                                    self.num_real, self.split, self.batch_size, self.cache_dir)
        self.protocol = results.pop("protocol")
        if trainer.is_global_zero and self.protocol != getattr(self, "_logged_protocol", None):
            for logger in trainer.loggers:  # once per run: the protocol next to the values
                logger.log_hyperparams({"fidelity_protocol": self.protocol})
            self._logged_protocol = self.protocol
        return {f"fidelity/{name}": value for name, value in results.items()}
