"""FID / IS / KID: the Inception path's plumbing with a small stand-in extractor, and offline errors."""

from __future__ import annotations

import math
import urllib.error

import numpy as np
import pytest
import torch

from callbacks import fidelity
from callbacks.fidelity import (
    FidelityMetrics,
    InceptionExtractor,
    InceptionWeightsError,
    evaluate_fidelity,
    inception_score,
    real_statistics,
)
from callbacks.frechet import frechet_distance
from datamodules.base import ZooDataModule


class PixelFeatures:
    """Stand-in for the Inception: features = the pixels of an 8x8 RGB image scaled to [0, 1]."""

    name = "pixels-8x8"

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        self.calls += 1
        features = images.float().flatten(1) / 255.0
        return {"features": features, "logits": features[:, :10] * 20}


class UInt8Images(ZooDataModule):
    """A datamodule over given uint8 images, scaled to [-1, 1] like the zoo's image datamodules."""

    def __init__(self, images: torch.Tensor) -> None:
        super().__init__(batch_size=64)
        self.splits = {"train": (images, torch.zeros(len(images))), "val": (images, torch.zeros(len(images)))}

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.splits["val"][0].shape[1:])

    def batch_transform(self):
        return lambda u: u.float() / 127.5 - 1.0


class Replay:
    """A 'model' whose samples are given images (uint8 -> [-1, 1]) in order."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images, self.position = images, 0

    def sample(self, n: int) -> torch.Tensor:
        batch = self.images[self.position:self.position + n]
        self.position += n
        return batch.float() / 127.5 - 1.0


def even_pixel_images(n: int = 600, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 100, (n, 3, 8, 8), generator=generator) * 2).to(torch.uint8)  # 0..198


def test_fid_of_a_set_against_itself_is_zero_and_a_shift_gives_the_closed_form(tmp_path):
    real = even_pixel_images()
    data = UInt8Images(real)
    same = evaluate_fidelity(Replay(real), data, PixelFeatures(), ["fid"], num_fake=600, num_real=600,
                             split="val", cache_dir=tmp_path)
    assert same["fid"] == pytest.approx(0.0, abs=1e-6)

    shifted = evaluate_fidelity(Replay(real + 20), data, PixelFeatures(), ["fid"], num_fake=600, num_real=600,
                                split="val", cache_dir=tmp_path)
    # every one of the 192 features moves by 20/255 and the covariance is unchanged
    assert shifted["fid"] == pytest.approx(192 * (20 / 255) ** 2, rel=1e-6)
    assert shifted["protocol"] == {
        "extractor": "pixels-8x8", "num_real": 600, "num_fake": 600, "real_split": "val", "image_shape": (3, 8, 8),
        "resize": fidelity.FidelityProtocol.resize, "dtype": "float32 features, float64 statistics", "seed": 0}


def test_frechet_distance_agrees_with_torch_fidelity():
    from torch_fidelity.metric_fid import fid_statistics_to_metric

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(500, 6)), rng.normal(size=(500, 6)) * 1.5 + 0.3
    stats = [{"mu": x.mean(0), "sigma": np.cov(x, rowvar=False)} for x in (a, b)]
    theirs = fid_statistics_to_metric(stats[0], stats[1], verbose=False)["frechet_inception_distance"]
    ours = frechet_distance(*(torch.from_numpy(v) for s in stats for v in (s["mu"], s["sigma"])))
    assert float(ours) == pytest.approx(theirs, rel=1e-6)


def test_real_statistics_are_cached_under_a_key_of_the_protocol(tmp_path):
    data = UInt8Images(even_pixel_images())
    extractor = PixelFeatures()
    first = real_statistics(data, "val", 500, extractor, tmp_path)
    calls = extractor.calls
    second = real_statistics(data, "val", 500, extractor, tmp_path)
    assert extractor.calls == calls  # read back, not recomputed
    assert torch.equal(first["cov"], second["cov"]) and first["features"].shape == (500, 192)
    real_statistics(data, "val", 400, extractor, tmp_path)  # another sample count: another file
    names = sorted(path.name for path in tmp_path.iterdir())
    assert len(names) == 2 and all(name.startswith("UInt8Images-val-3x8x8-") for name in names)


class CroppedImages(UInt8Images):
    """UInt8Images with data arguments, as the zoo's datamodules have (crop, category, data_dir, ...)."""

    def __init__(self, images: torch.Tensor, crop: int = 140, batch_size: int = 64, device: str = "auto") -> None:
        super().__init__(images)
        self.batch_size = batch_size
        self.save_hyperparameters(ignore=["images"])


def test_the_cache_key_identifies_the_data_not_only_its_class_and_shape():
    images = even_pixel_images()
    key = lambda data: fidelity.real_statistics_key_of(data, "val", 500, PixelFeatures())  # noqa: E731
    reference = key(CroppedImages(images, crop=140))
    assert key(CroppedImages(images, crop=140)) == reference  # the same data: the same statistics
    assert key(CroppedImages(images, crop=140, batch_size=50, device="cpu")) == reference  # loading only
    assert key(CroppedImages(images, crop=160)) != reference  # another data argument (CelebA crop 140 vs 160)
    assert key(CroppedImages(even_pixel_images(seed=1), crop=140)) != reference  # other images, same arguments
    assert key(UInt8Images(images)) != key(UInt8Images(even_pixel_images(seed=1)))  # two image folders
    assert key(CroppedImages(images)).startswith("CroppedImages-val-3x8x8-500-pixels-8x8-")


def test_two_datasets_of_one_class_and_shape_get_their_own_statistics(tmp_path):
    """LSUN bedroom vs church_outdoor: the second must not be served the first one's cached statistics."""
    first = real_statistics(UInt8Images(even_pixel_images(seed=0)), "val", 500, PixelFeatures(), tmp_path)
    other = even_pixel_images(seed=1) // 2
    second = real_statistics(UInt8Images(other), "val", 500, PixelFeatures(), tmp_path)
    uncached = real_statistics(UInt8Images(other), "val", 500, PixelFeatures(), None)
    assert not torch.equal(first["mean"], second["mean"]) and torch.equal(second["mean"], uncached["mean"])
    assert len(list(tmp_path.iterdir())) == 2


def test_inception_score_of_confident_uniform_predictions_is_the_class_count():
    logits = torch.full((1000, 10), -30.0)
    logits[torch.arange(1000), torch.arange(1000) % 10] = 30.0  # certain, and all 10 classes equally often
    mean, _ = inception_score({"logits": logits}, splits=1)
    assert mean == pytest.approx(10.0, rel=1e-4)
    one_class = torch.zeros_like(logits)
    one_class[:, 0] = 30.0
    assert inception_score({"logits": one_class}, splits=1)[0] == pytest.approx(1.0, rel=1e-4)


def test_kid_is_near_zero_for_the_same_distribution_and_positive_for_another(tmp_path):
    data = UInt8Images(even_pixel_images(n=600, seed=0))
    same = evaluate_fidelity(Replay(even_pixel_images(n=600, seed=1)), data, PixelFeatures(), ["kid"],
                             num_fake=600, num_real=600, split="val", cache_dir=tmp_path)
    other = evaluate_fidelity(Replay(even_pixel_images(n=600, seed=1) + 40), data, PixelFeatures(), ["kid"],
                              num_fake=600, num_real=600, split="val", cache_dir=tmp_path)
    assert abs(same["kid_mean"]) < 0.01 < other["kid_mean"]


def unbiased_poly_mmd2(x: torch.Tensor, y: torch.Tensor, degree: int, gamma: float, coef0: float) -> float:
    kernel = lambda a, b: (gamma * a.double() @ b.double().T + coef0) ** degree  # noqa: E731
    m = len(x)
    k_xx, k_yy, k_xy = kernel(x, x), kernel(y, y), kernel(x, y)
    off_diagonal = lambda k: (k.sum() - k.diagonal().sum()) / (m * (m - 1))  # noqa: E731
    return float(off_diagonal(k_xx) + off_diagonal(k_yy) - 2 * k_xy.mean())


def test_kid_uses_the_kernel_degree_gamma_and_coef0_it_is_given():
    """torch-fidelity 0.4 renamed these arguments; passed under the old names they were ignored."""
    extractor = PixelFeatures()
    real = extractor(even_pixel_images(n=200, seed=0))
    fake = extractor(even_pixel_images(n=200, seed=1) + 30)
    one_subset = dict(subsets=1, subset_size=200)  # every sample: no sampling noise
    cubic = fidelity.kernel_inception_distance(real, fake, **one_subset)[0]
    assert cubic == pytest.approx(unbiased_poly_mmd2(real["features"], fake["features"], 3, 1 / 192, 1), rel=1e-4)  # float32 kernels
    quadratic = fidelity.kernel_inception_distance(real, fake, degree=2, gamma=0.5, coef0=2.0, **one_subset)[0]
    assert quadratic != pytest.approx(cubic, rel=1e-3)
    assert quadratic == pytest.approx(unbiased_poly_mmd2(real["features"], fake["features"], 2, 0.5, 2.0), rel=1e-4)


def test_kid_arguments_follow_the_installed_torch_fidelity(monkeypatch):
    import torch_fidelity.defaults

    new = fidelity.kid_kernel_arguments(2, 0.5, 2.0)
    assert new == {"kid_kernel": "poly", "kid_kernel_poly_degree": 2, "kid_kernel_poly_gamma": 0.5,
                   "kid_kernel_poly_coef0": 2.0}
    monkeypatch.setattr(torch_fidelity.defaults, "DEFAULTS", {"kid_degree": 3, "kid_gamma": None, "kid_coef0": 1})
    assert fidelity.kid_kernel_arguments(2, 0.5, 2.0) == {"kid_degree": 2, "kid_gamma": 0.5, "kid_coef0": 2.0}


def test_missing_weights_file_names_the_url_and_where_to_put_it(tmp_path):
    with pytest.raises(InceptionWeightsError, match="weights-inception-2015-12-05") as error:
        InceptionExtractor(tmp_path / "nowhere.pth")
    assert str(tmp_path / "nowhere.pth") in str(error.value) and "--inception_weights" in str(error.value)


def test_offline_without_weights_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url", offline)
    with pytest.raises(InceptionWeightsError, match="fetch-weights") as error:
        InceptionExtractor()
    assert str(tmp_path / "hub" / "checkpoints") in str(error.value) and "URLError" in str(error.value)


def test_only_rank_zero_loads_the_inception_at_setup(tmp_path):
    from types import SimpleNamespace

    callback = FidelityMetrics(inception_weights=str(tmp_path / "nowhere.pth"))
    callback.setup(SimpleNamespace(is_global_zero=False), None, "fit")  # DDP rank 1: it never evaluates
    assert callback._extractor is None
    with pytest.raises(InceptionWeightsError, match="nowhere.pth"):
        callback.setup(SimpleNamespace(is_global_zero=True), None, "fit")


def test_unknown_metric_names_the_choices():
    with pytest.raises(ValueError, match="available: fid, is, kid"):
        FidelityMetrics(metrics=["fid", "lpips"])


def test_the_callback_logs_fid_during_fit_with_its_protocol(tmp_path):
    import lightning as L

    from zoo import AIM

    images = even_pixel_images(n=256)
    model = AIM(image_shape=(3, 32, 32), latent_dim=8)
    data = UInt8Images(torch.nn.functional.interpolate(images.float(), size=32).to(torch.uint8))
    callback = FidelityMetrics(metrics=["fid", "is"], every_n_epochs=1, num_fake=128, num_real=128, split="val",
                               cache_dir=str(tmp_path), extractor=PixelFeatures())
    trainer = L.Trainer(max_steps=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[callback])
    trainer.fit(model, datamodule=data)
    assert math.isfinite(float(trainer.callback_metrics["fidelity/fid"]))
    assert float(trainer.callback_metrics["fidelity/is_mean"]) >= 1.0
    assert callback.protocol["num_fake"] == 128 and callback.protocol["extractor"] == "pixels-8x8"
