"""The Frechet distance behind FID and FLD, against closed forms."""

from __future__ import annotations

import pytest
import torch

from callbacks.frechet import frechet_distance, frechet_distance_of_features, gaussian_statistics


def test_closed_form_for_diagonal_gaussians():
    mean_1, mean_2 = torch.tensor([0.0, 1.0]), torch.tensor([3.0, -1.0])
    var_1, var_2 = torch.tensor([1.0, 4.0]), torch.tensor([9.0, 1.0])
    # ||m1 - m2||^2 + sum (v1 + v2 - 2 sqrt(v1 v2)) = 13 + (1 + 9 - 6) + (4 + 1 - 4) = 13 + 4 + 1
    assert frechet_distance(mean_1, var_1.diag(), mean_2, var_2.diag()).item() == pytest.approx(18.0)


def test_same_set_is_zero_and_mean_shift_adds_its_squared_norm():
    torch.manual_seed(0)
    features = torch.randn(4000, 8) @ torch.randn(8, 8)  # correlated features
    assert frechet_distance_of_features(features, features).item() == pytest.approx(0.0, abs=1e-6)
    shift = torch.tensor([1.0, -2.0, 0.5, 0.0, 0.0, 0.0, 0.0, 3.0])
    # a pure shift leaves the covariance (and the trace term) unchanged
    assert frechet_distance_of_features(features, features + shift).item() == pytest.approx(
        shift.pow(2).sum().item(), rel=1e-6)


def test_singular_covariances_stay_finite():
    features = torch.randn(100, 5)
    features[:, 4] = 0.0  # a dead dimension
    assert torch.isfinite(frechet_distance_of_features(features, features * 2))


def test_statistics_are_the_unbiased_moments():
    features = torch.tensor([[1.0, 2.0], [3.0, 0.0], [5.0, 4.0]])
    mean, cov = gaussian_statistics(features)
    assert torch.allclose(mean, torch.tensor([3.0, 2.0], dtype=torch.float64))
    assert torch.allclose(cov, torch.from_numpy(__import__("numpy").cov(features.numpy().T)))
    with pytest.raises(ValueError, match=r"\(n >= 2, d\)"):
        gaussian_statistics(torch.randn(1, 3))
