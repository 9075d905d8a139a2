"""Tests of datamodules/: toy mixtures, TensorBatches, MNIST/CIFAR-10 from files written here.

No network: image tests write tiny datasets in the genuine on-disk formats into tmp_path, and the
offline-download tests replace urllib's urlopen with one that raises URLError.
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
import struct
import urllib.error
import urllib.request
from pathlib import Path

import lightning as L
import pytest
import torch
import torchvision

from datamodules import CIFAR10, MNIST, DataNotFoundError, GaussianMixture2D, Grid25, Ring8, ZooDataModule
from datamodules.base import ScaleAndResize, TensorBatches
from datamodules.cifar10 import CIFAR10_FILES
from datamodules.mnist import MNIST_FILES

# --------------------------------------------------------------------------------------------
# Toy mixtures


def small_toy(cls: type[GaussianMixture2D], **kwargs) -> GaussianMixture2D:
    kwargs.setdefault("num_train", 20_000)
    kwargs.setdefault("num_val", 2_000)
    module = cls(**kwargs)
    module.setup("fit")
    return module


def test_grid25_centers_are_the_5x5_grid() -> None:
    module = Grid25()
    expected = {(float(x), float(y)) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}
    assert module.centers.shape == (25, 2)
    assert {tuple(center) for center in module.centers.tolist()} == expected
    assert module.std == 0.05


def test_ring8_centers_are_evenly_spaced_on_the_circle() -> None:
    module = Ring8(radius=3.0)
    assert module.centers.shape == (8, 2)
    torch.testing.assert_close(module.centers.norm(dim=1), torch.full((8,), 3.0))
    angles = torch.atan2(module.centers[:, 1], module.centers[:, 0])
    steps = (angles.roll(-1) - angles) % (2 * math.pi)
    torch.testing.assert_close(steps, torch.full((8,), 2 * math.pi / 8))
    assert Ring8().std == 0.02 and Ring8().radius == 2.0


@pytest.mark.parametrize("cls", [Grid25, Ring8])
def test_toy_samples_follow_the_mixture(cls: type[GaussianMixture2D]) -> None:
    module = small_toy(cls)
    assert module.image_shape == (2,)
    x, y = module.splits["train"]
    assert x.shape == (20_000, 2) and x.dtype == torch.float32
    assert y.shape == (20_000,) and y.dtype == torch.int64
    assert module.splits["val"][0].shape == (2_000, 2)
    k = module.num_components
    counts = torch.bincount(y, minlength=k)
    assert counts.numel() == k and counts.min() > 0.7 * len(y) / k  # components drawn uniformly
    offsets = x - module.centers[y]
    # A 2-D Gaussian exceeds 6 std with probability exp(-18): every point sits at its own center.
    assert offsets.norm(dim=1).max() < 6 * module.std
    for component in range(k):
        empirical_std = offsets[y == component].std(dim=0)
        torch.testing.assert_close(empirical_std, torch.full((2,), module.std), rtol=0.15, atol=0)


def test_toy_data_is_reproducible_from_the_seed() -> None:
    first, again, other = small_toy(Grid25, seed=3), small_toy(Grid25, seed=3), small_toy(Grid25, seed=4)
    for split in ("train", "val"):
        assert torch.equal(first.splits[split][0], again.splits[split][0])
        assert torch.equal(first.splits[split][1], again.splits[split][1])
        assert not torch.equal(first.splits[split][0], other.splits[split][0])


def test_toy_loaders_serve_raw_points_and_labels() -> None:
    module = small_toy(Ring8, batch_size=500)
    x, y = next(iter(module.train_dataloader()))
    assert x.shape == (500, 2) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert (x - module.centers[y]).norm(dim=1).max() < 6 * module.std
    assert len(module.train_dataloader()) == 40
    assert len(module.test_dataloader()) == len(module.val_dataloader()) == 4


def test_image_shape_is_known_before_setup() -> None:
    assert Grid25().image_shape == (2,)
    assert MNIST(data_dir="/nonexistent").image_shape == (1, 28, 28)
    assert MNIST(data_dir="/nonexistent", image_size=64).image_shape == (1, 64, 64)
    assert CIFAR10(data_dir="/nonexistent").image_shape == (3, 32, 32)
    assert CIFAR10(data_dir="/nonexistent", image_size=64).image_shape == (3, 64, 64)


# --------------------------------------------------------------------------------------------
# TensorBatches


def indexed_images(num_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images that contain 0 and 255, with labels = sample index (to trace the order)."""
    images = torch.randint(0, 256, (num_samples, 1, 4, 4), generator=torch.Generator().manual_seed(0))
    images[0, 0, 0, 0], images[0, 0, 0, 1] = 0, 255
    return images.to(torch.uint8), torch.arange(num_samples)


def visit_order(loader: TensorBatches) -> torch.Tensor:
    return torch.cat([labels for _, labels in loader])


def test_tensor_batches_count_shapes_and_range() -> None:
    images, labels = indexed_images(103)
    train = TensorBatches((images, labels), batch_size=10, shuffle=True, drop_last=True, transform=ScaleAndResize())
    batches = list(train)
    assert len(train) == len(batches) == 10
    assert all(x.shape == (10, 1, 4, 4) and y.shape == (10,) for x, y in batches)
    assert all(x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1 for x, _ in batches)
    evaluation = TensorBatches((images, labels), batch_size=10, transform=ScaleAndResize())
    assert len(evaluation) == len(list(evaluation)) == 11
    assert [tuple(x.shape) for x, _ in evaluation][-1] == (3, 1, 4, 4)


def test_tensor_batches_scale_uint8_to_signed_unit_interval() -> None:
    images, labels = indexed_images(5)
    x, _ = next(iter(TensorBatches((images, labels), batch_size=5, transform=ScaleAndResize())))
    torch.testing.assert_close(x, images.float() / 127.5 - 1)
    assert x[0, 0, 0, 0] == -1 and x[0, 0, 0, 1] == 1


def test_tensor_batches_new_permutation_each_epoch_reproducible_from_seed() -> None:
    images, labels = indexed_images(100)

    def loader(seed: int) -> TensorBatches:
        return TensorBatches((images, labels), batch_size=10, shuffle=True, drop_last=True, seed=seed)

    first = loader(seed=7)
    iter(first)  # a bare iter(), as Lightning's checks do, must not consume an epoch
    epoch0, epoch1 = visit_order(first), visit_order(first)
    assert sorted(epoch0.tolist()) == list(range(100))
    assert not torch.equal(epoch0, epoch1)
    assert not torch.equal(epoch0, torch.arange(100))
    again = loader(seed=7)
    assert torch.equal(visit_order(again), epoch0) and torch.equal(visit_order(again), epoch1)
    resumed = loader(seed=7)
    resumed.set_epoch(1)
    assert torch.equal(visit_order(resumed), epoch1)
    assert not torch.equal(visit_order(loader(seed=8)), epoch0)


def test_tensor_batches_train_drops_tail_and_never_repeats_a_sample() -> None:
    images, labels = indexed_images(25)
    order = visit_order(TensorBatches((images, labels), batch_size=10, shuffle=True, drop_last=True))
    assert order.numel() == 20 and order.unique().numel() == 20


def test_tensor_batches_evaluation_covers_every_sample_once_in_order() -> None:
    images, labels = indexed_images(103)
    loader = TensorBatches((images, labels), batch_size=10)
    assert torch.equal(visit_order(loader), torch.arange(103))
    assert torch.equal(visit_order(loader), torch.arange(103))  # and again next epoch
    x = torch.cat([x for x, _ in loader])
    assert torch.equal(x, images)  # no transform: stored values untouched


def test_tensor_batches_rejects_bad_arguments() -> None:
    images, labels = indexed_images(8)
    with pytest.raises(ValueError, match="batch_size"):
        TensorBatches((images, labels), batch_size=0)
    with pytest.raises(ValueError, match="batch_size=10 exceeds the 8 samples"):
        TensorBatches((images, labels), batch_size=10, drop_last=True)
    with pytest.raises(ValueError, match="same number of samples"):
        TensorBatches((images, labels[:5]), batch_size=2)


def test_scale_and_resize_upsamples_with_values_kept_in_range() -> None:
    images = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    images[:, :, :14] = 255
    resized = ScaleAndResize(resize_to=64)(images)
    assert resized.shape == (3, 1, 64, 64) and resized.dtype == torch.float32
    assert resized.min() >= -1 and resized.max() <= 1
    assert torch.all(resized[:, :, :20] == 1)  # a flat region stays flat


class RecordingModule(L.LightningModule):
    """Records the labels of each training batch; trains one scalar so Lightning has a loss."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(2))
        self.seen_labels: list[list[torch.Tensor]] = []

    def on_train_epoch_start(self) -> None:
        self.seen_labels.append([])

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        self.seen_labels[-1].append(y)
        return (x * self.weight).sum()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)


def test_lightning_trainer_consumes_the_loaders_with_a_new_order_each_epoch() -> None:
    """Also when Lightning rebuilds the train loader every epoch (as after resuming)."""
    data = Grid25(num_train=1_000, num_val=200, batch_size=250, seed=1)
    model = RecordingModule()
    trainer = L.Trainer(
        max_epochs=3,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        reload_dataloaders_every_n_epochs=1,
        accelerator="cpu",
    )
    trainer.fit(model, datamodule=data)
    assert [len(epoch) for epoch in model.seen_labels] == [4, 4, 4]
    epoch_labels = [torch.cat(epoch) for epoch in model.seen_labels]
    train_labels = data.splits["train"][1]
    loader = TensorBatches(data.splits["train"], batch_size=250, shuffle=True, drop_last=True, seed=1)
    for epoch, labels in enumerate(epoch_labels):
        assert torch.equal(labels, train_labels[loader.permutation(epoch)])
    assert not torch.equal(epoch_labels[0], epoch_labels[1])


# --------------------------------------------------------------------------------------------
# MNIST and CIFAR-10 from files written by the tests


def write_idx_images(path: Path, images: torch.Tensor) -> None:
    """IDX image file: magic 2051 (ubyte, 3 dims), big-endian dims, raw pixels."""
    count, rows, cols = images.shape
    path.write_bytes(struct.pack(">IIII", 2051, count, rows, cols) + images.numpy().tobytes())


def write_idx_labels(path: Path, labels: torch.Tensor) -> None:
    """IDX label file: magic 2049 (ubyte, 1 dim), big-endian count, raw labels."""
    path.write_bytes(struct.pack(">II", 2049, labels.numel()) + labels.to(torch.uint8).numpy().tobytes())


def random_uint8_images(count: int, *shape: int, seed: int) -> torch.Tensor:
    images = torch.randint(0, 256, (count, *shape), generator=torch.Generator().manual_seed(seed))
    images = images.to(torch.uint8)
    images[0].view(-1)[0], images[0].view(-1)[1] = 0, 255
    return images


@pytest.fixture
def mnist_root(tmp_path: Path) -> tuple[Path, dict[str, tuple[torch.Tensor, torch.Tensor]]]:
    """20 train + 10 test 28x28 digits in <root>/MNIST/raw, where torchvision 0.29 looks for them
    (its _check_exists wants the four uncompressed files in raw/; processed/ is legacy only)."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    splits = {}
    for prefix, count, seed in (("train", 20, 0), ("t10k", 10, 1)):
        images = random_uint8_images(count, 28, 28, seed=seed)
        labels = torch.arange(count) % 10
        write_idx_images(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx_labels(raw / f"{prefix}-labels-idx1-ubyte", labels)
        splits[prefix] = (images, labels)
    return tmp_path, splits


def test_mnist_reads_idx_files(mnist_root) -> None:
    root, splits = mnist_root
    data = MNIST(data_dir=str(root), batch_size=4, download=False)
    data.setup("fit")
    train_batches = list(data.train_dataloader())
    assert len(train_batches) == 5
    assert all(x.shape == (4, 1, 28, 28) and x.dtype == torch.float32 for x, _ in train_batches)
    train_images, train_labels = splits["train"]
    assert sorted(torch.cat([y for _, y in train_batches]).tolist()) == sorted(train_labels.tolist())

    val_x, val_y = zip(*data.val_dataloader())
    test_images, test_labels = splits["t10k"]
    torch.testing.assert_close(torch.cat(val_x), test_images.unsqueeze(1).float() / 127.5 - 1)
    assert torch.equal(torch.cat(val_y), test_labels) and val_y[0].dtype == torch.int64
    assert val_x[0][0, 0, 0, 0] == -1 and val_x[0][0, 0, 0, 1] == 1
    assert len(data.test_dataloader()) == 3  # test = val = the official test split


def test_mnist_upsampled_to_64(mnist_root) -> None:
    root, _ = mnist_root
    data = MNIST(data_dir=str(root), image_size=64, batch_size=4, download=False)
    data.setup("fit")
    x, _ = next(iter(data.train_dataloader()))
    assert x.shape == (4, 1, 64, 64) == (4, *data.image_shape)
    assert x.min() >= -1 and x.max() <= 1


def write_cifar_batch(path: Path, images: torch.Tensor, labels: torch.Tensor) -> str:
    """A CIFAR-10 python batch: a pickled dict, "data" uint8 (N, 3072) in R, G, B planes of
    row-major 32x32, "labels" a list. Keys are str: the originals are Python 2 pickles whose str keys
    torchvision decodes with encoding="latin1". Returns the file's MD5."""
    entry = {"batch_label": path.name, "data": images.reshape(len(images), -1).numpy(), "labels": labels.tolist()}
    path.write_bytes(pickle.dumps(entry, protocol=2))
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def cifar_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Five 2-image train batches and a 6-image test batch; torchvision's MD5 table is patched to
    the written files' sums (torchvision 0.29 checks train_list, test_list and meta md5s)."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    train_list, train_parts = [], []
    for index in range(1, 6):
        images = random_uint8_images(2, 3, 32, 32, seed=index)
        labels = torch.tensor([index, index + 1]) % 10
        train_list.append([f"data_batch_{index}", write_cifar_batch(folder / f"data_batch_{index}", images, labels)])
        train_parts.append((images, labels))
    test_images, test_labels = random_uint8_images(6, 3, 32, 32, seed=0), torch.arange(6)
    test_list = [["test_batch", write_cifar_batch(folder / "test_batch", test_images, test_labels)]]
    meta_path = folder / "batches.meta"
    meta_path.write_bytes(pickle.dumps({"label_names": [f"class{i}" for i in range(10)]}, protocol=2))
    meta = {"filename": "batches.meta", "key": "label_names", "md5": hashlib.md5(meta_path.read_bytes()).hexdigest()}
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "train_list", train_list)
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "test_list", test_list)
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "meta", meta)
    train = (torch.cat([images for images, _ in train_parts]), torch.cat([labels for _, labels in train_parts]))
    return tmp_path, {"train": train, "test": (test_images, test_labels)}


def test_cifar10_reads_python_batches(cifar_root) -> None:
    root, splits = cifar_root
    data = CIFAR10(data_dir=str(root), batch_size=4, download=False)
    data.setup("fit")
    x, y = next(iter(data.train_dataloader()))
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert len(data.train_dataloader()) == 2  # 10 images, batch 4, tail dropped
    train_images, train_labels = data.splits["train"]
    assert torch.equal(train_images, splits["train"][0]) and torch.equal(train_labels, splits["train"][1])

    val_x, val_y = zip(*data.val_dataloader())
    # NCHW with channel planes in file order: pixel (c, h, w) = data[c * 1024 + h * 32 + w].
    torch.testing.assert_close(torch.cat(val_x), splits["test"][0].float() / 127.5 - 1)
    assert torch.equal(torch.cat(val_y), splits["test"][1])
    assert val_x[0][0, 0, 0, 0] == -1 and val_x[0][0, 0, 0, 1] == 1


def test_cifar10_upsampled_to_64(cifar_root) -> None:
    root, _ = cifar_root
    data = CIFAR10(data_dir=str(root), image_size=64, batch_size=3, download=False)
    data.setup("test")
    x, _ = next(iter(data.test_dataloader()))
    assert x.shape == (3, 3, 64, 64) == (3, *data.image_shape)
    assert x.min() >= -1 and x.max() <= 1


# --------------------------------------------------------------------------------------------
# Missing data and offline downloads

IMAGE_MODULES = [
    pytest.param(MNIST, ("MNIST", "raw"), MNIST_FILES, id="MNIST"),
    pytest.param(CIFAR10, ("cifar-10-batches-py",), CIFAR10_FILES, id="CIFAR10"),
]


@pytest.mark.parametrize(("cls", "subdirs", "file_names"), IMAGE_MODULES)
def test_missing_files_without_download_say_what_where_and_how(tmp_path, cls, subdirs, file_names) -> None:
    data = cls(data_dir=str(tmp_path), download=False)
    with pytest.raises(DataNotFoundError) as error:
        data.setup("fit")
    message = str(error.value)
    assert str(tmp_path.joinpath(*subdirs).absolute()) in message
    assert all(name in message for name in file_names)
    assert "--data.download true" in message
    assert isinstance(error.value, FileNotFoundError)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every URL fetch fails the way it does on a machine without network."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.mark.parametrize(("cls", "subdirs", "file_names"), IMAGE_MODULES)
def test_offline_download_becomes_data_not_found(tmp_path, offline, cls, subdirs, file_names) -> None:
    data = cls(data_dir=str(tmp_path), download=True)
    with pytest.raises(DataNotFoundError) as error:
        data.prepare_data()
    message = str(error.value)
    assert "Download failed" in message and "name resolution" in message
    assert str(tmp_path.joinpath(*subdirs).absolute()) in message
    assert all(name in message for name in file_names)
    assert error.value.__cause__ is None and error.value.__suppress_context__
    with pytest.raises(DataNotFoundError):  # setup downloads too when prepare_data was skipped
        data.setup("fit")


def test_cifar10_message_gives_the_download_url(tmp_path) -> None:
    with pytest.raises(DataNotFoundError, match="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"):
        CIFAR10(data_dir=str(tmp_path), download=False).setup()


# --------------------------------------------------------------------------------------------
# Argument validation


@pytest.mark.parametrize(("cls", "supported"), [(MNIST, "28, 64"), (CIFAR10, "32, 64")])
def test_unsupported_image_size_lists_the_supported_ones(cls, supported) -> None:
    with pytest.raises(ValueError, match=f"image_size=48.*supported sizes: {supported}"):
        cls(image_size=48)


@pytest.mark.parametrize("cls", [MNIST, CIFAR10, Grid25, Ring8])
def test_nonpositive_batch_size_is_rejected(cls) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        cls(batch_size=0)


def test_toy_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="std"):
        Grid25(std=0.0)
    with pytest.raises(ValueError, match="num_train"):
        Ring8(num_train=0)
    with pytest.raises(ValueError, match="centers"):
        GaussianMixture2D(centers=[(0.0, 0.0, 0.0)])


def test_loaders_before_setup_explain_what_to_do() -> None:
    with pytest.raises(RuntimeError, match="setup"):
        Grid25().train_dataloader()
    assert issubclass(Grid25, ZooDataModule) and issubclass(MNIST, ZooDataModule)


# --------------------------------------------------------------------------------------------
# Real data


@pytest.mark.slow
@pytest.mark.skipif("ZOO_DATA_DIR" not in os.environ, reason="set ZOO_DATA_DIR to a folder holding MNIST/raw")
def test_real_mnist_from_zoo_data_dir() -> None:
    data = MNIST(data_dir=os.environ["ZOO_DATA_DIR"], download=False)
    data.setup("fit")
    assert data.splits["train"][0].shape == (60_000, 1, 28, 28)
    assert data.splits["val"][0].shape == (10_000, 1, 28, 28)
    assert len(data.train_dataloader()) == 600 and len(data.test_dataloader()) == 100
    x, y = next(iter(data.train_dataloader()))
    assert x.shape == (100, 1, 28, 28) and x.min() == -1 and x.max() == 1
    assert torch.bincount(data.splits["train"][1]).tolist()[:2] == [5923, 6742]
