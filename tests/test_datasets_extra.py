"""Tests of the datamodules added for issue 5: Stacked/Color MNIST, Fashion-MNIST, CelebA, STL-10, LSUN,
ImageFolder, the decode-once cache and GPU-resident data.

No network and no real data in the default run: every loader reads small files written here in the
dataset's genuine on-disk format (IDX, CelebA's img_align_celeba/ + annotation .txt files, the STL-10
column-major binaries, an LSUN LMDB written with ``lmdb``, a folder of JPEG/PNG files).
"""

from __future__ import annotations

import io
import os
import types
from pathlib import Path

import lightning as L
import lmdb
import numpy as np
import pytest
import torch
from PIL import Image

import cli
import datamodules
from datamodules import (
    LSUN,
    MNIST,
    STL10,
    CelebA,
    ColorMNIST,
    DataCorruptError,
    DataNotFoundError,
    FashionMNIST,
    Grid25,
    ImageFolder,
    StackedMNIST,
    ZooDataModule,
)
from datamodules import images as images_module
from datamodules.stacked_mnist import mode_digits
from test_datamodules import (  # noqa: F401  (fixtures)
    mnist_root,
    offline,
    random_uint8_images,
    write_idx_images,
    write_idx_labels,
)


def cli_error(args: list[str], capsys) -> str:
    """stderr of a command that must fail as a user error: exactly one 'error:' line, status 2."""
    assert cli.run_command_line(args) == cli.EXIT_USER_ERROR
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def fit_args(tmp_path: Path, data: str, *extra: str) -> list[str]:
    return ["fit", "--model", "AIM", "--data", data, *extra, "--trainer.max_steps", "1",
            "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
            "--trainer.default_root_dir", str(tmp_path / "run")]


def as_signed(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 127.5 - 1


# --------------------------------------------------------------------------------------------
# Registration with the CLI


NEW_MODULES = ["CelebA", "ColorMNIST", "FashionMNIST", "ImageFolder", "LSUN", "STL10", "StackedMNIST"]


def test_every_datamodule_is_exported_for_the_cli() -> None:
    names = cli.class_names(datamodules, ZooDataModule)
    assert set(NEW_MODULES) <= set(names)
    assert {"MNIST", "CIFAR10", "Grid25", "Ring8"} <= set(names)


@pytest.mark.parametrize(("module", "shape"), [
    (StackedMNIST(data_dir="/nonexistent"), (3, 28, 28)),
    (StackedMNIST(data_dir="/nonexistent", image_size=64), (3, 64, 64)),
    (ColorMNIST(data_dir="/nonexistent"), (3, 28, 28)),
    (FashionMNIST(data_dir="/nonexistent"), (1, 28, 28)),
    (CelebA(data_dir="/nonexistent"), (3, 64, 64)),
    (STL10(data_dir="/nonexistent"), (3, 64, 64)),
    (STL10(data_dir="/nonexistent", image_size=48), (3, 48, 48)),
    (LSUN(data_dir="/nonexistent"), (3, 64, 64)),
    (ImageFolder(data_dir="/nonexistent", image_size=32, channels=1), (1, 32, 32)),
], ids=lambda value: type(value).__name__ if isinstance(value, ZooDataModule) else str(value))
def test_image_shape_is_known_right_after_init(module, shape) -> None:
    assert module.image_shape == shape


def test_cli_links_the_stacked_mnist_shape_into_the_model(tmp_path) -> None:
    the_cli = cli.main(["--model", "AIM", "--data", "StackedMNIST", "--data.data_dir", str(tmp_path),
                        "--data.download", "false"], run=False)
    assert the_cli.model.image_shape == (3, 28, 28)
    assert type(the_cli.datamodule) is StackedMNIST and the_cli.datamodule.batch_size == 64


@pytest.mark.parametrize(("cls", "kwargs", "match"), [
    (CelebA, {"crop": 200}, "crop must be an integer between 1 and 178"),
    (LSUN, {"category": "cats"}, "unknown LSUN category 'cats'.*church_outdoor"),
    (STL10, {"image_size": 128}, "image_size must be at most 96"),
    (ImageFolder, {"data_dir": "x", "channels": 2}, "channels must be 1"),
    (ImageFolder, {"data_dir": "x", "val_fraction": 1.0}, "val_fraction"),
    (StackedMNIST, {"num_train": 0}, "num_train"),
    (StackedMNIST, {"image_size": 32}, "supported sizes: 28, 64"),
    (Grid25, {"device": "gpu7"}, "device must be 'auto', 'cpu'"),
])
def test_bad_arguments_are_refused_at_init(cls, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


# --------------------------------------------------------------------------------------------
# Stacked MNIST / ColorMNIST / Fashion-MNIST on genuine IDX files


def digit_index(digits: torch.Tensor, image: torch.Tensor) -> int:
    """Index of the digit equal to ``image`` (the fixture's random digits are all distinct)."""
    matches = (digits == image).flatten(1).all(dim=1).nonzero().flatten()
    assert len(matches) == 1
    return int(matches[0])


def test_stacked_mnist_channels_are_drawn_digits_and_labels_their_mode(mnist_root) -> None:
    root, splits = mnist_root
    data = StackedMNIST(data_dir=str(root), num_train=300, num_val=40, batch_size=10, download=False)
    data.setup("fit")
    for split, source, count in (("train", "train", 300), ("val", "t10k", 40)):
        images, modes = data.splits[split]
        digits, digit_labels = splits[source]  # val/test images stack MNIST test digits only
        assert images.shape == (count, 3, 28, 28) and images.dtype == torch.uint8
        assert modes.dtype == torch.int64 and 0 <= modes.min() and modes.max() < 1000
        for image, mode in zip(images[:25], modes[:25]):
            rgb = [int(digit_labels[digit_index(digits, channel)]) for channel in image]
            assert mode_digits(mode).tolist() == rgb
            assert int(mode) == 100 * rgb[0] + 10 * rgb[1] + rgb[2]
    x, y = next(iter(data.train_dataloader()))
    assert x.shape == (10, 3, 28, 28) and x.min() >= -1 and x.max() <= 1 and y.shape == (10,)
    assert len(data.train_dataloader()) == 30  # fixed epoch length: num_train / batch_size


def test_stacked_mnist_draw_is_seeded_and_covers_the_1000_modes(mnist_root) -> None:
    root, _ = mnist_root

    def drawn(seed: int, num_train: int = 500) -> StackedMNIST:
        data = StackedMNIST(data_dir=str(root), num_train=num_train, num_val=20, seed=seed, download=False)
        data.setup("fit")
        return data

    first, again, other = drawn(3), drawn(3), drawn(4)
    for split in ("train", "val"):
        assert torch.equal(first.splits[split][0], again.splits[split][0])
        assert torch.equal(first.splits[split][1], again.splits[split][1])
        assert not torch.equal(first.splits[split][1], other.splits[split][1])
    # The fixture's 20 training digits hold every class twice: 30,000 uniform draws leave a given
    # mode out with probability (1 - 1/1000)^30000 ~ e^-30.
    modes = drawn(0, num_train=30_000).splits["train"][1]
    counts = torch.bincount(modes, minlength=1000)
    assert counts.numel() == 1000 and counts.min() > 0
    assert abs(counts.float().mean() - 30) < 1e-4 and counts.max() < 70


def test_stacked_mnist_upsampled_to_64_and_color_mnist_is_its_28px_alias(mnist_root) -> None:
    root, _ = mnist_root
    data = StackedMNIST(data_dir=str(root), image_size=64, num_train=40, num_val=8, batch_size=8, download=False)
    data.setup("fit")
    x, _ = next(iter(data.val_dataloader()))
    assert x.shape == (8, 3, 64, 64) and x.min() >= -1 and x.max() <= 1
    color = ColorMNIST(data_dir=str(root), num_train=40, num_val=8, download=False)
    assert isinstance(color, StackedMNIST) and color.image_shape == (3, 28, 28) and color.batch_size == 64
    color.setup("fit")
    reference = StackedMNIST(data_dir=str(root), num_train=40, num_val=8, download=False)
    reference.setup("fit")
    assert torch.equal(color.splits["train"][0], reference.splits["train"][0])


def test_fashion_mnist_reads_its_idx_files(tmp_path) -> None:
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, count in (("train", 12), ("t10k", 6)):
        write_idx_images(raw / f"{prefix}-images-idx3-ubyte", random_uint8_images(count, 28, 28, seed=count))
        write_idx_labels(raw / f"{prefix}-labels-idx1-ubyte", torch.arange(count) % 10)
    data = FashionMNIST(data_dir=str(tmp_path), batch_size=4, download=False)
    data.setup("fit")
    assert data.splits["train"][0].shape == (12, 1, 28, 28) and data.splits["val"][0].shape == (6, 1, 28, 28)
    with pytest.raises(DataNotFoundError, match=r"FashionMNIST.*fashion-mnist"):
        FashionMNIST(data_dir=str(tmp_path / "elsewhere"), download=False).setup("fit")


def test_truncated_idx_file_is_one_cli_line_naming_the_file(mnist_root, capsys, tmp_path) -> None:
    root, _ = mnist_root
    images = root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:1000])
    line = cli_error(fit_args(tmp_path, "StackedMNIST", "--data.data_dir", str(root), "--data.download", "false"),
                     capsys)
    assert str(images) in line and "1000 bytes" in line and "truncated" in line


def test_missing_data_errors_are_one_line(tmp_path) -> None:
    with pytest.raises(DataNotFoundError) as error:
        StackedMNIST(data_dir=str(tmp_path), download=False).setup("fit")
    assert "\n" not in str(error.value) and "train-images-idx3-ubyte" in str(error.value)


# --------------------------------------------------------------------------------------------
# GPU-resident data: the machinery, exercised with the Trainer's device on CPU


class PointerRecorder(L.LightningModule):
    """Records the storage address of every training batch it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.received: list[int] = []

    def training_step(self, batch, batch_idx):
        self.received.append(batch[0].data_ptr())
        return (batch[0].mean() * self.weight).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)


class RecordingGrid(Grid25):
    """Grid25 whose train loader records the storage address of every batch it yields."""

    yielded: list[int]

    def train_dataloader(self):
        loader = super().train_dataloader()
        self.yielded = []
        outer = self

        class Spy:
            def __len__(self):
                return len(loader)

            def __iter__(self):
                for batch in loader:
                    outer.yielded.append(batch[0].data_ptr())
                    yield batch

        return Spy()


@pytest.mark.parametrize("device", ["auto", "cpu"])
def test_resident_batches_reach_the_model_without_a_copy(device) -> None:
    data = RecordingGrid(num_train=400, num_val=100, batch_size=100, device=device)
    data.setup("fit")
    stored = data.splits["train"][0]
    model = PointerRecorder()
    trainer = L.Trainer(max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                        limit_val_batches=0)
    trainer.fit(model, datamodule=data)
    assert data.splits["train"][0] is stored  # already on the trainer's device: not moved, not copied
    assert data.storage_device() in (None, trainer.strategy.root_device)
    assert len(model.received) == 8
    assert model.received == data.yielded  # the very tensors the loader made: no per-batch transfer copy


def fake_trainer(device: str) -> types.SimpleNamespace:
    return types.SimpleNamespace(strategy=types.SimpleNamespace(root_device=torch.device(device)))


def test_auto_device_picks_the_trainers_gpu_when_the_data_fits(monkeypatch) -> None:
    data = Grid25(num_train=1000, num_val=100)
    data.setup("fit")
    assert data.storage_device() is None  # no trainer: stays where it is
    data.trainer = fake_trainer("cpu")
    assert data.storage_device() is None
    data.trainer = fake_trainer("cuda:0")
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (80 * 2**30, 80 * 2**30))
    assert data.storage_device() == torch.device("cuda:0")
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (2**10, 4 * 2**10))  # 4 KiB GPU
    with pytest.warns(UserWarning, match="stays in host memory"):
        assert data.storage_device() is None
    data.trainer = None
    assert Grid25(device="cuda:1").storage_device() == torch.device("cuda:1")
    assert Grid25(device="cpu").storage_device() == torch.device("cpu")


def test_splits_move_once_to_the_storage_device_and_batches_are_made_there(monkeypatch) -> None:
    """The move itself, with 'meta' standing in for a GPU (it copies no data, it only tracks devices)."""
    data = Grid25(num_train=1000, num_val=100, batch_size=100)
    data.setup("fit")
    monkeypatch.setattr(Grid25, "storage_device", lambda self: torch.device("meta"))
    loader = data.train_dataloader()
    moved = data.splits["train"]
    assert all(tensor.device.type == "meta" for tensor in moved)
    x, y = next(iter(loader))
    assert x.device.type == "meta" and y.device.type == "meta" and x.shape == (100, 2)
    data.train_dataloader()
    data.val_dataloader()
    assert data.splits["train"] is moved and data.splits["val"][0].device.type == "meta"  # moved once, kept


# --------------------------------------------------------------------------------------------
# CelebA: img_align_celeba/ JPEGs + list_eval_partition.txt + list_attr_celeba.txt

ATTRIBUTE_NAMES = [f"Attribute_{index}" for index in range(40)]
CELEBA_PARTITION = [0, 0, 0, 0, 0, 1, 1, 2]  # 5 train, 2 val, 1 test


def celeba_colour(index: int) -> tuple[int, int, int]:
    return (30 * index, 250 - 30 * index, 128)


def celeba_image(index: int) -> np.ndarray:
    """178 x 218 aligned face stand-in: a flat colour inside the central 140 x 140 box, black outside."""
    image = np.zeros((218, 178, 3), dtype=np.uint8)
    image[39:179, 19:159] = celeba_colour(index)
    return image


def write_jpeg(path: Path, array: np.ndarray) -> None:
    """A JPEG close enough to ``array`` for pixel checks: full chroma resolution, quality 100."""
    Image.fromarray(array).save(path, format="JPEG", quality=100, subsampling=0)


@pytest.fixture
def celeba_root(tmp_path: Path) -> Path:
    folder = tmp_path / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    names = [f"{index + 1:06d}.jpg" for index in range(len(CELEBA_PARTITION))]
    for index, name in enumerate(names):
        write_jpeg(folder / "img_align_celeba" / name, celeba_image(index))
    (folder / "list_eval_partition.txt").write_text(
        "".join(f"{name} {code}\n" for name, code in zip(names, CELEBA_PARTITION)))
    rows = [" ".join(f"{1 if (index + bit) % 3 == 0 else -1:2d}" for bit in range(40)) for index in range(len(names))]
    (folder / "list_attr_celeba.txt").write_text(
        f"{len(names)}\n{' '.join(ATTRIBUTE_NAMES)} \n" + "".join(f"{name} {row}\n" for name, row in zip(names, rows)))
    return tmp_path


def expected_attributes(index: int) -> list[int]:
    return [1 if (index + bit) % 3 == 0 else 0 for bit in range(40)]


def test_celeba_reads_the_official_layout_with_partition_and_attributes(celeba_root) -> None:
    data = CelebA(data_dir=str(celeba_root), batch_size=2, decode_workers=0)
    data.prepare_data()
    data.setup()
    sizes = {split: len(data.splits[split][0]) for split in ("train", "val", "test")}
    assert sizes == {"train": 5, "val": 2, "test": 1}
    assert data.attribute_names == ATTRIBUTE_NAMES
    for split, indices in (("train", range(5)), ("val", (5, 6)), ("test", (7,))):
        images, labels = data.splits[split]
        assert images.shape == (len(indices), 3, 64, 64) and images.dtype == torch.uint8
        assert labels.dtype == torch.int64 and labels.tolist() == [expected_attributes(i) for i in indices]
        for image, index in zip(images, indices):
            # crop 140 keeps exactly the flat box: every pixel has its colour (up to JPEG error)
            colour = torch.tensor(celeba_colour(index), dtype=torch.float32).view(3, 1, 1)
            assert (image.float() - colour).abs().max() <= 12
    x, y = next(iter(data.test_dataloader()))
    assert x.shape == (1, 3, 64, 64) and x.min() >= -1 and x.max() <= 1 and y.shape == (1, 40)


def test_celeba_crop_160_includes_the_border(celeba_root) -> None:
    data = CelebA(data_dir=str(celeba_root / "celeba"), crop=160, image_size=32, decode_workers=0, cache=False)
    data.setup("test")  # data_dir may also be the celeba folder itself
    image = data.splits["test"][0][0].float()
    assert image.shape == (3, 32, 32)
    # 160 = 140 + 10 black pixels each side: 10/160 of 32 = 2 output pixels of black at each edge
    assert image[:, :, 0].max() < 40 and image[:, 0, :].max() < 40 and image[:, -1, -1].max() < 40
    colour = torch.tensor(celeba_colour(7), dtype=torch.float32)
    assert (image[:, 4:-4, 4:-4].flatten(1).mean(1) - colour).abs().max() < 8


def test_celeba_cache_is_written_once_and_reused(celeba_root, monkeypatch) -> None:
    CelebA(data_dir=str(celeba_root), decode_workers=0).setup("fit")
    caches = sorted(path.name for path in (celeba_root / "celeba" / "zoo_cache").iterdir())
    assert len(caches) == 2 and all(name.startswith("celeba-") and "crop140-64" in name for name in caches)

    def refuse(*args, **kwargs):
        raise AssertionError("decoded again although the cache is there")

    monkeypatch.setattr(images_module, "decode_images", refuse)
    again = CelebA(data_dir=str(celeba_root), decode_workers=0)
    again.setup("fit")
    assert again.splits["train"][0].shape == (5, 3, 64, 64) and again.attribute_names == ATTRIBUTE_NAMES
    with pytest.raises(AssertionError, match="decoded again"):  # other parameters: another cache
        CelebA(data_dir=str(celeba_root), crop=160, decode_workers=0).setup("fit")


def test_celeba_reads_the_kaggle_csv_copies(celeba_root) -> None:
    folder = celeba_root / "celeba"
    for name in ("list_eval_partition", "list_attr_celeba"):
        lines = (folder / f"{name}.txt").read_text().splitlines()
        rows = [line.split() for line in lines if line.split() and line.split()[0].endswith(".jpg")]
        header = "image_id,partition" if name == "list_eval_partition" else "image_id," + ",".join(ATTRIBUTE_NAMES)
        (folder / f"{name}.csv").write_text(header + "\n" + "".join(",".join(row) + "\n" for row in rows))
        (folder / f"{name}.txt").unlink()
    data = CelebA(data_dir=str(celeba_root), decode_workers=0, cache=False)
    data.setup("validate")
    assert data.splits["val"][1].tolist() == [expected_attributes(5), expected_attributes(6)]
    assert data.attribute_names == ATTRIBUTE_NAMES


def test_celeba_missing_files_say_which_where_and_how(tmp_path) -> None:
    with pytest.raises(DataNotFoundError) as error:
        CelebA(data_dir=str(tmp_path)).setup("fit")
    message = str(error.value)
    assert "\n" not in message and str(tmp_path / "celeba") in message
    for name in ("img_align_celeba/", "list_eval_partition.txt", "list_attr_celeba.txt", "mmlab.ie.cuhk.edu.hk"):
        assert name in message


def test_celeba_listed_image_missing_or_corrupt_is_named(celeba_root) -> None:
    folder = celeba_root / "celeba" / "img_align_celeba"
    (folder / "000007.jpg").unlink()
    with pytest.raises(DataNotFoundError, match=r"000007\.jpg is missing"):
        CelebA(data_dir=str(celeba_root), decode_workers=0, cache=False).setup("validate")
    corrupt = folder / "000003.jpg"
    corrupt.write_bytes(corrupt.read_bytes()[:300])
    with pytest.raises(DataCorruptError) as error:
        CelebA(data_dir=str(celeba_root), decode_workers=0, cache=False).setup("fit")
    assert str(corrupt) in str(error.value) and "truncated" in str(error.value)


def test_celeba_decodes_in_worker_processes(celeba_root, monkeypatch) -> None:
    monkeypatch.setattr(images_module, "MIN_IMAGES_FOR_POOL", 0)
    in_process = CelebA(data_dir=str(celeba_root), decode_workers=0, cache=False)
    in_process.setup("fit")
    pooled = CelebA(data_dir=str(celeba_root), decode_workers=2, cache=False)
    pooled.setup("fit")
    assert torch.equal(pooled.splits["train"][0], in_process.splits["train"][0])


# --------------------------------------------------------------------------------------------
# STL-10: stl10_binary/*.bin, images column-major


def write_stl_images(path: Path, images: torch.Tensor) -> None:
    """STL-10 image file: uint8, each image 3 x 96 x 96 stored channel by channel, column-major."""
    path.write_bytes(images.transpose(2, 3).contiguous().numpy().tobytes())


@pytest.fixture
def stl_root(tmp_path: Path) -> tuple[Path, dict[str, torch.Tensor]]:
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    written = {}
    for name, count, seed in (("train", 6, 1), ("test", 4, 2), ("unlabeled", 5, 3)):
        images = random_uint8_images(count, 3, 96, 96, seed=seed)
        images[:, :, :48, :] = 200  # a flat top half survives any resize exactly
        write_stl_images(folder / f"{name}_X.bin", images)
        written[name] = images
        if name != "unlabeled":
            labels = (torch.arange(count) % 10 + 1).to(torch.uint8)
            (folder / f"{name}_y.bin").write_bytes(labels.numpy().tobytes())
    return tmp_path, written


def test_stl10_reads_binaries_train_plus_unlabeled(stl_root) -> None:
    root, written = stl_root
    data = STL10(data_dir=str(root), image_size=96, batch_size=5, download=False)
    data.setup("fit")
    train_images, train_labels = data.splits["train"]
    assert torch.equal(train_images, torch.cat([written["train"], written["unlabeled"]]))  # row-major, in order
    assert train_labels.tolist() == [0, 1, 2, 3, 4, 5] + [-1] * 5
    assert torch.equal(data.splits["val"][0], written["test"]) and data.splits["val"][1].tolist() == [0, 1, 2, 3]
    assert len(data.test_dataloader()) == 1 and len(data.train_dataloader()) == 2
    labelled_only = STL10(data_dir=str(root), image_size=96, unlabeled=False, download=False)
    labelled_only.setup("fit")
    assert len(labelled_only.splits["train"][0]) == 6


@pytest.mark.parametrize("size", [64, 48])
def test_stl10_resized_once_and_cached(stl_root, size) -> None:
    root, written = stl_root
    data = STL10(data_dir=str(root), image_size=size, batch_size=3, download=False)
    data.setup("fit")
    images = data.splits["train"][0]
    assert images.shape == (11, 3, size, size) and images.dtype == torch.uint8
    assert torch.all(images[:, :, : size // 2 - 2] == 200)  # the flat half stays flat
    x, _ = next(iter(data.val_dataloader()))
    assert x.shape == (3, 3, size, size) and x.min() >= -1 and x.max() <= 1
    caches = sorted(path.name.split("-")[1] for path in (root / "stl10_binary" / "zoo_cache").glob("*.pt"))
    assert caches == ["train", "val"]


def test_stl10_truncated_and_missing_files_are_named(stl_root, tmp_path) -> None:
    root, _ = stl_root
    unlabeled = root / "stl10_binary" / "unlabeled_X.bin"
    unlabeled.write_bytes(unlabeled.read_bytes()[:-100])
    with pytest.raises(DataCorruptError) as error:
        STL10(data_dir=str(root), download=False, cache=False).setup("fit")
    assert str(unlabeled) in str(error.value) and "3 x 96 x 96" in str(error.value)
    unlabeled.unlink()
    with pytest.raises(DataNotFoundError, match=r"missing unlabeled_X\.bin in .*stl10_binary"):
        STL10(data_dir=str(root), download=False).setup("fit")


def test_stl10_offline_download_is_a_clear_error(tmp_path, offline) -> None:
    with pytest.raises(DataNotFoundError) as error:
        STL10(data_dir=str(tmp_path), download=True).prepare_data()
    message = str(error.value)
    assert "Download failed" in message and "name resolution" in message and "train_X.bin" in message
    assert "stl10_binary.tar.gz" in message and error.value.__cause__ is None


# --------------------------------------------------------------------------------------------
# LSUN: <category>_{train,val}_lmdb written with lmdb


def lsun_image(index: int, width: int = 90, height: int = 60) -> np.ndarray:
    """Landscape image: red left margin, blue right margin, a flat colour in the central square."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    margin = (width - height) // 2
    image[:, :margin] = (255, 0, 0)
    image[:, width - margin:] = (0, 0, 255)
    image[:, margin: width - margin] = (20 * index, 100, 200 - 20 * index)
    return image


def encoded(array: np.ndarray, format: str) -> bytes:
    """JPEG (quality 100, full chroma) or lossless WebP bytes, as stored in LSUN's LMDB values."""
    buffer = io.BytesIO()
    options = {"lossless": True} if format == "WEBP" else {"quality": 100, "subsampling": 0}
    Image.fromarray(array).save(buffer, format=format, **options)
    return buffer.getvalue()


def write_lmdb(folder: Path, values: dict[bytes, bytes]) -> None:
    environment = lmdb.open(str(folder), map_size=2**24)
    with environment.begin(write=True) as transaction:
        for key, value in values.items():
            transaction.put(key, value)
    environment.close()


@pytest.fixture
def lsun_root(tmp_path: Path) -> Path:
    train = {f"{index:040x}".encode(): encoded(lsun_image(index), "WEBP" if index == 2 else "JPEG")
             for index in range(5)}
    write_lmdb(tmp_path / "church_outdoor_train_lmdb", train)
    write_lmdb(tmp_path / "church_outdoor_val_lmdb", {b"v1": encoded(lsun_image(7), "JPEG")})
    return tmp_path


def test_lsun_reads_the_lmdb_shorter_side_center_crop(lsun_root) -> None:
    data = LSUN(data_dir=str(lsun_root), image_size=32, batch_size=2, decode_workers=0)
    data.setup("fit")
    images, labels = data.splits["train"]
    assert images.shape == (5, 3, 32, 32) and labels.tolist() == [-1] * 5
    for index, image in enumerate(images):  # key order = insertion order here; margins cropped away
        colour = torch.tensor((20 * index, 100, 200 - 20 * index), dtype=torch.float32).view(3, 1, 1)
        assert (image.float() - colour).abs().max() <= 16, index
    assert data.splits["val"][0].shape == (1, 3, 32, 32)
    x, _ = next(iter(data.test_dataloader()))  # test = val
    assert x.shape == (1, 3, 32, 32) and x.min() >= -1 and x.max() <= 1
    first_two = LSUN(data_dir=str(lsun_root), image_size=32, max_images=2, decode_workers=0)
    first_two.setup("fit")
    assert torch.equal(first_two.splits["train"][0], images[:2])


def test_lsun_missing_lmdb_names_the_files_and_the_script(tmp_path) -> None:
    with pytest.raises(DataNotFoundError) as error:
        LSUN(data_dir=str(tmp_path), category="bedroom").setup("fit")
    message = str(error.value)
    assert "bedroom_train_lmdb/data.mdb" in message and "bedroom_val_lmdb/data.mdb" in message
    assert str(tmp_path) in message and "fyu/lsun" in message and "-c bedroom" in message


def test_lsun_corrupt_image_names_its_key(tmp_path) -> None:
    write_lmdb(tmp_path / "tower_train_lmdb", {b"good": encoded(lsun_image(0), "JPEG"),
                                               b"broken": encoded(lsun_image(1), "JPEG")[:200]})
    write_lmdb(tmp_path / "tower_val_lmdb", {b"v": encoded(lsun_image(0), "JPEG")})
    with pytest.raises(DataCorruptError) as error:
        LSUN(data_dir=str(tmp_path), category="tower", decode_workers=0).setup("fit")
    assert "key broken" in str(error.value) and str(tmp_path / "tower_train_lmdb" / "data.mdb") in str(error.value)


# --------------------------------------------------------------------------------------------
# ImageFolder: any folder of images


@pytest.fixture
def folder_root(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for sub in ("cats", "dogs/puppies", ".hidden"):
        (root / sub).mkdir(parents=True)
    square = np.full((40, 40, 3), 90, dtype=np.uint8)
    write_jpeg(root / "cats" / "a.jpg", square)
    write_jpeg(root / "cats" / "b.JPEG", square)
    Image.fromarray(np.full((30, 50, 3), 160, dtype=np.uint8)).save(root / "dogs" / "c.png")
    Image.fromarray(np.full((50, 30), 10, dtype=np.uint8)).save(root / "dogs" / "puppies" / "d.png")  # grayscale
    Image.fromarray(square).save(root / "top.bmp")
    Image.fromarray(square).save(root / ".hidden" / "skipped.png")
    (root / "notes.txt").write_text("not an image")
    return root


def test_image_folder_reads_recursively_with_subfolder_labels(folder_root) -> None:
    data = ImageFolder(data_dir=str(folder_root), image_size=16, val_fraction=0.0, batch_size=2, decode_workers=0)
    data.setup("fit")
    images, labels = data.splits["train"]
    assert images.shape == (5, 3, 16, 16) and images.dtype == torch.uint8
    assert data.class_names == ["cats", "dogs"]
    # sorted relative paths: cats/a.jpg, cats/b.JPEG, dogs/c.png, dogs/puppies/d.png, top.bmp
    assert labels.tolist() == [0, 0, 1, 1, -1]
    flat = [90, 90, 160, 10, 90]
    for image, value in zip(images, flat):
        assert (image.float() - value).abs().max() <= 3
    assert data.splits["val"][0] is images  # val_fraction 0: val = train, no second copy
    x, _ = next(iter(data.train_dataloader()))
    assert x.shape == (2, 3, 16, 16) and x.min() >= -1 and x.max() <= 1
    gray = ImageFolder(data_dir=str(folder_root), image_size=8, channels=1, val_fraction=0.0, decode_workers=0,
                       cache=False)
    gray.setup("validate")
    assert gray.splits["val"][0].shape == (5, 1, 8, 8)


def test_image_folder_val_split_is_fixed_and_seed_independent(folder_root) -> None:
    def split_of(seed: int) -> tuple[list[str], list[str]]:
        data = ImageFolder(data_dir=str(folder_root), val_fraction=0.4, seed=seed)
        return data.split_files("train"), data.split_files("val")

    train, val = split_of(0)
    assert len(val) == 2 and len(train) == 3 and not set(train) & set(val)
    assert split_of(5) == (train, val)
    data = ImageFolder(data_dir=str(folder_root), image_size=8, val_fraction=0.4, decode_workers=0)
    data.setup("fit")
    assert len(data.splits["train"][0]) == 3 and len(data.splits["val"][0]) == 2


def test_image_folder_crop_geometry(tmp_path) -> None:
    image = np.zeros((60, 100, 3), dtype=np.uint8)
    image[10:50, 30:70] = 255  # a 40 x 40 white square in the centre
    (tmp_path / "in").mkdir()
    Image.fromarray(image).save(tmp_path / "in" / "x.png")
    square = ImageFolder(data_dir=str(tmp_path / "in"), image_size=30, val_fraction=0, decode_workers=0, cache=False)
    square.setup("fit")
    full = square.splits["train"][0][0, 0].float()  # the central 60 x 60 square (columns 20..79), to 30 x 30
    assert full[15, 15] == 255 and full[15, 0] == 0 and full[0, 15] == 0  # white centre, black margins
    cropped = ImageFolder(data_dir=str(tmp_path / "in"), image_size=20, crop=40, val_fraction=0, decode_workers=0,
                          cache=False)
    cropped.setup("fit")
    assert torch.all(cropped.splits["train"][0] == 255)  # exactly the white square
    too_big = ImageFolder(data_dir=str(tmp_path / "in"), crop=80, val_fraction=0, decode_workers=0, cache=False)
    with pytest.raises(DataCorruptError, match=r"x\.png cannot be cropped: the image is 100 x 60.*--data\.crop"):
        too_big.setup("fit")


def test_image_folder_cache_follows_the_files(folder_root) -> None:
    ImageFolder(data_dir=str(folder_root), image_size=8, val_fraction=0, decode_workers=0).setup("fit")
    caches = list((folder_root / ".zoo_cache").glob("*.pt"))
    assert len(caches) == 1
    write_jpeg(folder_root / "cats" / "new.jpg", np.zeros((20, 20, 3), dtype=np.uint8))
    data = ImageFolder(data_dir=str(folder_root), image_size=8, val_fraction=0, decode_workers=0)
    data.setup("fit")
    assert len(data.splits["train"][0]) == 6
    assert list((folder_root / ".zoo_cache").glob("*.pt")) != caches  # rebuilt, the stale one removed
    assert len(list((folder_root / ".zoo_cache").glob("*.pt"))) == 1


def test_empty_or_missing_image_folder_is_a_clear_error(tmp_path, capsys) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "readme.md").write_text("no images here")
    with pytest.raises(DataNotFoundError, match=r"found no images in .*empty or its subfolders"):
        ImageFolder(data_dir=str(tmp_path / "empty")).setup("fit")
    line = cli_error(fit_args(tmp_path, "ImageFolder", "--data.data_dir", str(tmp_path / "nowhere")), capsys)
    assert "does not exist" in line and str(tmp_path / "nowhere") in line


def test_corrupt_jpeg_is_one_cli_line_naming_the_file(folder_root, tmp_path, capsys) -> None:
    broken = folder_root / "cats" / "b.JPEG"
    broken.write_bytes(broken.read_bytes()[:150])
    line = cli_error(fit_args(tmp_path, "ImageFolder", "--data.data_dir", str(folder_root),
                              "--data.decode_workers", "0"), capsys)
    assert str(broken) in line and "cannot be read" in line


# --------------------------------------------------------------------------------------------
# Real data (slow)

needs_real_mnist = pytest.mark.skipif("ZOO_DATA_DIR" not in os.environ,
                                      reason="set ZOO_DATA_DIR to a folder holding MNIST/raw (e.g. ../shared/data)")


@pytest.mark.slow
@needs_real_mnist
def test_real_stacked_mnist_has_all_1000_modes() -> None:
    data = StackedMNIST(data_dir=os.environ["ZOO_DATA_DIR"], download=False)
    data.setup("fit")
    images, modes = data.splits["train"]
    assert images.shape == (25_600, 3, 28, 28) and data.splits["val"][0].shape == (10_000, 3, 28, 28)
    assert torch.bincount(modes, minlength=1000).min() > 0
    x, _ = next(iter(data.train_dataloader()))
    assert x.shape == (64, 3, 28, 28) and x.min() == -1 and x.max() == 1


@pytest.mark.slow
@needs_real_mnist
def test_real_mnist_resident_batches_match_the_stored_digits() -> None:
    data = MNIST(data_dir=os.environ["ZOO_DATA_DIR"], download=False, device="cpu")
    data.setup("fit")
    loader = data.val_dataloader()
    x, y = next(iter(loader))
    torch.testing.assert_close(x, as_signed(data.splits["val"][0][:100]))
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the first MNIST test labels
