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
