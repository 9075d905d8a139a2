"""Data loading throughput: resident TensorBatches vs torchvision's MNIST through a DataLoader with workers.

    python benchmarks/data_loading.py                      # 60,000 MNIST-sized images, 28 and 64 px
    python benchmarks/data_loading.py --workers 0 2 4 8 --epochs 5 --device cuda

No download: the images are random uint8 digits of MNIST's size (60,000 x 28 x 28), written as the
genuine IDX files into a temporary folder so that the DataLoader side is exactly
``torchvision.datasets.MNIST`` with the usual per-sample transforms (PIL image -> [Resize(64)] ->
ToTensor -> Normalize(0.5, 0.5)), collated and copied to the device batch by batch (pinned memory on
a GPU). The resident side is the zoo's path: the uint8 tensor moved to the device once, each batch
one index operation plus a scale (and an antialiased bilinear resize for 64 px) on the device.

Both sides run a training-style epoch (shuffled, last incomplete batch dropped) and each batch is
reduced to a scalar on the device so the work cannot be skipped; on a GPU the clock stops after a
synchronisation. The first epoch (worker start-up, CUDA warm-up) is reported separately from the
steady-state median of the following ones.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
import torchvision
from torch.utils.data import DataLoader
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from datamodules.base import ScaleAndResize, TensorBatches  # noqa: E402


def write_idx(folder: Path, images: torch.Tensor, labels: torch.Tensor) -> None:
    """The four MNIST IDX files (train = test = the given images) where torchvision looks for them."""
    raw = folder / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    count, rows, cols = images.shape
    image_bytes = struct.pack(">IIII", 2051, count, rows, cols) + images.numpy().tobytes()
    label_bytes = struct.pack(">II", 2049, count) + labels.to(torch.uint8).numpy().tobytes()
    for prefix in ("train", "t10k"):
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(image_bytes)
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(label_bytes)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_epochs(make_epoch: Callable[[], Iterable], consume: Callable, epochs: int, device: torch.device):
    """Seconds of each epoch, and the number of images seen in the last one."""
    times, seen = [], 0
    for _ in range(epochs):
        synchronize(device)
        start = time.perf_counter()
        seen = 0
        total = torch.zeros((), device=device)
        for batch in make_epoch():
            x = consume(batch)
            total += x.float().mean()
            seen += x.shape[0]
        synchronize(device)
        total.item()
        times.append(time.perf_counter() - start)
    return times, seen


def resident(images: torch.Tensor, labels: torch.Tensor, size: int, batch_size: int, epochs: int,
             device: torch.device):
    start = time.perf_counter()
    tensors = (images.unsqueeze(1).to(device), labels.to(device))  # once
    synchronize(device)
    upload = time.perf_counter() - start
    loader = TensorBatches(tensors, batch_size=batch_size, shuffle=True, drop_last=True, seed=0,
                           transform=ScaleAndResize(None if size == images.shape[-1] else size))
    times, seen = time_epochs(lambda: loader, lambda batch: batch[0], epochs, device)
    return times, seen, upload


def dataloader(root: Path, size: int, batch_size: int, workers: int, epochs: int, device: torch.device):
    steps = [transforms.Resize(size)] if size != 28 else []
    transform = transforms.Compose([*steps, transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    dataset = torchvision.datasets.MNIST(root=str(root), train=True, transform=transform, download=False)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True, num_workers=workers,
                        pin_memory=device.type == "cuda", persistent_workers=workers > 0)

    def to_device(batch):
        return batch[0].to(device, non_blocking=True)

    return time_epochs(lambda: loader, to_device, epochs, device)


def machine(device: torch.device) -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as file:
            cpu = next(line.split(":", 1)[1].strip() for line in file if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    text = f"{cpu}, {cores} usable cores, torch {torch.__version__}, {torch.get_num_threads()} intra-op threads"
    if device.type == "cuda":
        text += f", GPU {torch.cuda.get_device_name(device)}"
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-images", type=int, default=60_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per configuration (first = warm-up)")
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4], help="DataLoader worker counts")
    parser.add_argument("--image-size", type=int, nargs="+", default=[28, 64], choices=[28, 64])
    parser.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, cuda:1, ...")
    args = parser.parse_args(argv)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)

    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (args.num_images, 28, 28), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (args.num_images,), generator=generator)
    print(f"# Data loading, {args.num_images:,} MNIST-sized uint8 images, batch {args.batch_size}, on {device}")
    print(f"# {machine(device)}\n")
    print("| pipeline | px | first epoch s | steady epoch s | images/s (steady) | steady time vs resident |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_idx(root, images, labels)
        for size in args.image_size:
            times, seen, upload = resident(images, labels, size, args.batch_size, args.epochs, device)
            steady = statistics.median(times[1:]) if len(times) > 1 else times[0]
            print(f"| resident TensorBatches (one {upload * 1e3:.0f} ms upload) | {size} | {times[0]:.3f} | "
                  f"{steady:.3f} | {seen / steady:,.0f} | 1x |", flush=True)
            for workers in args.workers:
                loader_times, seen = dataloader(root, size, args.batch_size, workers, args.epochs, device)
                loader_steady = statistics.median(loader_times[1:]) if len(loader_times) > 1 else loader_times[0]
                print(f"| torchvision MNIST + DataLoader, {workers} workers | {size} | {loader_times[0]:.3f} | "
                      f"{loader_steady:.3f} | {seen / loader_steady:,.0f} | "
                      f"{loader_steady / steady:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
