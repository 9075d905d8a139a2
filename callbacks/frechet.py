"""The Frechet distance between Gaussian fits: the formula behind FID (Inception features) and FLD
(encoder codes against the N(0, I) prior, ivaae.txt §4).

    d^2 = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))

computed in float64. ``Tr((S_1 S_2)^(1/2))`` is the sum of the square roots of the eigenvalues of
``S_1 S_2`` (real and non-negative for covariance matrices, up to rounding), which avoids a matrix
square root and its failure on singular covariances.
"""

from __future__ import annotations

import torch
from torch import Tensor


def gaussian_statistics(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean (d,) and unbiased covariance (d, d) of ``features`` of shape (n, d), in float64."""
    if features.dim() != 2 or features.size(0) < 2:
        raise ValueError(f"features must have shape (n >= 2, d), got {tuple(features.shape)}")
    features = features.double()
    mean = features.mean(dim=0)
    centred = features - mean
    return mean, centred.T @ centred / (features.size(0) - 1)


def frechet_distance(mean_1: Tensor, cov_1: Tensor, mean_2: Tensor, cov_2: Tensor) -> Tensor:
    """Squared Frechet distance between N(mean_1, cov_1) and N(mean_2, cov_2), a float64 scalar."""
    mean_1, cov_1, mean_2, cov_2 = (t.double() for t in (mean_1, cov_1, mean_2, cov_2))
    if mean_1.shape != mean_2.shape or cov_1.shape != cov_2.shape or cov_1.shape != (mean_1.numel(),) * 2:
        raise ValueError(f"mismatched statistics: means {tuple(mean_1.shape)} / {tuple(mean_2.shape)}, "
                         f"covariances {tuple(cov_1.shape)} / {tuple(cov_2.shape)}")
    eigenvalues = torch.linalg.eigvals(cov_1 @ cov_2)
    trace_sqrt = eigenvalues.real.clamp_min(0).sqrt().sum()  # rounding can make tiny eigenvalues negative
    return (mean_1 - mean_2).pow(2).sum() + cov_1.trace() + cov_2.trace() - 2 * trace_sqrt


def frechet_distance_of_features(features_1: Tensor, features_2: Tensor) -> Tensor:
    """Frechet distance between the Gaussian fits of two feature sets of shape (n_i, d)."""
    return frechet_distance(*gaussian_statistics(features_1), *gaussian_statistics(features_2))
