"""Image datasets decoded once into uint8 tensors and cached: the machinery of CelebA, STL10, LSUN, ImageFolder.

These datasets come as many JPEG/PNG/WebP files (or large binaries) at a higher resolution than the
networks use. Decoding and resizing 200,000 JPEGs every epoch would need worker processes and would
still be the bottleneck of a 64 x 64 GAN, so each split is instead decoded ONCE (in parallel processes),
center-cropped and resized to the training resolution, and stored as one uint8 NCHW tensor, exactly
like MNIST and CIFAR-10 (CelebA at 64 x 64: 202,599 x 3 x 64 x 64 bytes = 2.5 GB). The tensor is saved
as a ``.pt`` file next to the data (``<files>/zoo_cache/`` unless ``cache_dir`` says otherwise), so
later runs start in seconds. The cache file name carries the preprocessing parameters and a
fingerprint of the source files (sizes and modification times), so changing either builds a new one;
delete the folder to force a rebuild.

Geometry (:func:`center_crop_resize`): a centered ``crop`` x ``crop`` square (the largest centered
square when ``crop`` is None, which equals "resize the shorter side, then center crop" up to
sub-pixel rounding), then a resize to ``size`` x ``size`` with PIL's bilinear filter, which
antialiases when shrinking (the filter support grows with the reduction factor), as torchvision's
``Resize`` does on PIL images. The crop offset is ``round((side - crop) / 2)``, as in torchvision's
``CenterCrop``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import multiprocessing
import os
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_info
from PIL import Image
from torch import Tensor

from datamodules.base import (
    DataCorruptError,
    DataNotFoundError,
    ScaleAndResize,
    ZooDataModule,
    data_dir_hint,
    one_line,
)

#: File name endings read as images (case-insensitive).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff", ".webp")

#: Fewer images than this are decoded in this process (starting worker processes would take longer).
MIN_IMAGES_FOR_POOL = 512

#: Bumped when the preprocessing changes, so that caches written by an older version are rebuilt.
CACHE_FORMAT = 1


class UnreadableImage(Exception):
    """An image that could not be used (raised in a decoding process, picklable).

    ``kind``: ``"missing"`` (no such file), ``"small"`` (smaller than the crop) or ``"corrupt"``.
    """

    def __init__(self, name: str, reason: str, kind: str = "corrupt") -> None:
        super().__init__(name, reason, kind)
        self.name, self.reason, self.kind = name, reason, kind


def center_crop_resize(image: Image.Image, crop: int | None, size: int) -> Image.Image:
    """Centered ``crop`` x ``crop`` square (None: the largest one), resized to ``size`` x ``size``."""
    width, height = image.size
    side = min(width, height) if crop is None else crop
    if side > width or side > height:
        raise ValueError(f"the image is {width} x {height}, smaller than the crop {side} x {side}")
    if (side, side) != (width, height):
        left, top = int(round((width - side) / 2.0)), int(round((height - side) / 2.0))
        image = image.crop((left, top, left + side, top + side))
    if side != size:
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    return image


def decode_image(source: str | bytes, name: str, crop: int | None, size: int, mode: str = "RGB") -> np.ndarray:
    """Decode a file path or encoded bytes, crop and resize: uint8 array (C, size, size).

    Raises :class:`UnreadableImage` (naming ``name``) for a missing, truncated or non-image file.
    """
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as opened:
            image = opened.convert(mode)  # decodes the whole file: a truncated one fails here
    except FileNotFoundError:
        raise UnreadableImage(name, "the file does not exist", kind="missing") from None
    except Exception as error:  # PIL raises OSError, ValueError, SyntaxError, DecompressionBombError, ...
        raise UnreadableImage(name, one_line(error)) from None
    try:
        image = center_crop_resize(image, crop, size)
    except ValueError as error:
        raise UnreadableImage(name, str(error), kind="small") from None
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _decode_job(item: tuple[str | bytes, str], crop: int | None, size: int, mode: str) -> np.ndarray:
    return decode_image(item[0], item[1], crop, size, mode)


def default_workers() -> int:
    """Decoding processes when not given: the CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def decode_images(
    items: Iterable[tuple[str | bytes, str]],
    count: int,
    crop: int | None,
    size: int,
    workers: int,
    mode: str = "RGB",
    description: str = "images",
) -> Tensor:
    """Decode ``count`` images given as ``(path or bytes, name)`` into a uint8 tensor (count, C, size, size).

    ``workers`` > 0 decodes in that many processes (the items are read here, in chunks, so a reader
    such as an LMDB cursor stays in this thread); 0 decodes in this process.
    """
    channels = 1 if mode == "L" else 3
    images = np.empty((count, channels, size, size), dtype=np.uint8)
    job = functools.partial(_decode_job, crop=crop, size=size, mode=mode)
    chunk_size = 2048
    rank_zero_info(f"Decoding {count:,} {description} to {size} x {size} (once; {workers or 'no'} worker processes)")
    done, next_report, started = 0, count // 10, time.perf_counter()
    pool = multiprocessing.get_context().Pool(workers) if workers > 0 and count >= MIN_IMAGES_FOR_POOL else None
    try:
        iterator = iter(items)
        while chunk := list(itertools.islice(iterator, chunk_size)):
            if done + len(chunk) > count:
                raise ValueError(f"more than the {count} announced {description}")
            decoded = pool.map(job, chunk, chunksize=64) if pool is not None else map(job, chunk)
            for array in decoded:
                images[done] = array
                done += 1
            if count >= 20_000 and done >= next_report:
                next_report += count // 10
                elapsed = time.perf_counter() - started
                rank_zero_info(f"  {done:,} / {count:,} {description} decoded ({elapsed:.0f} s)")
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    if done != count:
        raise ValueError(f"found {done} {description} where {count} were announced")
    return torch.from_numpy(images)


def file_fingerprint(paths: Iterable[Path]) -> str:
    """Hash of the names, sizes and modification times of ``paths`` (which must exist)."""
    digest = hashlib.sha1()
    for path in paths:
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class CachedImageDataModule(ZooDataModule):
    """Base of image datasets decoded once and cached as uint8 tensors (see the module docstring).

    Subclasses define where the files are (:attr:`files_dir`, :meth:`required_files`), how to get them
    (:meth:`how_to_get_files`), how to build a split (:meth:`build_split`: uint8 (N, C, S, S) images at
    the final resolution and int64 labels), which preprocessing parameters and source files a split
    depends on (:meth:`cache_tag`, :meth:`source_fingerprint`), and whether the dataset has its own
    test split (:attr:`has_test_split`; otherwise test = val).

    The caches are built in ``prepare_data`` (once per machine, also under DDP) and loaded in
    ``setup``; ``setup`` builds what is still missing (cache disabled or not writable).

    Args:
        data_dir: Root directory of the dataset.
        image_size: Side length of the served (square) images.
        batch_size: Samples per batch.
        seed: Seed of the training-set shuffling.
        device: Where the data lives: ``"auto"`` (the Trainer's GPU if there is one and the data takes
            at most a quarter of its memory), ``"cpu"``, or a device such as ``"cuda:1"``.
        cache: Save the decoded splits and reuse them in later runs.
        cache_dir: Folder of the cache files; None: ``zoo_cache/`` in the dataset's folder.
        decode_workers: Processes decoding images when a cache is built; None: one per CPU, 0: none.
    """

    has_test_split: ClassVar[bool] = False
    num_channels: ClassVar[int] = 3

    def __init__(
        self,
        data_dir: str = "data",
        image_size: int = 64,
        batch_size: int = 100,
        seed: int = 0,
        device: str = "auto",
        cache: bool = True,
        cache_dir: str | None = None,
        decode_workers: int | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, device=device)
        if not isinstance(image_size, int) or image_size < 8:
            raise ValueError(f"image_size must be an integer >= 8, got {image_size!r}")
        if decode_workers is not None and decode_workers < 0:
            raise ValueError(f"decode_workers must be >= 0 or None, got {decode_workers}")
        self.data_dir = data_dir
        self.image_size = image_size
        self.cache = cache
        self.cache_dir = cache_dir
        self.decode_workers = decode_workers
        self._built: dict[str, tuple[Tensor, Tensor]] = {}

    # ---------------------------------------------------------------- what subclasses define
    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.num_channels, self.image_size, self.image_size)

    @property
    def files_dir(self) -> Path:
        """Absolute folder that holds the dataset's files."""
        raise NotImplementedError

    def required_files(self) -> list[str]:
        """Paths relative to :attr:`files_dir` that must exist; folders end with ``/``."""
        raise NotImplementedError

    def how_to_get_files(self) -> str:
        """Where the files come from and where to put them, for the error message."""
        raise NotImplementedError

    def cache_tag(self) -> str:
        """The preprocessing parameters, as part of the cache file name (e.g. ``crop140-64``)."""
        return str(self.image_size)

    def source_fingerprint(self, split: str) -> str:
        """Changes whenever the source files of ``split`` change."""
        raise NotImplementedError

    def build_split(self, split: str) -> tuple[Tensor, Tensor]:
        """Read ``split`` from the source files: uint8 (N, C, S, S) images and int64 labels."""
        raise NotImplementedError

    def ensure_files(self) -> None:
        """Make sure the files exist: raise :class:`DataNotFoundError` (subclasses may download)."""
        if self.missing_files():
            raise self.not_found_error()

    # ---------------------------------------------------------------- shared behaviour
    @property
    def workers(self) -> int:
        return default_workers() if self.decode_workers is None else self.decode_workers

    def missing_files(self) -> list[str]:
        missing = []
        for name in self.required_files():
            path = self.files_dir / name
            if not (path.is_dir() if name.endswith("/") else path.is_file()):
                missing.append(name)
        return missing

    def not_found_error(self, download_failure: BaseException | None = None) -> DataNotFoundError:
        missing = self.missing_files() or self.required_files()
        parts = [f"{type(self).__name__} data not found: missing {', '.join(missing)} in {self.files_dir}"]
        if download_failure is not None:
            parts.append(f"Download failed ({one_line(download_failure)})")
        parts.append(f"To get it: {self.how_to_get_files()}")
        parts.append(data_dir_hint(self.data_dir, self.files_dir))
        return DataNotFoundError(". ".join(parts))

    def corrupt_error(self, what: str, reason: str) -> DataCorruptError:
        return DataCorruptError(
            f"{type(self).__name__}: {what} cannot be read ({reason}); it is probably truncated or not the "
            f"original file. Replace it: {self.how_to_get_files()}"
        )

    def splits_for(self, stage: str | None) -> tuple[str, ...]:
        test = ("test",) if self.has_test_split else ()
        if stage == "fit":
            return ("train", "val")
        if stage == "validate":
            return ("val",)
        if stage == "test":
            return test or ("val",)
        return ("train", "val", *test)

    def cache_path(self, split: str) -> Path:
        folder = Path(self.cache_dir).absolute() if self.cache_dir else self.files_dir / "zoo_cache"
        key = hashlib.sha1(f"{CACHE_FORMAT}\0{self.source_fingerprint(split)}".encode()).hexdigest()[:16]
        return folder / f"{type(self).__name__.lower()}-{split}-{self.cache_tag()}-{key}.pt"

    def _read_cache(self, path: Path) -> tuple[Tensor, Tensor] | None:
        if not self.cache or not path.is_file():
            return None
        try:
            stored = torch.load(path, map_location="cpu", weights_only=True)
            images, labels = stored["images"], stored["labels"]
        except Exception as error:  # a damaged cache is rebuilt, not fatal
            warnings.warn(f"ignoring the unreadable cache {path} ({one_line(error)}); rebuilding it", stacklevel=2)
            return None
        if images.dtype != torch.uint8 or tuple(images.shape[1:]) != self.image_shape or len(labels) != len(images):
            warnings.warn(f"ignoring the cache {path}: it holds {tuple(images.shape)} images", stacklevel=2)
            return None
        return images, labels

    def _write_cache(self, path: Path, split: tuple[Tensor, Tensor]) -> None:
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save({"images": split[0], "labels": split[1]}, temporary)
            os.replace(temporary, path)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            warnings.warn(
                f"could not write the cache {path} ({one_line(error)}); the next run decodes the images again "
                "(set --data.cache_dir to a writable folder)",
                stacklevel=2,
            )
            return
        stale_prefix = path.name.rsplit("-", 1)[0] + "-"  # same dataset, split and parameters, older sources
        for old in path.parent.glob(f"{stale_prefix}*.pt"):
            if old != path:
                old.unlink(missing_ok=True)
        rank_zero_info(f"Saved {tuple(split[0].shape)} uint8 images to {path}")

    def _load_split(self, split: str) -> tuple[Tensor, Tensor]:
        if split in self._built:
            return self._built.pop(split)
        path = self.cache_path(split)
        cached = self._read_cache(path)
        if cached is not None:
            return cached
        built = self._build_checked(split)
        if self.cache:
            self._write_cache(path, built)
        return built

    def _build_checked(self, split: str) -> tuple[Tensor, Tensor]:
        images, labels = self.build_split(split)
        if len(images) == 0:
            raise DataNotFoundError(f"{type(self).__name__}: the {split} split in {self.files_dir} holds no images")
        return images.contiguous(), labels.to(torch.int64)

    def prepare_data(self) -> None:
        """Download if possible, then build the missing caches (rank 0 of each machine only)."""
        self.ensure_files()
        if not self.cache:
            return
        for split in self.splits_for(None):
            if split not in self.splits and split not in self._built and not self.cache_path(split).is_file():
                self._built[split] = self._load_split(split)  # kept for setup: no reload in this process

    def setup(self, stage: str | None = None) -> None:
        self.ensure_files()
        for split in self.splits_for(stage):
            if split not in self.splits:
                self.splits[split] = self._load_split(split)

    def batch_transform(self) -> ScaleAndResize:
        return ScaleAndResize(resize_to=None)  # stored at the served size: scale only


def decode_with_errors(
    module: CachedImageDataModule,
    items: Iterable[tuple[str | bytes, str]],
    count: int,
    crop: int | None,
    mode: str = "RGB",
    description: str = "images",
    where: Callable[[str], str] = str,
) -> Tensor:
    """:func:`decode_images` for ``module``, turning an unreadable image into a one-line error naming it.

    ``where(name)`` says where the image named ``name`` lives (a path, or an LMDB key and file).
    """
    try:
        return decode_images(items, count, crop, module.image_size, module.workers, mode, description)
    except ValueError as error:  # the source holds fewer or more images than it announced
        raise module.corrupt_error(f"{module.files_dir}", str(error)) from None
    except UnreadableImage as error:
        if error.kind == "missing":
            raise DataNotFoundError(
                f"{type(module).__name__}: image {where(error.name)} is missing. To get it: {module.how_to_get_files()}"
            ) from None
        if error.kind == "small":
            raise DataCorruptError(
                f"{type(module).__name__}: image {where(error.name)} cannot be cropped: {error.reason}; "
                "use a smaller --data.crop"
            ) from None
        raise module.corrupt_error(f"image {where(error.name)}", error.reason) from None

