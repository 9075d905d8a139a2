"""Gaussian-preserving interventions on latent codes (ivgan.txt §3, Definition 1).

An intervention O is a P-intervention if X ~ P implies O(X) ~ P; here P = N(0, I), the prior. The
group used by IVGAN is *block substitution*: z in R^d is sliced into k blocks of d/k coordinates
(k | d), and O_i replaces the i-th block with fresh Gaussian noise, i = 1, ..., k. If z ~ N(0, I)
the kept blocks are N(0, I) and the new block is independent N(0, I) noise, so O_i(z) ~ N(0, I).

Blocks are numbered from 0 here (``block_indices`` in ``{0, ..., k-1}``), the paper's O_1 ... O_k.
"""

from __future__ import annotations

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
