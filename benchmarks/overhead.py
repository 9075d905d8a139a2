"""Framework overhead: the zoo's DCGAN training iteration against a hand-written PyTorch loop.

    python benchmarks/overhead.py                              # toy GAN + DCGAN-64, CPU, fp32
    python benchmarks/overhead.py --cases toy --steps 3000 --repeats 5
    python benchmarks/overhead.py --device cuda --precision bf16 --cases toy dcgan32 dcgan64

Both sides train the *same* networks (``zoo.DCGAN``'s generator and discriminator, copied from one
seeded model) with the same losses (:mod:`zoo.losses`), Adam settings, batch size and update plan
(D step on real vs detached fakes, then G step through the updated D with D's parameters frozen),
on the same in-memory data. They differ only in who runs the loop:

- ``raw``: a ``for`` loop over ``torch.randperm`` slices of the data tensor, no Lightning at all;
- ``zoo``: ``lightning.Trainer.fit`` of ``zoo.DCGAN`` on the zoo's ``TensorBatches``, with the
  trainer settings a user gets from ``cli.py fit``: the CLI's default callbacks (sample panels,
  checkpoints, interrupt handler, summary), a CSV logger at ``log_every_n_steps=50`` and the
  progress bar (``--zoo-trainer bare`` drops all of them, to see Lightning's own share).

Timing: the clock runs from the start of iteration ``warmup`` to the end of iteration
``warmup + steps`` (after a device synchronisation on GPUs), so start-up, the first-iteration
allocations and epoch-end work (image panels) are excluded: this is the steady-state cost of one
training iteration. Raw and zoo runs alternate ``repeats`` times in one process and the median of
each is reported, so a busy machine slows both alike. The ratio zoo / raw is the overhead.
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import lightning as L  # noqa: E402
from lightning.pytorch.loggers import CSVLogger  # noqa: E402

from datamodules.base import TensorBatches  # noqa: E402
from zoo import losses  # noqa: E402
from zoo.baselines import DCGAN  # noqa: E402

# case -> (data shape, batch size, hidden width of the toy MLPs). Batch 512 for the toy GAN (the issue's
# reference measurement); 64 for images (ivgan.txt Table 5, DCGAN's batch).
CASES = {
    "toy": ((2,), 512),
    "dcgan32": ((3, 32, 32), 64),
    "dcgan64": ((3, 64, 64), 64),
}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_model(shape: tuple[int, ...], seed: int) -> DCGAN:
    torch.manual_seed(seed)
    return DCGAN(image_shape=shape, lr_d=2e-4, lr_g=2e-4)


def make_data(shape: tuple[int, ...], num: int, device: torch.device) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return (torch.rand((num, *shape), generator=generator) * 2 - 1).to(device)


def raw_loop(model: DCGAN, data: torch.Tensor, batch_size: int, warmup: int, steps: int,
             device: torch.device, bf16: bool, channels_last: bool) -> float:
    """Seconds for ``steps`` iterations of a hand-written DCGAN loop after ``warmup`` iterations."""
    generator = copy.deepcopy(model.generator).to(device)
    discriminator = copy.deepcopy(model.discriminator).to(device)
    if channels_last:
        generator, discriminator = (net.to(memory_format=torch.channels_last) for net in (generator, discriminator))
    betas = (model.hparams.beta1, model.hparams.beta2)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=model.hparams.lr_d, betas=betas)
    opt_g = torch.optim.Adam(generator.parameters(), lr=model.hparams.lr_g, betas=betas)
    d_params = list(discriminator.parameters())
    order = torch.randperm(data.size(0), device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
    start = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            synchronize(device)
            start = time.perf_counter()
        x = data[order[i * batch_size:(i + 1) * batch_size]]
        z = torch.randn(batch_size, model.latent_dim, device=device)
        with autocast:
            x_fake = generator(z)
            loss_d = losses.gan_discriminator_loss(discriminator(x), discriminator(x_fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        for p in d_params:
            p.requires_grad_(False)
        with autocast:
            loss_g = losses.gan_generator_loss(discriminator(x_fake))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        for p in d_params:
            p.requires_grad_(True)
    synchronize(device)
    return time.perf_counter() - start


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


def zoo_loop(model: DCGAN, data: torch.Tensor, batch_size: int, warmup: int, steps: int, device: torch.device,
             bf16: bool, trainer_kind: str, root: Path) -> float:
    """Seconds for ``steps`` iterations of ``Trainer.fit(zoo.DCGAN)`` after ``warmup`` iterations."""
    import cli  # the CLI's default callbacks

    model = copy.deepcopy(model)
    clock = IterationClock(warmup, steps, device)
    batches = TensorBatches([data], batch_size, shuffle=True, drop_last=True)
    common = dict(accelerator=device.type, devices=1, max_steps=warmup + steps, max_epochs=1,
                  precision="bf16-mixed" if bf16 else "32-true", num_sanity_val_steps=0,
                  limit_val_batches=0, default_root_dir=str(root), enable_model_summary=False)
    if trainer_kind == "bare":
        trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                            callbacks=[clock], **common)
    else:
        trainer = L.Trainer(logger=CSVLogger(root), log_every_n_steps=50,
                            callbacks=[clock, *cli.default_callbacks()], **common)
        cli.throttle_default_progress_bar(trainer.callbacks)  # as ZooCLI.before_fit does
    trainer.fit(model, train_dataloaders=batches)
    return clock.seconds


def run_case(name: str, args: argparse.Namespace, device: torch.device) -> dict[str, float]:
    shape, batch_size = CASES[name]
    steps = args.steps if args.steps else (2000 if name == "toy" else 20)
    warmup = max(10, steps // 10)
    data = make_data(shape, batch_size * (warmup + steps), device)
    model = make_model(shape, seed=0)
    channels_last = len(shape) == 3 and args.channels_last
    bf16 = args.precision == "bf16"
    raw, zoo = [], []
    with tempfile.TemporaryDirectory() as root:
        for _ in range(args.repeats):
            raw.append(raw_loop(model, data, batch_size, warmup, steps, device, bf16, channels_last))
            zoo.append(zoo_loop(model, data, batch_size, warmup, steps, device, bf16, args.zoo_trainer, Path(root)))
    raw_s, zoo_s = statistics.median(raw), statistics.median(zoo)
    return {"raw_it_s": steps / raw_s, "zoo_it_s": steps / zoo_s, "ratio": zoo_s / raw_s,
            "images_s": steps * batch_size / zoo_s, "batch": batch_size, "steps": steps}


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} torch threads"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=["toy", "dcgan64"])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", choices=("32", "bf16"), default="32")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                        help="channels_last memory format for the image nets on both sides")
    parser.add_argument("--steps", type=int, default=0, help="timed iterations (default 2000 toy, 20 images)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--zoo-trainer", choices=("cli", "bare"), default="cli")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    torch.set_float32_matmul_precision("high")
    print(f"device: {describe_device(device)}; torch {torch.__version__}, lightning {L.__version__}; "
          f"precision {args.precision}; zoo trainer: {args.zoo_trainer}")
    print(f"| case | batch | timed iterations | raw it/s | zoo it/s | zoo images/s | zoo / raw time |")
    print("|---|---|---|---|---|---|---|")
    for name in args.cases:
        r = run_case(name, args, device)
        print(f"| {name} | {r['batch']} | {r['steps']} | {r['raw_it_s']:.1f} | {r['zoo_it_s']:.1f} | "
              f"{r['images_s']:.0f} | {r['ratio']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
