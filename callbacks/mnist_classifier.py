"""The MNIST classifier behind the papers' MNIST metrics, and those metrics.

- The MNIST Inception Score: AIM reports 9.48 on MNIST with 'a pre-trained classifier' in place of
  the Inception network (aim.txt §5.2): IS = exp(E_x KL(p(y|x) || p(y))), p(y|x) from this classifier.
- Stacked-MNIST mode counting (ivgan.txt §4, Table 2, the protocol of Metz et al.): each of the three
  channels of a generated image is classified; the mode is digit1*100 + digit2*10 + digit3; reported
  are the number of the 1000 modes that appear and KL(generated mode distribution || uniform).

The weights (``callbacks/weights/mnist_classifier.pt``, ~200 KB) are trained by
``python scripts/train_mnist_classifier.py`` on the real MNIST training set; the test accuracy it
reached is stored with them (``test_accuracy``) and checked by a slow test.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

WEIGHTS = Path(__file__).with_name("weights") / "mnist_classifier.pt"
NUM_STACKED_MODES = 1000


class MNISTClassifier(nn.Module):
    """A small CNN on 28x28 digits in [-1, 1]: two 5x5 conv + max-pool stages, then 2 linear layers."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2),  # 28 -> 24 -> 12
            nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2),  # 12 -> 8 -> 4
            nn.Flatten(), nn.Linear(64 * 4 * 4, 64), nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 10),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Logits (n, 10) of images (n, 1, H, W) in [-1, 1]; other sizes are resized to 28x28."""
        if x.dim() != 4 or x.size(1) != 1:
            raise ValueError(f"MNISTClassifier reads (n, 1, H, W) images, got shape {tuple(x.shape)}")
        if x.shape[-2:] != (28, 28):
            x = F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
        return self.net(x)


    def features(self, x: Tensor) -> Tensor:
        """The 64-d penultimate activations (after the first linear layer's ReLU): the features of
        :func:`mnist_frechet_distance`."""
        if x.dim() != 4 or x.size(1) != 1:
            raise ValueError(f"MNISTClassifier reads (n, 1, H, W) images, got shape {tuple(x.shape)}")
        if x.shape[-2:] != (28, 28):
            x = F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
        return self.net[:-2](x)  # drops the Dropout (identity in eval mode) and the logit layer


def load_mnist_classifier(path: str | Path = WEIGHTS, device: torch.device | str = "cpu") -> MNISTClassifier:
    """The trained classifier in eval mode, or a FileNotFoundError saying how to make the weights."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MNIST classifier weights not found at {path.resolve()}; train them with "
                                "`python scripts/train_mnist_classifier.py --data_dir <folder with MNIST/raw>`")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = MNISTClassifier()
    model.load_state_dict({k: v.float() for k, v in state["state_dict"].items()})
    return model.to(device).eval().requires_grad_(False)


@torch.inference_mode()
def classify(classifier: MNISTClassifier, images: Tensor, batch_size: int = 1000) -> Tensor:
    """Logits of ``images`` (n, 1, H, W) in [-1, 1], in batches, on the classifier's device."""
    device = next(classifier.parameters()).device
    return torch.cat([classifier(images[i:i + batch_size].to(device)).float()
                      for i in range(0, len(images), batch_size)])


@torch.inference_mode()
def mnist_frechet_distance(classifier: MNISTClassifier, generated: Tensor, real: Tensor,
                           batch_size: int = 1000) -> float:
    """``mnist_fid``: the Frechet distance between Gaussian fits of the zoo classifier's penultimate features of
    ``generated`` and ``real`` images, (n, 1, H, W) in [-1, 1]. FID's formula on MNIST features, NOT Inception
    FID: its values are on another scale and comparable only with other ``mnist_fid`` numbers."""
    from callbacks.frechet import frechet_distance_of_features

    device = next(classifier.parameters()).device

    def features(images: Tensor) -> Tensor:
        return torch.cat([classifier.features(images[i:i + batch_size].to(device)).double()
                          for i in range(0, len(images), batch_size)])

    return float(frechet_distance_of_features(features(generated), features(real)))


def classifier_inception_score(logits: Tensor) -> float:
    """exp(E_x KL(p(y|x) || p(y))) with p(y) the mean prediction (one split)."""
    log_p_y_given_x = torch.log_softmax(logits.double(), dim=1)
    p_y_given_x = log_p_y_given_x.exp()
    log_p_y = torch.log(p_y_given_x.mean(dim=0))
    return math.exp(float((p_y_given_x * (log_p_y_given_x - log_p_y)).sum(dim=1).mean()))


def stacked_modes(classifier: MNISTClassifier, images: Tensor, batch_size: int = 1000) -> Tensor:
    """Mode id digit1*100 + digit2*10 + digit3 of each 3-channel image, in one batched pass per channel."""
    if images.dim() != 4 or images.size(1) != 3:
        raise ValueError(f"stacked MNIST images are (n, 3, H, W), got shape {tuple(images.shape)}")
    channels = images.transpose(0, 1).reshape(-1, 1, *images.shape[-2:])  # all R, then all G, then all B
    digits = classify(classifier, channels, batch_size).argmax(dim=1).reshape(3, -1)
    return digits[0] * 100 + digits[1] * 10 + digits[2]


def mode_coverage(modes: Tensor, num_modes: int = NUM_STACKED_MODES) -> dict[str, float]:
    """Modes covered and KL(generated mode distribution || uniform) (ivgan.txt Table 2)."""
    counts = torch.bincount(modes.cpu(), minlength=num_modes).double()
    p = counts / counts.sum()
    present = p > 0
    kl = float((p[present] * torch.log(p[present] * num_modes)).sum())
    return {"modes": float(present.sum()), "kl_to_uniform": kl}
