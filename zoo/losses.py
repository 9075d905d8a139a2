"""Loss functions as small pure functions: tensors in, scalar tensor out.

Every function averages over the batch, computes in float32 (so that bf16 autocast never
evaluates a log, exp or softplus in bf16), and takes *logits* rather than probabilities where the
paper's network ends in a sigmoid: ``-log sigmoid(t) = softplus(-t)`` is the numerically stable
form of the same quantity.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

LOG_2PI = math.log(2.0 * math.pi)


def gan_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Discriminator loss of the original GAN value function (aim.txt eq. 7, Algorithm 1 L_d).

    ``L_d = -1/n sum log D(x) - 1/n sum log(1 - D(G(z)))`` with ``D = sigmoid(logits)``.
    """
    real_term = F.softplus(-real_logits.float()).mean()
    fake_term = F.softplus(fake_logits.float()).mean()
    return real_term + fake_term


def gan_generator_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss ``-1/n sum log D(G(z))`` (aim.txt §4.4, Algorithm 1 L_g)."""
    return F.softplus(-fake_logits.float()).mean()


def fgan_kl_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Negated f-GAN KL value function, minimised by D (dali.txt eq. 8, aim.txt eq. 6).

    ``V(G, D) = E_q[D(x)] + E_p[-exp(D(G(z)) - 1)]``; D maximises V, so its loss is ``-V``.
    D's output activation is the identity here, not a sigmoid.
    """
    return -(real_scores.float().mean() - torch.exp(fake_scores.float() - 1.0).mean())


def fgan_kl_generator_loss(fake_scores: Tensor) -> Tensor:
    """DALI-f generator loss ``E_p[-D(G(z))]`` (dali.txt §3.4, the non-vanishing-gradient form)."""
    return -fake_scores.float().mean()


def gaussian_nll(z: Tensor, mean: Tensor, log_variance: Tensor) -> Tensor:
    """Negative log-likelihood of z under N(mean, diag(exp(log_variance))), batch mean.

    aim.txt eq. (8) / dali.txt eq. (9):
    ``L(z, mu, sigma^2) = 1/2 sum_j ((z_j - mu_j)^2 / sigma_j^2 + log sigma_j^2 + log 2 pi)``,
    summed over the d latent dimensions and averaged over the batch.
    """
    z, mean, log_variance = z.float(), mean.float(), log_variance.float()
    per_dim = (z - mean).pow(2) * torch.exp(-log_variance) + log_variance + LOG_2PI
    return 0.5 * per_dim.sum(dim=1).mean()


def unit_gaussian_nll(z: Tensor, mean: Tensor) -> Tensor:
    """``gaussian_nll`` with identity covariance: AIM- / DALI-l2 (aim.txt §5.1, dali.txt §4.1).

    ``1/2 sum_j ((z_j - mu_j)^2 + log 2 pi)``: a squared l2 distance plus a constant.
    """
    per_dim = (z.float() - mean.float()).pow(2) + LOG_2PI
    return 0.5 * per_dim.sum(dim=1).mean()
