"""2-D Gaussian mixtures for the mode-collapse experiments.

The 25-Gaussian grid is the synthetic data of Dumoulin et al. 2016 (ALI) used by AIM
(aim.txt §5.3) and DALI; the 8-Gaussian ring and the grid are the 2-D data of Srivastava et al.
2017 (VEEGAN), whose mode-counting protocol the papers follow: a generated point is "high quality"
if it lies within 3 std of its nearest mode, and a mode is captured if it is the nearest mode of at
least one high-quality point. Hence :attr:`GaussianMixture2D.centers` and
:attr:`GaussianMixture2D.std` are public.

Points are served as they are (float32, no rescaling to [-1, 1]): the grid spans [-4, 4]^2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from datamodules.base import ZooDataModule


class GaussianMixture2D(ZooDataModule):
    """Equal-weight mixture of isotropic 2-D Gaussians sharing one standard deviation.

    A sample picks a component k uniformly, then x = centers[k] + std * N(0, I); its label is k.
    The points are drawn once (on first ``setup``) from a generator seeded with ``seed``: first
    ``num_train`` training points, then ``num_val`` held-out points that serve as both the val and
    the test split. The same ``seed`` also seeds the training-set shuffling.

    Args:
        centers: Mixture means, a list of (x, y) pairs. The default is a single standard Gaussian.
        std: Standard deviation of every component.
        batch_size: Points per batch.
        num_train: Number of training points.
        num_val: Number of held-out points (val and test split).
        seed: Seed of the sampling and of the training-set shuffling.
        device: Where the points live: ``"auto"`` (the Trainer's GPU if there is one), ``"cpu"``, ``"cuda"``.
    """

    def __init__(
        self,
        centers: Sequence[tuple[float, float]] = ((0.0, 0.0),),
        std: float = 1.0,
        batch_size: int = 500,
        num_train: int = 100_000,
        num_val: int = 10_000,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, device=device)
        center_tensor = torch.as_tensor(centers, dtype=torch.float32)
        if center_tensor.ndim != 2 or center_tensor.shape[1] != 2 or center_tensor.shape[0] == 0:
            raise ValueError(
                f"centers must be a non-empty list of (x, y) pairs, got shape {tuple(center_tensor.shape)}"
            )
        if std <= 0:
            raise ValueError(f"std must be positive, got {std}")
        for name, count in (("num_train", num_train), ("num_val", num_val)):
            if count <= 0:
                raise ValueError(f"{name} must be a positive integer, got {count}")
        self.centers: Tensor = center_tensor
        self.std = float(std)
        self.num_train = num_train
        self.num_val = num_val
        if type(self) is GaussianMixture2D:
            # Subclasses derive `centers` from their own arguments and record those instead.
            self.save_hyperparameters()

    @property
    def image_shape(self) -> tuple[int]:
        return (2,)

    @property
    def num_components(self) -> int:
        return self.centers.shape[0]

    def sample(self, num_points: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Draw ``num_points`` points and their component labels using ``generator``."""
        components = torch.randint(self.num_components, (num_points,), generator=generator)
        noise = torch.randn(num_points, 2, generator=generator)
        return self.centers[components] + self.std * noise, components

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        generator = torch.Generator().manual_seed(self.seed)
        self.splits["train"] = self.sample(self.num_train, generator)
        self.splits["val"] = self.sample(self.num_val, generator)


class Grid25(GaussianMixture2D):
    """25 Gaussians on the grid {-4, -2, 0, 2, 4}^2 with std 0.05.

    The 2-D mixture of Dumoulin et al. 2016 (ALI), reused by AIM (aim.txt §5.3) and DALI; the
    100,000 / 10,000 split sizes follow AIM's Figure 3. Component k sits at
    (grid[k // 5], grid[k % 5]).

    Args:
        std: Standard deviation of every component.
        batch_size: Points per batch.
        num_train: Number of training points.
        num_val: Number of held-out points (val and test split).
        seed: Seed of the sampling and of the training-set shuffling.
        device: Where the points live: ``"auto"`` (the Trainer's GPU if there is one), ``"cpu"``, ``"cuda"``.
    """

    grid_coordinates = (-4.0, -2.0, 0.0, 2.0, 4.0)

    def __init__(
        self,
        std: float = 0.05,
        batch_size: int = 500,
        num_train: int = 100_000,
        num_val: int = 10_000,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        centers = [(x, y) for x in self.grid_coordinates for y in self.grid_coordinates]
        super().__init__(
            centers=centers, std=std, batch_size=batch_size, num_train=num_train, num_val=num_val, seed=seed,
            device=device,
        )
        self.save_hyperparameters()


class Ring8(GaussianMixture2D):
    """8 Gaussians evenly spaced on a circle, std 0.02: the ring of Srivastava et al. 2017 (VEEGAN).

    Component k sits at radius * (cos(2 pi k / 8), sin(2 pi k / 8)).

    Args:
        radius: Radius of the circle.
        std: Standard deviation of every component.
        batch_size: Points per batch.
        num_train: Number of training points.
        num_val: Number of held-out points (val and test split).
        seed: Seed of the sampling and of the training-set shuffling.
        device: Where the points live: ``"auto"`` (the Trainer's GPU if there is one), ``"cpu"``, ``"cuda"``.
    """

    num_modes = 8

    def __init__(
        self,
        radius: float = 2.0,
        std: float = 0.02,
        batch_size: int = 500,
        num_train: int = 100_000,
        num_val: int = 10_000,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        angles = [2 * math.pi * k / self.num_modes for k in range(self.num_modes)]
        centers = [(radius * math.cos(angle), radius * math.sin(angle)) for angle in angles]
        super().__init__(
            centers=centers, std=std, batch_size=batch_size, num_train=num_train, num_val=num_val, seed=seed,
            device=device,
        )
        self.radius = radius
        self.save_hyperparameters()
