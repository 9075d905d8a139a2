"""`python cli.py evaluate` and the MNIST-classifier metrics (MNIST IS, stacked-MNIST modes)."""

from __future__ import annotations

import json
import math
import os
import re
import urllib.error
from pathlib import Path

import pytest
import torch

import cli
from callbacks.mnist_classifier import (
    WEIGHTS,
    MNISTClassifier,
    classifier_inception_score,
    classify,
    load_mnist_classifier,
    mode_coverage,
    stacked_modes,
)
from test_datamodules import mnist_root  # noqa: F401  (fixture: genuine IDX files)

GRID = ["--data", "Grid25", "--data.num_train", "1000", "--data.num_val", "300", "--data.batch_size", "100"]


def fit(tmp_path: Path, *args: str) -> Path:
    cli.main(["fit", "--model", "AIM", "--trainer.max_steps", "3", "--trainer.enable_progress_bar", "false",
              "--trainer.default_root_dir", str(tmp_path), *args])
    return tmp_path / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt"


def test_evaluate_reads_the_data_from_the_checkpoint_and_writes_json(tmp_path, capsys):
    checkpoint = fit(tmp_path, "--model.hidden_dim", "16", *GRID)
    assert cli.run_command_line(["evaluate", "--ckpt_path", str(checkpoint), "--num_samples", "500"]) == 0
    report = json.loads(checkpoint.with_suffix(".evaluation.json").read_text())
    assert report["model"] == "AIM" and report["data"] == "Grid25" and report["split"] == "test"
    assert 0 <= report["modes/captured"] <= 25 and 0 <= report["modes/high_quality"] <= 100
    assert report["recon_mse"] > 0
    assert cli.run_command_line(["evaluate", "--ckpt_path", str(checkpoint), "--metrics", "fld"]) == 0
    assert json.loads(checkpoint.with_suffix(".evaluation.json").read_text())["fld"] >= 0
    printed = capsys.readouterr().out
    assert "modes/captured" in printed
    assert re.search(r"^num_samples\s+10000$", printed, re.MULTILINE), printed  # an int, not 1e+04


def test_evaluate_mnist_classifier_score_on_images(tmp_path, mnist_root):
    root, _ = mnist_root
    data = ["--data", "MNIST", "--data.data_dir", str(root), "--data.download", "false", "--data.batch_size", "10"]
    checkpoint = fit(tmp_path, *data)
    out = tmp_path / "eval.json"
    assert cli.run_command_line(["evaluate", "--ckpt_path", str(checkpoint), "--metrics", "mnist_is,recon_mse",
                                 "--num_samples", "64", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert 1.0 <= report["mnist_is"] <= 10.0 and report["recon_mse"] > 0


def test_evaluate_on_moved_mnist_needs_only_the_data_dir_and_no_inception(tmp_path, mnist_root):
    """``--data.data_dir`` alone reuses the checkpoint's datamodule; MNIST defaults to offline metrics."""
    root, _ = mnist_root
    checkpoint = fit(tmp_path, "--data", "MNIST", "--data.data_dir", str(root), "--data.download", "false",
                     "--data.batch_size", "10")
    moved = tmp_path / "moved"
    moved.symlink_to(root, target_is_directory=True)
    out = tmp_path / "eval.json"
    assert cli.run_command_line(["evaluate", "--ckpt_path", str(checkpoint), "--data.data_dir", str(moved),
                                 "--num_samples", "64", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["data"] == "MNIST" and "fid" not in report
    assert 1.0 <= report["mnist_is"] <= 10.0 and report["recon_mse"] > 0 and report["mnist_fid"] > 0


def test_evaluate_data_options_change_the_checkpoints_own_data(tmp_path):
    checkpoint = fit(tmp_path, "--model.hidden_dim", "16", *GRID)
    reports = []
    for extra in ([], ["--data.std", "1.0"]):  # a 20x wider 'high quality' radius around each mode
        out = tmp_path / f"eval{len(reports)}.json"
        assert cli.run_command_line(["evaluate", "--ckpt_path", str(checkpoint), "--metrics", "modes", *extra,
                                     "--num_samples", "500", "--out", str(out)]) == 0
        reports.append(json.loads(out.read_text()))
    assert reports[0]["data"] == reports[1]["data"] == "Grid25"
    assert reports[1]["modes/high_quality"] > reports[0]["modes/high_quality"]


def test_evaluate_errors_are_one_line(tmp_path, capsys, monkeypatch):
    checkpoint = fit(tmp_path, "--model.hidden_dim", "16", *GRID)
    assert cli.run_command_line(["evaluate", "--ckpt_path", str(checkpoint), "--metrics", "fid"]) == 2
    assert capsys.readouterr().err.strip() == "error: metric 'fid' does not apply here: FID needs images"
    assert cli.run_command_line(["evaluate", "--ckpt_path", str(checkpoint), "--metrics", "lpips"]) == 2
    assert "unknown metrics ['lpips']; available: fid, is, kid" in capsys.readouterr().err


def test_fid_without_inception_weights_offline_says_what_to_fetch(tmp_path, mnist_root, capsys, monkeypatch):
    root, _ = mnist_root
    checkpoint = fit(tmp_path, "--data", "MNIST", "--data.data_dir", str(root), "--data.download", "false",
                     "--data.batch_size", "10")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url", offline)
    assert cli.run_command_line(["evaluate", "--ckpt_path", str(checkpoint), "--metrics", "fid"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "weights-inception-2015-12-05" in error[0] and "--inception_weights" in error[0]


def test_ms_ssim_of_identical_pairs_is_one_and_of_noise_is_low():
    from callbacks.evaluation import ms_ssim_of_pairs

    torch.manual_seed(0)
    same = torch.rand(1, 3, 32, 32).expand(8, -1, -1, -1) * 2 - 1
    assert ms_ssim_of_pairs(same, num_pairs=20) == pytest.approx(1.0, abs=1e-4)
    assert ms_ssim_of_pairs(torch.rand(50, 3, 64, 64) * 2 - 1, num_pairs=40) < 0.2


def test_independent_critic_tells_a_shifted_distribution_from_the_same_one():
    from callbacks.evaluation import independent_wasserstein_critic

    torch.manual_seed(0)
    real = torch.randn(1000, 2)
    same = independent_wasserstein_critic(real, torch.randn(1000, 2), steps=300)
    shifted = independent_wasserstein_critic(real, torch.randn(1000, 2) + 3.0, steps=300)
    # W1 between N(0, I) and N((3, 3), I) is 3 * sqrt(2) = 4.24; a gradient-penalty critic is only softly
    # 1-Lipschitz, so its estimate lands near that, not below it
    assert abs(same["critic/neg_wasserstein"]) < 0.5
    assert -6.0 < shifted["critic/neg_wasserstein"] < -3.0
    with pytest.raises(ValueError, match="at least 128"):
        independent_wasserstein_critic(real[:50], real[:50])


# ---------------------------------------------------------------------------------- MNIST classifier metrics
def test_classifier_inception_score_by_hand():
    confident = torch.full((10, 10), -50.0)
    confident[torch.arange(10), torch.arange(10)] = 50.0
    assert classifier_inception_score(confident) == pytest.approx(10.0, rel=1e-6)
    # two classes, p(y|x) = (0.9, 0.1) and (0.1, 0.9): p(y) = (0.5, 0.5), KL = 0.9 log 1.8 + 0.1 log 0.2
    logits = torch.tensor([[math.log(0.9), math.log(0.1)], [math.log(0.1), math.log(0.9)]])
    expected = math.exp(0.9 * math.log(1.8) + 0.1 * math.log(0.2))
    assert classifier_inception_score(logits) == pytest.approx(expected, rel=1e-6)


def test_mode_coverage_counts_and_kl_to_uniform():
    assert mode_coverage(torch.arange(1000).repeat(3)) == {"modes": 1000.0, "kl_to_uniform": pytest.approx(0.0)}
    assert mode_coverage(torch.full((50,), 7)) == {"modes": 1.0, "kl_to_uniform": pytest.approx(math.log(1000))}
    half = mode_coverage(torch.arange(500))  # 500 modes, uniform among them: KL = log 2
    assert half["modes"] == 500 and half["kl_to_uniform"] == pytest.approx(math.log(2))


def test_stacked_modes_reads_each_channel_as_a_digit():
    class ByBrightness(MNISTClassifier):
        """Predicts digit = round(mean pixel in [0, 1] * 9): a classifier whose answer we know."""

        def forward(self, x):
            digit = ((x.mean(dim=(1, 2, 3)) + 1) / 2 * 9).round().long()
            return torch.nn.functional.one_hot(digit, 10).float() * 10

    digits = torch.tensor([[1, 2, 3], [9, 0, 4]])
    images = (digits.float() / 9 * 2 - 1)[:, :, None, None].expand(-1, -1, 28, 28)
    assert stacked_modes(ByBrightness(), images).tolist() == [123, 904]


def test_the_committed_classifier_loads_and_is_small():
    assert WEIGHTS.is_file() and WEIGHTS.stat().st_size < 400_000
    classifier = load_mnist_classifier()
    assert torch.load(WEIGHTS, weights_only=True)["test_accuracy"] >= 0.99
    assert classify(classifier, torch.zeros(3, 1, 64, 64)).shape == (3, 10)  # resized to 28x28


@pytest.mark.slow
def test_the_classifier_reaches_99_percent_on_the_real_mnist_test_set():
    data_dir = os.environ.get("ZOO_DATA_DIR")
    if not data_dir:
        pytest.skip("set ZOO_DATA_DIR to a folder holding MNIST/raw (e.g. ../shared/data)")
    from datamodules import MNIST

    data = MNIST(data_dir=data_dir, download=False)
    data.setup("test")
    images, labels = data.splits["val"]
    logits = classify(load_mnist_classifier(), data.batch_transform()(images))
    assert (logits.argmax(1) == labels).float().mean() >= 0.99


# ---------------------------------------------------------------------------------- demo
def test_demo_writes_the_papers_panels_from_a_checkpoint(tmp_path, mnist_root):
    root, _ = mnist_root
    checkpoint = fit(tmp_path, "--data", "MNIST", "--data.data_dir", str(root), "--data.download", "false",
                     "--data.batch_size", "10")
    out = tmp_path / "demo"
    assert cli.run_command_line(["demo", "--ckpt_path", str(checkpoint), "--out", str(out), "--num_samples", "16",
                                 "--num_real", "8", "--device", "cpu"]) == 0
    from torchvision.io import read_image

    names = sorted(path.name for path in out.iterdir())
    assert names == ["interpolations.png", "posterior_samples.png", "reconstructions.png", "samples.png"]
    grid = read_image(str(out / "posterior_samples.png"))
    assert grid.shape[-1] == 2 + 8 * 30  # one real image + 7 posterior samples per row, 28 px + 2 px padding


def test_demo_on_2d_data_draws_scatter_plots(tmp_path):
    checkpoint = fit(tmp_path, "--model.hidden_dim", "16", *GRID)
    out = tmp_path / "demo"
    assert cli.run_command_line(["demo", "--ckpt_path", str(checkpoint), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["scatter_reconstructions.png", "scatter_samples.png"]


def test_each_metric_samples_its_protocol_count_unless_told():
    from callbacks.evaluation import EvaluationSettings

    assert EvaluationSettings().count_for("stacked_modes") == 26_000  # VEEGAN / PacGAN, as ivgan.txt Table 2
    assert EvaluationSettings().count_for("fid") == EvaluationSettings().count_for("modes") == 10_000
    assert EvaluationSettings(num_samples=500).count_for("stacked_modes") == 500


def test_fld_encodes_num_samples_images_or_the_whole_split():
    from callbacks import evaluation
    from datamodules import Grid25

    class Identity(torch.nn.Module):
        device = torch.device("cpu")

        def encode(self, x):
            return x

    data = Grid25(num_train=100, num_val=300, batch_size=64)
    data.setup("test")
    whole = evaluation.fld(Identity(), data, evaluation.EvaluationSettings(split="test"))
    part = evaluation.fld(Identity(), data, evaluation.EvaluationSettings(split="test", num_samples=120))
    assert whole["fld/num_codes"] == 300 and part["fld/num_codes"] == 120
    assert part["fld"] != whole["fld"]


def test_mnist_fid_is_zero_for_one_set_and_grows_as_samples_leave_the_data():
    from callbacks.mnist_classifier import mnist_frechet_distance

    classifier = load_mnist_classifier()
    generator = torch.Generator().manual_seed(0)
    digits = (torch.rand(400, 1, 28, 28, generator=generator) > 0.8).float() * 2 - 1  # sparse strokes
    assert mnist_frechet_distance(classifier, digits, digits) == pytest.approx(0.0, abs=1e-6)
    noisy = [(digits + sigma * torch.randn(digits.shape, generator=generator)).clamp(-1, 1) for sigma in (0.3, 1.0)]
    near, far = (mnist_frechet_distance(classifier, images, digits) for images in noisy)
    assert 0 < near < far
    assert classifier.features(digits[:5]).shape == (5, 64)
