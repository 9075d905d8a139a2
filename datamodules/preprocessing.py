"""A user's own images as a model's input: what the datamodules do to their files, as one function.

    import zoo, datamodules
    from PIL import Image

    model = zoo.load_checkpoint("model.pt")
    x = datamodules.to_model_input(Image.open("photo.jpg"), model.image_shape)
    x_rec = model.reconstruct(x)  # in [-1, 1], like x
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from datamodules.base import ScaleAndResize, uint8_to_signed_unit
from datamodules.images import center_crop_resize

# PIL's "L" conversion (ITU-R 601-2 luma), so that a tensor and the same picture as a PIL image agree.
LUMA = (0.299, 0.587, 0.114)


def to_model_input(image: Image.Image | Tensor | np.ndarray | Sequence[Image.Image],
                   image_shape: Sequence[int], crop: int | None = None) -> Tensor:
    """``image`` as a batch the model takes: float32 ``(N, C, H, W)`` in [-1, 1], ``(C, H, W) = image_shape``.

    ``image``: a PIL image, a list of them, a uint8 tensor ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``
    (torchvision's layout), or a uint8 numpy array ``(H, W)`` / ``(H, W, C)`` (PIL's layout). The
    geometry is the datamodules': the centered ``crop`` x ``crop`` square (default: the largest one),
    resized to ``H`` x ``W``, with PIL's bilinear filter for PIL images (as CelebA, LSUN, STL-10 and
    ImageFolder decode their files) and antialiased bilinear interpolation for tensors (as MNIST and
    CIFAR-10 are resized). Colour becomes grey with PIL's weights, grey becomes three equal channels,
    and an alpha channel is dropped. Pixels scale as ``x / 127.5 - 1`` (0 -> -1, 255 -> 1).
    """
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ValueError(f"to_model_input makes square images (C, S, S); the model takes {shape} "
                         "(2-D points need no preprocessing)")
    channels, size = shape[0], shape[1]
    if channels not in (1, 3):
        raise ValueError(f"to_model_input makes grey (1) or RGB (3) images, not {channels} channels")
    if isinstance(image, Image.Image):
        return _from_pil([image], channels, size, crop)
    if isinstance(image, (list, tuple)) and image and all(isinstance(item, Image.Image) for item in image):
        return _from_pil(list(image), channels, size, crop)
    if isinstance(image, np.ndarray):
        image = torch.from_numpy(np.ascontiguousarray(image))
        image = image.unsqueeze(0) if image.dim() == 2 else image.permute(2, 0, 1)  # HWC -> CHW
    if not isinstance(image, Tensor):
        raise TypeError(f"to_model_input takes PIL images, uint8 tensors or arrays, not {type(image).__name__}")
    if image.dtype != torch.uint8:
        raise TypeError(f"to_model_input takes uint8 pixels (0-255), not {image.dtype}; for floats x in [0, 1] "
                        "pass (x * 255).round().to(torch.uint8)")
    batch = {2: lambda t: t[None, None], 3: lambda t: t[None], 4: lambda t: t}.get(image.dim())
    if batch is None:
        raise ValueError(f"a uint8 image tensor is (H, W), (C, H, W) or (N, C, H, W), not {tuple(image.shape)}")
    images = _to_channels(batch(image), channels)
    height, width = images.shape[-2:]
    side = min(height, width) if crop is None else crop
    if side > height or side > width:
        raise ValueError(f"the image is {width} x {height}, smaller than the crop {side} x {side}")
    top, left = int(round((height - side) / 2.0)), int(round((width - side) / 2.0))
    images = images[..., top:top + side, left:left + side]
    return ScaleAndResize(resize_to=size)(images.contiguous())


def _from_pil(images: list[Image.Image], channels: int, size: int, crop: int | None) -> Tensor:
    arrays = []
    for image in images:
        image = image.convert("L" if channels == 1 else "RGB")
        array = np.asarray(center_crop_resize(image, crop, size), dtype=np.uint8)
        arrays.append(array[None] if array.ndim == 2 else array.transpose(2, 0, 1))
    return uint8_to_signed_unit(torch.from_numpy(np.stack(arrays)))


def _to_channels(images: Tensor, channels: int) -> Tensor:
    """uint8 ``(N, c, H, W)`` with c in 1, 3, 4 as ``channels`` (1 or 3) channels."""
    have = images.shape[1]
    if have == 4:
        images, have = images[:, :3], 3
    if have == channels:
        return images
    if have == 1:
        return images.expand(-1, 3, -1, -1)
    if have == 3:
        weights = torch.tensor(LUMA, dtype=torch.float32).view(1, 3, 1, 1)
        return (images.float() * weights).sum(dim=1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    raise ValueError(f"an image tensor has 1, 3 or 4 channels (C of (N, C, H, W)), not {have}")
