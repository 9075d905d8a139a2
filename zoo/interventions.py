"""Gaussian-preserving interventions on latent codes (ivgan.txt §3, Definition 1).

An intervention O is a P-intervention if X ~ P implies O(X) ~ P; here P = N(0, I), the prior. The
group used by IVGAN is *block substitution*: z in R^d is sliced into k blocks of d/k coordinates
(k | d), and O_i replaces the i-th block with fresh Gaussian noise, i = 1, ..., k. If z ~ N(0, I)
the kept blocks are N(0, I) and the new block is independent N(0, I) noise, so O_i(z) ~ N(0, I).

Blocks are numbered from 0 here (``block_indices`` in ``{0, ..., k-1}``), the paper's O_1 ... O_k.

IVAAE (ivaae.txt §2, §4) uses families T_0 = identity, T_1, ..., T_t bridging the encoded codes and
the prior: blockwise (:func:`prefix_block_substitution`, the first k of t blocks replaced), radial
(:func:`radial_substitution`) and SVGD particles (:func:`svgd_bridges`, eq. 2).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def check_blocks(latent_dim: int, num_blocks: int) -> int:
    """The block size d/k, or a ValueError naming ``latent_dim`` and ``num_blocks`` (§3 needs k | d)."""
    if not isinstance(num_blocks, int) or isinstance(num_blocks, bool) or num_blocks < 1:
        raise ValueError(f"num_blocks must be a positive integer, got {num_blocks!r}")
    if latent_dim % num_blocks != 0:
        raise ValueError(
            f"num_blocks={num_blocks} must divide latent_dim={latent_dim}: block substitution slices z "
            f"into k equal blocks (ivgan.txt §3, 'k | d'); choose a latent_dim that is a multiple of "
            f"num_blocks or a num_blocks that divides latent_dim"
        )
    return latent_dim // num_blocks


def block_mask(block_indices: Tensor, latent_dim: int, num_blocks: int) -> Tensor:
    """Boolean (n, d) mask, True on the coordinates of block ``block_indices[j]`` in row j."""
    block_size = check_blocks(latent_dim, num_blocks)
    block_of_coordinate = torch.arange(latent_dim, device=block_indices.device) // block_size
    return block_of_coordinate.unsqueeze(0) == block_indices.unsqueeze(1)


def block_substitution(z: Tensor, block_indices: Tensor, num_blocks: int, noise: Tensor | None = None) -> Tensor:
    """O_{i_j}(z_j) for every row j: block ``block_indices[j]`` of ``z[j]`` replaced by Gaussian noise.

    Args:
        z: codes, shape (n, d).
        block_indices: int64, shape (n,), values in {0, ..., num_blocks - 1}.
        num_blocks: k, which must divide d.
        noise: the Gaussian noise of Algorithm 1 line 6, shape (n, d) (only the substituted block's
            coordinates are used); drawn here when None.

    Returns a new tensor; ``z`` is not modified. Gradients flow to the kept coordinates of ``z``.
    """
    if z.dim() != 2:
        raise ValueError(f"z must have shape (n, latent_dim), got {tuple(z.shape)}")
    if noise is None:
        noise = torch.randn_like(z)
    mask = block_mask(block_indices, z.size(1), num_blocks)
    return torch.where(mask, noise.to(z.dtype), z)


# ------------------------------------------------------------------------------------------------
# IVAAE's bridges (ivaae.txt §2, Definition 1): a family T_0, ..., T_t of N(0, I)-interventions with
# T_0 the identity, applied to the encoded codes z^ = E(x). Each T_k(z^) is one 'bridge distribution'
# between the codes' law and the prior; the latent discriminator tells the t + 1 of them apart.


def prefix_block_mask(num_substituted: int, latent_dim: int, num_blocks: int,
                      device: torch.device | None = None) -> Tensor:
    """Boolean (d,) mask, True on the coordinates of the first ``num_substituted`` of ``num_blocks``
    equal blocks (ivaae.txt §2 'Blockwise substitution', t | d)."""
    block_size = check_blocks(latent_dim, num_blocks)
    if not 0 <= num_substituted <= num_blocks:
        raise ValueError(f"num_substituted must be in [0, num_blocks={num_blocks}], got {num_substituted}")
    return torch.arange(latent_dim, device=device) < num_substituted * block_size


def prefix_block_substitution(z: Tensor, num_substituted: int, num_blocks: int, noise: Tensor) -> Tensor:
    """T_k(z) of ivaae.txt §2 'Blockwise substitution': z in R^d is divided into t = ``num_blocks``
    equal blocks and the first k = ``num_substituted`` are replaced by the same coordinates of
    ``noise`` ~ N(0, I), independent of z. T_0 is the identity, T_t(z) = ``noise``.

    Gradients flow to the kept coordinates of ``z``; ``z`` is not modified.
    """
    if z.dim() != 2 or noise.shape != z.shape:
        raise ValueError(f"z and noise must both have shape (n, latent_dim), got {tuple(z.shape)} and "
                         f"{tuple(noise.shape)}")
    mask = prefix_block_mask(num_substituted, z.size(1), num_blocks, z.device)
    return torch.where(mask, noise.to(z.dtype), z)


def radial_substitution(z: Tensor, k: int, t: int, noise: Tensor) -> Tensor:
    """T_k(z) = z cos(k pi / 2t) + noise sin(k pi / 2t), noise ~ N(0, I) independent of z (ivaae.txt §2
    'Radial substitution'). cos^2 + sin^2 = 1, so N(0, I) is preserved; T_0 = identity and
    T_t(z) = ``noise`` exactly (the end points are set exactly, not through cos(pi / 2) ~ 6e-17)."""
    if not 0 <= k <= t or t < 1:
        raise ValueError(f"radial substitution needs 0 <= k <= t and t >= 1, got k={k}, t={t}")
    if noise.shape != z.shape:
        raise ValueError(f"noise must have z's shape {tuple(z.shape)}, got {tuple(noise.shape)}")
    if k == 0:
        return z
    if k == t:
        return noise.to(z.dtype)
    angle = k * math.pi / (2 * t)
    return z * math.cos(angle) + noise.to(z.dtype) * math.sin(angle)


def svgd_bandwidth(particles: Tensor, scale: float = 100.0) -> Tensor:
    """h = scale * med^2 / log n (ivaae.txt §4: 'h = 100 h_0, h_0 = med^2 / log n ... med is the median
    of the pairwise distance between the current points'; Liu & Wang 2016's heuristic times ``scale``).

    The median is over the n (n - 1) / 2 distances between distinct particles (the lower median for an
    even count). A heuristic, not a function to differentiate: computed on detached particles, in
    float32, on the particles' device (no host-device synchronisation). Clamped to >= 1e-6 so that a
    collapsed batch (all particles equal) gives the h -> 0 limit instead of 0 / 0.
    """
    n = particles.size(0)
    if particles.dim() != 2 or n < 2:
        raise ValueError(f"SVGD needs particles of shape (n >= 2, d), got {tuple(particles.shape)}")
    p = particles.detach().float()
    squared = (p.unsqueeze(1) - p.unsqueeze(0)).pow(2).sum(-1)
    rows, cols = torch.triu_indices(n, n, offset=1, device=p.device)
    return (scale * squared[rows, cols].median() / math.log(n)).clamp_min(1e-6)


def svgd_step(particles: Tensor, bandwidth: Tensor | float, step_size: float = 1.0) -> Tensor:
    """One update of ivaae.txt eq. (2) towards p = N(0, I) with the RBF kernel k(z, z') = exp(-||z - z'||^2 / h):

        z_i <- z_i + eps / m sum_j [k(z_j, z_i) grad log p(z_j) + grad_{z_j} k(z_j, z_i)]

    with grad log p(z) = -z and grad_{z_j} k(z_j, z_i) = (2 / h) (z_i - z_j) k(z_j, z_i). Differentiable in
    ``particles`` (the bandwidth is held fixed); computed in float32.
    """
    z = particles.float()
    m = z.size(0)
    with torch.autocast(device_type=z.device.type, enabled=False):  # float32 even under bf16 autocast
        difference = z.unsqueeze(1) - z.unsqueeze(0)  # [i, j] = z_i - z_j
        kernel = torch.exp(-difference.pow(2).sum(-1) / bandwidth)  # symmetric: k(z_j, z_i) = k(z_i, z_j)
        driving = -(kernel @ z)  # sum_j k_ij grad log p(z_j)
        repulsive = (2.0 / bandwidth) * (kernel.unsqueeze(-1) * difference).sum(1)  # sum_j grad_{z_j} k_ij
        return z + step_size / m * (driving + repulsive)


def svgd_bridges(z: Tensor, t: int, prior: Tensor, step_noise: Tensor, steps_per_bridge: int = 2,
                 bandwidth_scale: float = 100.0, step_size: float = 1.0) -> list[Tensor]:
    """The SVGD bridge family of ivaae.txt §4: [z^0, z^1, ..., z^t].

    z^0 = ``z`` (T_0, the identity); z^l, l = 1, ..., t - 1, are the particles after
    ``steps_per_bridge`` * l updates of :func:`svgd_step` starting from the batch z ('We obtain
    {z^l}_{l=1}^{t-1} for every two iterations'), each update followed by additive Gaussian noise
    (``step_noise[s]``: 'we add 0.1 Gaussian noise on the particles after every iteration', i.e. the
    caller passes 0.1 * N(0, I) draws); z^t = ``prior`` ('z^t is sampled from standard Gaussian'). The
    bandwidth is re-estimated from the current particles before every update (h = ``bandwidth_scale``
    * med^2 / log n). Gradients flow from every z^l, l < t, back to ``z`` (§3.2: 'do the back
    propagation all the way back').

    Args:
        z: the encoded batch, shape (n >= 2, d).
        t: number of bridges after T_0; t - 1 of them are SVGD particles.
        prior: N(0, I) samples of z's shape, the last bridge.
        step_noise: shape (steps_per_bridge * (t - 1), n, d), the noise added after each update.
    """
    if t < 1 or steps_per_bridge < 1:
        raise ValueError(f"svgd_bridges needs t >= 1 and steps_per_bridge >= 1, got t={t}, "
                         f"steps_per_bridge={steps_per_bridge}")
    expected = (steps_per_bridge * (t - 1), *z.shape)
    if tuple(step_noise.shape) != expected or prior.shape != z.shape:
        raise ValueError(f"step_noise must have shape {expected} and prior {tuple(z.shape)}, got "
                         f"{tuple(step_noise.shape)} and {tuple(prior.shape)}")
    bridges = [z]
    particles = z.float()
    for step in range(steps_per_bridge * (t - 1)):
        particles = svgd_step(particles, svgd_bandwidth(particles, bandwidth_scale), step_size)
        particles = particles + step_noise[step].float()
        if (step + 1) % steps_per_bridge == 0:
            bridges.append(particles)
    bridges.append(prior)
    return bridges
