"""Shared machinery of the zoo's datamodules.

Every dataset used by the papers fits in memory once stored as uint8 at the training resolution
(MNIST 47 MB, CIFAR-10 180 MB, CelebA at 64x64 2.5 GB, LSUN church_outdoor at 64x64 1.6 GB), so a split
is kept as ONE tensor (uint8 for images, float32 for toy points) and each batch is made by a single
index operation plus a scale to [-1, 1]: no per-sample ``__getitem__``, no collate, no worker
processes. :class:`TensorBatches` does this and is handed to Lightning as the dataloader (Lightning
accepts any iterable with ``__len__``).

GPU-resident data: with ``device="auto"`` (the default) a datamodule used by a Trainer on a GPU moves
its split tensors to that GPU once, when the loaders are built, provided they take at most a quarter of
its memory; every batch is then indexed, scaled and resized on the GPU and Lightning's per-batch
transfer is a no-op. ``device="cpu"`` keeps the data in host memory (one host-to-device copy per batch).

Batches are tuples ``(x, y)``: ``x`` float32 of shape ``(B, *image_shape)``, ``y`` int64 labels
(-1 where a dataset has none; CelebA's are its 40 binary attributes, shape ``(B, 40)``).
"""

from __future__ import annotations

import math
import pickle
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor

BatchTransform = Callable[[Tensor], Tensor]


class DataNotFoundError(FileNotFoundError):
    """A dataset's files are missing and could not be downloaded.

    The message says which files are missing, the absolute directory searched, and how to obtain them.
    """


class MissingExtraError(ImportError):
    """A dataset needs a package that is an optional extra of the zoo; the message names the extra."""


class BatchSizeError(ValueError):
    """The batch size does not fit the data (a split smaller than one batch)."""


class DataCorruptError(ValueError):
    """A dataset's files exist but cannot be read (truncated download, wrong format).

    The message names the directory, the reader's complaint, and how to replace the files.
    """


def one_line(error: BaseException) -> str:
    """``"ErrorType: message"`` with the message's lines joined, for one-line error messages."""
    message = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return f"{type(error).__name__}: {message}"


def data_dir_hint(data_dir: str | Path, files_dir: Path) -> str:
    """The sentence of a not-found message that says how to point the zoo at files that are elsewhere."""
    return (f"If you have the files elsewhere, pass --data.data_dir DIR (now {data_dir}, so the files were "
            f"looked for in {files_dir})")


def is_on(tensor: Tensor, device: torch.device) -> bool:
    """Whether ``tensor`` lives on ``device`` (a device without index, e.g. ``cuda``, matches any index)."""
    return tensor.device.type == device.type and (device.index is None or tensor.device.index == device.index)


def batch_data(batch: Tensor | Sequence[Tensor]) -> Tensor:
    """The data ``x`` of a batch: datamodules yield ``(x, y)``; a bare tensor is taken as ``x``.

    Labels are never used for unconditional training.
    """
    return batch if isinstance(batch, Tensor) else batch[0]


def uint8_to_signed_unit(images: Tensor) -> Tensor:
    """Map uint8 pixels {0, ..., 255} to float32 in [-1, 1] (0 -> -1, 255 -> 1)."""
    return images.to(torch.float32).div_(127.5).sub_(1.0)  # = x.float() / 127.5 - 1, no temporaries


class ScaleAndResize:
    """Batch transform for uint8 images: scale to [-1, 1], then optionally resize.

    Args:
        resize_to: Side length of the output images, or None to keep the stored size. Resizing uses
            bilinear interpolation with antialiasing (``align_corners=False``), applied to the batch
            after scaling.
    """

    def __init__(self, resize_to: int | None = None) -> None:
        self.resize_to = resize_to

    def __call__(self, images: Tensor) -> Tensor:
        scaled = uint8_to_signed_unit(images)
        if self.resize_to is None or scaled.shape[-1] == self.resize_to:
            return scaled
        resized = F.interpolate(
            scaled,
            size=(self.resize_to, self.resize_to),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )
        # Interpolation weights sum to one only up to rounding; keep the [-1, 1] guarantee exact.
        return resized.clamp_(-1.0, 1.0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(resize_to={self.resize_to})"


class TensorBatches:
    """Batches sliced straight out of in-memory tensors; an iterable with ``__len__``.

    Each batch is ``(transform(x[indices]), y[indices], ...)`` made by one index (shuffled) or slice
    (sequential) operation per tensor. The tensors stay on whatever device they live on, so moving
    them to a GPU once makes every batch GPU-resident.

    Shuffling: pass ``e`` over the data (``e`` = 0, 1, 2, ...) visits the samples in the order
    ``torch.randperm(n, generator=torch.Generator().manual_seed(seed + e))``. The pass index starts
    at 0, advances by one each time an iteration actually starts (the first ``next``; a bare
    ``iter()`` as done by Lightning's sanity checks does not count), and can be set with
    :meth:`set_epoch`. So every epoch gets a new permutation, and the same seed reproduces the
    same sequence of permutations.

    Sharding across data-parallel processes (DDP): with ``num_replicas`` = N > 1, every process builds
    the same permutation (same ``seed``), step i of a pass takes the window ``order[i*N*B:(i+1)*N*B]``
    (B = ``batch_size``) and process ``rank`` r serves its slice ``[r*B, (r+1)*B)`` of it. So the N
    processes together visit exactly the samples a single process would with batch size N*B, each
    sample at most once per pass, and every process has the same number of batches,
    ``num_samples // (N*B)``, so no process runs out while the others wait in a collective.

    Args:
        tensors: Tensors sharing their first dimension (samples); the first one is passed through
            ``transform``, the others (labels) are returned as they are.
        batch_size: Samples per batch.
        shuffle: Visit the samples in a new seeded permutation each pass; otherwise in stored order.
        drop_last: Drop the final incomplete batch.
        seed: Base seed of the per-pass permutations.
        transform: Applied to each batch of the first tensor (e.g. :class:`ScaleAndResize`);
            None returns it unchanged.
        num_replicas: Number of data-parallel processes sharing the passes (needs ``drop_last``).
        rank: This process's index among them, 0 <= rank < num_replicas.
    """

    def __init__(
        self,
        tensors: Sequence[Tensor],
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        transform: BatchTransform | None = None,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        if len(tensors) == 0:
            raise ValueError("TensorBatches needs at least one tensor")
        num_samples = tensors[0].shape[0]
        if any(tensor.shape[0] != num_samples for tensor in tensors):
            shapes = [tuple(tensor.shape) for tensor in tensors]
            raise ValueError(f"all tensors must have the same number of samples, got shapes {shapes}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"need num_replicas >= 1 and 0 <= rank < num_replicas, got {num_replicas} and {rank}")
        if num_replicas > 1 and not drop_last:
            raise ValueError("sharding across processes (num_replicas > 1) needs drop_last=True, so that every "
                             "process gets the same number of full batches")
        if drop_last and num_samples < batch_size * num_replicas:
            per_step = f" on each of {num_replicas} processes" if num_replicas > 1 else ""
            raise BatchSizeError(
                f"batch_size={batch_size}{per_step} exceeds the {num_samples} samples of this split, so with "
                "drop_last there would be no batch at all; use a smaller batch_size"
            )
        self.tensors = tuple(tensors)
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.transform = transform
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self._skip_next = 0
        self._running_pass: int | None = None  # the pass being iterated, once its first batch was taken
        self.batches_done = 0  # batches of the running pass whose training step has finished
        self._count_offset = 0  # see resume(): Lightning's batch count minus ours, for the resumed pass only
        self._resumed_from: dict[str, int] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass use the permutation of ``epoch`` (see the class docstring)."""
        self.epoch = epoch

    def skip_batches(self, count: int) -> None:
        """Start the next pass at batch ``count`` of its order (resuming in the middle of an epoch)."""
        self._skip_next = count

    # Exact resume through Lightning's public stateful-loader interface (``state_dict`` / ``load_state_dict``,
    # saved with the fit loop in every checkpoint): the position is the pass and the number of its batches
    # whose training step has finished, counted by :meth:`mark_batch_done` (the zoo's ``TrainingDataPosition``
    # callback calls it at every batch end, before any checkpoint callback saves). A batch interrupted
    # mid-step is therefore trained again after resuming; Lightning's own loop counters are never read.
    def mark_batch_done(self) -> None:
        """One more batch of the running pass has been trained on."""
        self.batches_done += 1

    def state_dict(self) -> dict[str, int]:
        if self._running_pass is None:  # no batch taken yet: the next pass, from where it will start
            return {"pass": self.epoch, "batches_done": self._skip_next, "num_replicas": self.num_replicas}
        if self.batches_done >= self.full_length():
            return {"pass": self._running_pass + 1, "batches_done": 0, "num_replicas": self.num_replicas}
        return {"pass": self._running_pass, "batches_done": self.batches_done, "num_replicas": self.num_replicas}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        if state_dict and state_dict != self._resumed_from:  # the datamodule may have applied it already
            self.resume(state_dict)

    def resume(self, position: dict[str, int], count_offset: bool = False) -> None:
        """Continue at ``position`` (a :meth:`state_dict`, possibly of a run with another number of processes).

        A checkpoint of N processes after b steps resumes M processes at step b N / M of the same pass (the
        same samples are done). Lightning restores its own count of the pass's batches in the old run's steps
        (b) and ends the epoch when that count reaches ``len(self)``; with ``count_offset`` (set by the
        datamodule, which applies the position before Lightning takes the length) the resumed pass's
        ``len`` is Lightning's count plus the batches left, so Lightning ends that epoch when the data does.
        """
        self._resumed_from = dict(position)
        written_by = position.get("num_replicas", 1)
        batches_done = position["batches_done"] * written_by // self.num_replicas
        self._count_offset = 0
        if batches_done >= self.full_length():
            self.set_epoch(position["pass"] + 1)
            self.skip_batches(0)
            return
        self.set_epoch(position["pass"])
        self.skip_batches(batches_done)
        if count_offset:
            self._count_offset = position["batches_done"] - batches_done

    def full_length(self) -> int:
        """Batches in one complete pass."""
        if self.drop_last:
            return self.num_samples // (self.batch_size * self.num_replicas)
        return math.ceil(self.num_samples / self.batch_size)

    def permutation(self, epoch: int) -> Tensor:
        """The sample order of pass ``epoch`` when shuffling (on the CPU)."""
        generator = torch.Generator().manual_seed(self.seed + epoch)
        return torch.randperm(self.num_samples, generator=generator)

    def __len__(self) -> int:
        return self.full_length() + self._count_offset

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        # A generator: the pass index is consumed at the first `next`, not at `iter()`.
        epoch = self.epoch
        self.epoch += 1
        order = self.permutation(epoch).to(self.tensors[0].device) if self.shuffle else None
        first_batch, self._skip_next = self._skip_next, 0
        self._running_pass, self.batches_done = epoch, first_batch
        if first_batch == 0:
            self._count_offset = 0  # a fresh pass: the resumed pass's length adjustment is over
        for batch_index in range(first_batch, self.full_length()):
            start = (batch_index * self.num_replicas + self.rank) * self.batch_size
            stop = min(start + self.batch_size, self.num_samples)
            if order is None:
                batch = [tensor[start:stop] for tensor in self.tensors]
            else:
                indices = order[start:stop]
                batch = [tensor[indices] for tensor in self.tensors]
            if self.transform is not None:
                batch[0] = self.transform(batch[0])
            yield tuple(batch)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_samples={self.num_samples}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}, "
            f"transform={self.transform}"
            + (f", num_replicas={self.num_replicas}, rank={self.rank})" if self.num_replicas > 1 else ")")
        )


class TrainingDataPosition(L.Callback):
    """Counts the trained batches of the zoo's train loader (:meth:`TensorBatches.mark_batch_done`), which
    makes its :meth:`TensorBatches.state_dict` the exact resume position. Every zoo model adds it
    (``GenerativeModule.configure_callbacks``); Lightning runs checkpoint callbacks after it, so a checkpoint
    written at a batch end counts that batch as done."""

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        loader = trainer.train_dataloader
        if isinstance(loader, TensorBatches):
            loader.mark_batch_done()


class ZooDataModule(L.LightningDataModule):
    """Base of the zoo's datamodules: in-memory splits served by :class:`TensorBatches`.

    Subclasses set ``self.splits["train"]`` and ``self.splits["val"]`` (and optionally
    ``self.splits["test"]``, which defaults to the val split) to ``(x, y)`` tensors in ``setup``,
    and implement :attr:`image_shape`, which must be known right after ``__init__`` because the
    CLI links ``data.image_shape -> model.image_shape`` when instantiating.

    The train loader shuffles (a new, reproducible permutation per epoch, see
    :class:`TensorBatches`) and drops the last incomplete batch; val/test keep order and all samples.
    Under data parallelism (``--trainer.strategy ddp --trainer.devices N``) each process's train loader
    serves its own disjoint share of every step's N * ``batch_size`` samples (see :class:`TensorBatches`),
    so ``batch_size`` is per process, as with Lightning's DistributedSampler; val/test loaders are not
    sharded (the evaluation callbacks run on rank zero, over the whole split).

    Where the data lives (``device``): ``"auto"`` moves the splits, once, to the Trainer's device when
    that is an accelerator (GPU) and the splits take at most :attr:`max_device_fraction` of its memory,
    and otherwise leaves them in host memory; ``"cpu"`` always keeps them in host memory; any other
    torch device string (``"cuda"``, ``"cuda:1"``) moves them there. The move happens when a loader is
    built (the Trainer has set up its device by then), so batches come out of :class:`TensorBatches`
    already on the device and Lightning's batch transfer copies nothing.

    Args:
        batch_size: Samples per batch in every loader.
        seed: Seed of the training-set shuffling.
        device: ``"auto"``, ``"cpu"`` or a torch device string; see above.
    """

    #: "auto" keeps the data on the host when it would take more than this share of the GPU's memory.
    max_device_fraction: ClassVar[float] = 0.25

    def __init__(self, batch_size: int = 100, seed: int = 0, device: str = "auto") -> None:
        super().__init__()
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if device != "auto":
            try:
                torch.device(device)
            except (RuntimeError, TypeError):
                raise ValueError(
                    f"device must be 'auto', 'cpu' or a torch device such as 'cuda' or 'cuda:1', got {device!r}"
                ) from None
        self.batch_size = batch_size
        self.seed = seed
        self.device_choice = device
        self.splits: dict[str, tuple[Tensor, ...]] = {}
        self._train_loader: TensorBatches | None = None
        self._resume_position: dict[str, int] | None = None
        self._kept_on_host_reported = False

    @property
    def image_shape(self) -> tuple[int, ...]:
        """Shape of one sample: (C, H, W) for images, (2,) for 2-D points."""
        raise NotImplementedError(f"{type(self).__name__} must define image_shape")

    def batch_transform(self) -> BatchTransform | None:
        """Transform applied to each batch of stored samples; None keeps them as stored."""
        return None

    def data_bytes(self) -> int:
        """Bytes taken by the loaded splits (what a move to the GPU would allocate)."""
        return sum(tensor.numel() * tensor.element_size() for split in self.splits.values() for tensor in split)

    def storage_device(self) -> torch.device | None:
        """Device the split tensors should live on, or None to leave them where they are.

        ``device="auto"``: the attached Trainer's root device when it is an accelerator and the data
        takes at most :attr:`max_device_fraction` of its memory; None without a Trainer or on a CPU.
        """
        if self.device_choice != "auto":
            return torch.device(self.device_choice)
        trainer = self.trainer
        if trainer is None:
            return None
        device = trainer.strategy.root_device
        if device.type == "cpu":
            return None
        if device.type == "cuda":
            _, total = torch.cuda.mem_get_info(device)
            if self.data_bytes() > self.max_device_fraction * total:
                if not self._kept_on_host_reported:
                    self._kept_on_host_reported = True
                    warnings.warn(
                        f"{type(self).__name__}: the data ({self.data_bytes() / 2**30:.1f} GiB) would take more "
                        f"than {self.max_device_fraction:.0%} of {device}'s memory, so it stays in host memory "
                        "and each batch is copied to the GPU; --data.device cuda forces it onto the GPU",
                        stacklevel=2,
                    )
                return None
        return device

    def _split(self, name: str) -> tuple[Tensor, ...]:
        if name == "test" and "test" not in self.splits:
            name = "val"
        if name not in self.splits:
            raise RuntimeError(
                f"{type(self).__name__} has no '{name}' split loaded; call setup() first "
                "(the Trainer does this for you)"
            )
        device = self.storage_device()
        if device is not None and not all(is_on(tensor, device) for tensor in self.splits[name]):
            # Once per split: from here on every batch is sliced on `device`.
            self.splits[name] = tuple(tensor.to(device) for tensor in self.splits[name])
        return self.splits[name]

    def data_parallel_processes(self) -> tuple[int, int]:
        """(number of data-parallel processes, this process's rank) that share the training passes:
        from the attached Trainer (``world_size``, ``global_rank``), else from an initialised
        ``torch.distributed`` process group, else ``(1, 0)``."""
        trainer = self.trainer
        if trainer is not None:
            return trainer.world_size, trainer.global_rank
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_world_size(), torch.distributed.get_rank()
        return 1, 0

    def train_dataloader(self) -> TensorBatches:
        num_replicas, rank = self.data_parallel_processes()
        loader = TensorBatches(
            self._split("train"),
            batch_size=self.batch_size,
            shuffle=True,
            drop_last=True,
            seed=self.seed,
            transform=self.batch_transform(),
            num_replicas=num_replicas,
            rank=rank,
        )
        if self._resume_position is not None:  # rebuilt by a Trainer resuming from a checkpoint
            loader.resume(self._resume_position, count_offset=self.trainer is not None)
            self._resume_position = None
        elif self.trainer is not None:  # rebuilt mid-fit (reload_dataloaders_every_n_epochs)
            loader.set_epoch(self.trainer.current_epoch)
        self._train_loader = loader
        return loader

    # Exact resume: the checkpoint records where the training data stood (the train loader's position, see
    # TensorBatches.state_dict), so the resumed run visits the remaining batches of the interrupted pass, then
    # the same permutations as an uninterrupted run. Lightning saves and restores the loader's state itself;
    # the datamodule keeps a copy because it is restored before the loader is built, which lets the resumed
    # loader's length match Lightning's restored count when the number of processes changed.
    def state_dict(self) -> dict[str, Any]:
        return self._train_loader.state_dict() if self._train_loader is not None else {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._resume_position = dict(state_dict) if state_dict else None

    def _evaluation_loader(self, split: str) -> TensorBatches:
        return TensorBatches(
            self._split(split),
            batch_size=self.batch_size,
            shuffle=False,
            drop_last=False,
            seed=self.seed,
            transform=self.batch_transform(),
        )

    def val_dataloader(self) -> TensorBatches:
        return self._evaluation_loader("val")

    def test_dataloader(self) -> TensorBatches:
        return self._evaluation_loader("test")


class TorchvisionImageDataModule(ZooDataModule):
    """Image dataset read once through ``torchvision.datasets`` into uint8 NCHW tensors.

    Subclasses name the torchvision class and the files it needs, and convert a loaded torchvision
    dataset to ``(uint8 images (N, C, H, W), int64 labels (N,))`` in :meth:`to_tensors`.
    Downloading happens in ``prepare_data`` (also triggered by ``setup`` when files are missing and
    ``download`` is on); a missing file or a failed (e.g. offline) download raises
    :class:`DataNotFoundError`.

    Splits: train = the official training set; val = test = the official test set, as the papers
    report test-set numbers.

    Args:
        data_dir: Root directory handed to torchvision as ``root``.
        image_size: Side length of the served images; the stored size or an upsampled one.
        batch_size: Samples per batch.
        download: Download missing files in ``prepare_data``.
        seed: Seed of the training-set shuffling.
        device: Where the data lives: ``"auto"`` (the Trainer's GPU if there is one), ``"cpu"``, ``"cuda"``.
    """

    torchvision_dataset: ClassVar[type]
    num_channels: ClassVar[int]
    stored_image_size: ClassVar[int]
    supported_image_sizes: ClassVar[tuple[int, ...]]
    required_files: ClassVar[tuple[str, ...]]

    def __init__(
        self,
        data_dir: str = "data",
        image_size: int = 32,
        batch_size: int = 100,
        download: bool = True,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, device=device)
        if image_size not in self.supported_image_sizes:
            supported = ", ".join(str(size) for size in self.supported_image_sizes)
            raise ValueError(
                f"image_size={image_size} is not supported by {type(self).__name__}; "
                f"supported sizes: {supported}"
            )
        self.data_dir = data_dir
        self.image_size = image_size
        self.download = download

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.num_channels, self.image_size, self.image_size)

    @property
    def files_dir(self) -> Path:
        """Absolute directory that must contain :attr:`required_files`."""
        raise NotImplementedError

    def how_to_get_files(self) -> str:
        """Where the files come from, for the error message."""
        raise NotImplementedError

    def to_tensors(self, dataset: Any) -> tuple[Tensor, Tensor]:
        """Convert a loaded torchvision dataset to (uint8 NCHW images, int64 labels)."""
        raise NotImplementedError

    def missing_files(self) -> list[str]:
        return [name for name in self.required_files if not (self.files_dir / name).is_file()]

    def not_found_error(self, download_failure: BaseException | None = None) -> DataNotFoundError:
        missing = self.missing_files() or list(self.required_files)
        parts = [f"{type(self).__name__} data not found: missing {', '.join(missing)} in {self.files_dir}"]
        if download_failure is not None:
            parts.append(f"Download failed ({one_line(download_failure)})")
        parts.append(
            "To get it: run once with --data.download true on a machine with internet access, "
            f"or {self.how_to_get_files()}"
        )
        parts.append(data_dir_hint(self.data_dir, self.files_dir))
        return DataNotFoundError(". ".join(parts))  # one line: the CLI prints it as one `error:` line

    def prepare_data(self) -> None:
        if not self.missing_files() or not self.download:
            return
        try:
            # torchvision downloads both splits whichever one is asked for.
            self.torchvision_dataset(root=self.data_dir, train=True, download=True)
        except (OSError, RuntimeError) as error:  # URLError is an OSError
            if not self.missing_files():
                raise
            raise self.not_found_error(download_failure=error) from None

    def setup(self, stage: str | None = None) -> None:
        if self.missing_files():
            if not self.download:
                raise self.not_found_error()
            self.prepare_data()
        if stage in (None, "fit") and "train" not in self.splits:
            self.splits["train"] = self._load(train=True)
        if "val" not in self.splits:
            self.splits["val"] = self._load(train=False)

    def _load(self, train: bool) -> tuple[Tensor, Tensor]:
        try:
            dataset = self.torchvision_dataset(root=self.data_dir, train=train, download=False)
            images, labels = self.to_tensors(dataset)
        except (RuntimeError, ValueError, EOFError, OSError, pickle.UnpicklingError) as error:
            split = "training" if train else "test"
            culprit = next(filter(None, (self.file_problem(name) for name in self.required_files)), None)
            reason = culprit or one_line(error)
            raise DataCorruptError(
                f"{type(self).__name__} {split} files in {self.files_dir} cannot be read "
                f"({reason}); they are probably truncated or not the original files. "
                f"Delete them and run with --data.download true, or {self.how_to_get_files()}"
            ) from None
        return images, labels.to(torch.int64)

    def file_problem(self, name: str) -> str | None:
        """Why the required file ``name`` is unreadable (naming it), or None if it looks fine.

        Only asked after the torchvision reader failed, to say which file is at fault.
        """
        return None

    def batch_transform(self) -> ScaleAndResize:
        resize_to = None if self.image_size == self.stored_image_size else self.image_size
        return ScaleAndResize(resize_to=resize_to)
