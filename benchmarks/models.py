"""Training throughput of the zoo's models at the papers' settings: iterations/s and images/s.

    python benchmarks/models.py                                   # every image config, this device
    python benchmarks/models.py --configs configs/aim/cifar10.yaml configs/ivgan/cifar10.yaml --steps 50
    python benchmarks/models.py --precision 32 bf16 --channels-last auto

Each config is built exactly as ``cli.py fit --config X`` builds it (the paper's networks, latent
size, optimisers and batch size) and trained inside ``lightning.Trainer`` with the CLI's speed
settings (direct updates, interval logging, channels-last conv weights on GPUs), but on random
data of the config's shape held on the device: the numbers measure the model, not a disk or a
dataset download. The clock runs over ``--steps`` iterations after ``--warmup`` (see
``benchmarks/overhead.py``); on a GPU it stops after a synchronisation.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import lightning as L  # noqa: E402

import cli  # noqa: E402
from datamodules.base import TensorBatches  # noqa: E402
from overhead import describe_device, synchronize  # noqa: E402

IMAGE_CONFIGS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "configs").rglob("*.yaml")
                       if "grid25" not in p.name)


class IterationClock(L.Callback):
    """Wall time from the start of batch ``warmup`` to the end of batch ``warmup + steps - 1``."""

    def __init__(self, warmup: int, steps: int, device: torch.device) -> None:
        self.warmup, self.steps, self.device = warmup, steps, device
        self.start = self.seconds = 0.0

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if batch_idx == self.warmup:
            synchronize(self.device)
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if batch_idx == self.warmup + self.steps - 1:
            synchronize(self.device)
            self.seconds = time.perf_counter() - self.start


def build(config: str, data_dir: str):
    """Model and batch size of ``config``, as the CLI builds them (no data is read)."""
    the_cli = cli.main(["--config", str(ROOT / config), "--data.init_args.data_dir", data_dir], run=False)
    return the_cli.model, the_cli.datamodule.batch_size, tuple(the_cli.datamodule.image_shape)


def time_config(config: str, precision: str, channels_last: str, steps: int, warmup: int,
                device: torch.device, root: str, batch_size: int | None = None) -> dict[str, float]:
    """One row of the table (``batch_size``: the config's, unless given)."""
    model, config_batch_size, shape = build(config, root)
    batch_size = batch_size or config_batch_size
    cli.apply_speed_options(model, channels_last, None, device)
    data = (torch.rand((batch_size * (warmup + steps), *shape), device=device) * 2 - 1)
    batches = TensorBatches([data], batch_size, shuffle=True, drop_last=True)
    clock = IterationClock(warmup, steps, device)
    trainer = L.Trainer(accelerator=device.type, devices=1, max_steps=warmup + steps, max_epochs=1,
                        precision="bf16-mixed" if precision == "bf16" else "32-true", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        num_sanity_val_steps=0, limit_val_batches=0, callbacks=[clock], default_root_dir=root)
    start = time.perf_counter()
    trainer.fit(model, train_dataloaders=batches)
    total = time.perf_counter() - start
    return {"it_s": steps / clock.seconds, "images_s": steps * batch_size / clock.seconds, "batch": batch_size,
            "shape": "x".join(map(str, shape)), "model": type(model).__name__, "wall": total}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=IMAGE_CONFIGS)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", nargs="+", choices=("32", "bf16"), default=["32", "bf16"])
    parser.add_argument("--channels-last", choices=("auto", "true", "false"), default="auto")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=0, help="samples per batch (default: each config's)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    torch.set_float32_matmul_precision("high")
    print(f"device: {describe_device(device)}; torch {torch.__version__}, lightning {L.__version__}; "
          f"{args.steps} timed iterations after {args.warmup}; channels-last {args.channels_last}")
    print("| config | model | data | batch | precision | it/s | images/s |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as root:
        for config in args.configs:
            for precision in args.precision:
                r = time_config(config, precision, args.channels_last, args.steps, args.warmup, device, root,
                                args.batch_size or None)
                print(f"| {config} | {r['model']} | {r['shape']} | {r['batch']} | {precision} | {r['it_s']:.2f} | "
                      f"{r['images_s']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
