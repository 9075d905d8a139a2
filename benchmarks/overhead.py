"""Framework overhead: the zoo's DCGAN training iteration against a hand-written PyTorch loop.

    python benchmarks/overhead.py                              # toy GAN + DCGAN-64, this device, fp32
    python benchmarks/overhead.py --cases toy --steps 4000
    python benchmarks/overhead.py --device cuda --precision bf16 --cases toy dcgan32 dcgan64

Both sides train the *same* networks (``zoo.DCGAN``'s generator and discriminator, copied from one
seeded model) with the same losses (:mod:`zoo.losses`), Adam settings, batch size, precision,
memory format and update plan (D step on real vs detached fakes, then G step through the updated D
with D's parameters frozen), on the same in-memory data. They differ only in who runs the loop:

- ``raw``: a hand-written step, ``torch.randperm`` slices of the data tensor, no Lightning at all;
- ``zoo``: ``lightning.Trainer.fit`` of ``zoo.DCGAN`` on the zoo's ``TensorBatches``, with what a
  user gets from ``cli.py fit``: the CLI's default callbacks (sample panels, checkpoints, interrupt
  handler, summary), a CSV logger at ``log_every_n_steps=50`` and the progress bar
  (``--zoo-trainer bare`` drops all of them).
- ``lightning floor``: a bare Trainer fitting an empty LightningModule whose ``training_step`` is the
  raw step itself: the cost of Lightning's loop alone, which no model code can remove.

Interleaved timing: the raw loop runs *inside* the zoo's fit, in blocks that alternate with the zoo's
iterations: before every ``--block``-th zoo iteration, ``--block`` raw steps (on the raw loop's own
copy of the networks), timed as one block; the zoo block is timed from the end of that raw block to
the start of the next, so it includes all of Lightning's work between batches (hooks, logging,
fetching the next batch); the last zoo block ends with the last iteration, before the end-of-epoch
work (panels, checkpoint), which is evaluation, not iteration cost. On a shared or throttling
machine neighbouring blocks see the same machine, which separate runs cannot guarantee. Reported: the median over block pairs of zoo block / raw block
(robust to a neighbour's burst), and the ratio of the total times (every stall counts). Blocks of one
iteration (``--block 1``, the image cases' default) put the two loops' networks through the CPU's
caches in turn at every step, which is not how either runs in training; the toy GAN, whose step is a
few milliseconds, uses blocks of 25 iterations.
On a GPU every clock reading follows a synchronisation. The first ``--warmup`` iterations (one raw
step each) are not counted.
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

# case -> (data shape, batch size, default block). Batch 512 for the toy GAN (the reference
# measurement); 64 for images (ivgan.txt Table 5, DCGAN's batch).
CASES = {
    "toy": ((2,), 512, 25),
    "dcgan32": ((3, 32, 32), 64, 1),
    "dcgan64": ((3, 64, 64), 64, 1),
}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_model(shape: tuple[int, ...], seed: int, channels_last: bool) -> DCGAN:
    torch.manual_seed(seed)
    model = DCGAN(image_shape=shape, lr_d=2e-4, lr_g=2e-4)
    if channels_last and len(shape) == 3:
        model.use_channels_last()
    return model


class RawLoop:
    """A hand-written DCGAN iteration on copies of ``model``'s networks, the reference for the overhead."""

    def __init__(self, model: DCGAN, data: torch.Tensor, batch_size: int, device: torch.device, bf16: bool) -> None:
        self.generator = copy.deepcopy(model.generator).to(device)
        self.discriminator = copy.deepcopy(model.discriminator).to(device)
        betas = (model.hparams.beta1, model.hparams.beta2)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=model.hparams.lr_d, betas=betas)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=model.hparams.lr_g, betas=betas)
        self.d_params = list(self.discriminator.parameters())
        self.data, self.batch_size, self.latent_dim, self.device = data, batch_size, model.latent_dim, device
        self.order = torch.randperm(data.size(0), device=device)
        self.bf16 = bf16

    def step(self, i: int) -> None:
        b = self.batch_size
        start = (i * b) % (self.data.size(0) - b + 1)
        x = self.data[self.order[start:start + b]]
        z = torch.randn(b, self.latent_dim, device=self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            x_fake = self.generator(z)
            loss_d = losses.gan_discriminator_loss(self.discriminator(x), self.discriminator(x_fake.detach()))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        for p in self.d_params:
            p.requires_grad_(False)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            loss_g = losses.gan_generator_loss(self.discriminator(x_fake))
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        for p in self.d_params:
            p.requires_grad_(True)


class InterleavedClock(L.Callback):
    """Alternating timed blocks of ``block`` raw steps and ``block`` zoo iterations (see module doc)."""

    def __init__(self, raw: RawLoop, warmup: int, steps: int, device: torch.device, block: int = 1) -> None:
        self.raw, self.warmup, self.device, self.block = raw, warmup, device, block
        self.last_batch = warmup + steps - 1
        self.raw_blocks: list[float] = []  # seconds per block, raw_blocks[i] ran right before zoo_blocks[i]
        self.zoo_blocks: list[float] = []
        self._zoo_started: float | None = None

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if batch_idx < self.warmup:
            self.raw.step(batch_idx)
            return
        if (batch_idx - self.warmup) % self.block:
            return
        synchronize(self.device)
        now = time.perf_counter()
        if self._zoo_started is not None:
            self.zoo_blocks.append(now - self._zoo_started)
        for i in range(self.block):
            self.raw.step(batch_idx + i)
        synchronize(self.device)
        after = time.perf_counter()
        self.raw_blocks.append(after - now)
        self._zoo_started = after

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        # The last block ends with the last iteration: the end-of-epoch work (image panels, evaluation,
        # checkpoint) is not part of a training iteration, and would land in one block only.
        if batch_idx == self.last_batch:
            synchronize(self.device)
            self.zoo_blocks.append(time.perf_counter() - self._zoo_started)

    def summary(self) -> dict[str, float]:
        raw, zoo = sum(self.raw_blocks), sum(self.zoo_blocks)
        iterations = self.block * len(self.zoo_blocks)
        return {"median": statistics.median(z / r for r, z in zip(self.raw_blocks, self.zoo_blocks)),
                "total": zoo / raw, "raw_it_s": iterations / raw, "zoo_it_s": iterations / zoo,
                "iterations": iterations}


class RawStepModule(L.LightningModule):
    """The raw step as a LightningModule's whole training_step: Lightning's loop around nothing else."""

    def __init__(self, raw: RawLoop) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.raw = raw
        self.generator, self.discriminator = raw.generator, raw.discriminator

    def training_step(self, batch, batch_idx: int) -> None:
        self.raw.step(batch_idx)

    def configure_optimizers(self):
        return None


def measure_floor(data: torch.Tensor, model: DCGAN, batch_size: int, steps: int, warmup: int, block: int,
                  device: torch.device, bf16: bool) -> dict[str, float]:
    """Raw step inside an empty Lightning loop against the raw step alone (``InterleavedClock.summary``)."""
    clock = InterleavedClock(RawLoop(model, data, batch_size, device, bf16), warmup, steps, device, block)
    # No optimizer steps through Lightning, so global_step stays 0: one epoch of warmup + steps batches.
    trainer = L.Trainer(accelerator=device.type, devices=1, max_epochs=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                        precision="bf16-mixed" if bf16 else "32-true", callbacks=[clock])
    module = RawStepModule(RawLoop(model, data, batch_size, device, bf16))
    trainer.fit(module, train_dataloaders=TensorBatches([data], batch_size, shuffle=True, drop_last=True))
    return clock.summary()


def measure(name: str, steps: int, warmup: int, block: int, device: torch.device, bf16: bool,
            channels_last: bool, trainer_kind: str, root: Path, batch_size: int | None = None) -> dict[str, float]:
    """One row of the table: the zoo, the raw loop and the Lightning floor on case ``name``
    (``batch_size``: the case's own, from :data:`CASES`, unless given)."""
    import cli  # the CLI's default callbacks and progress bar

    shape, case_batch_size, _ = CASES[name]
    batch_size = batch_size or case_batch_size
    generator = torch.Generator().manual_seed(1)
    data = (torch.rand((batch_size * (warmup + steps), *shape), generator=generator) * 2 - 1).to(device)
    model = make_model(shape, seed=0, channels_last=channels_last)
    clock = InterleavedClock(RawLoop(model, data, batch_size, device, bf16), warmup, steps, device, block)
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
    trainer.fit(model, train_dataloaders=TensorBatches([data], batch_size, shuffle=True, drop_last=True))
    zoo = clock.summary()
    assert zoo["iterations"] == steps, (zoo["iterations"], steps)
    floor = measure_floor(data, make_model(shape, seed=0, channels_last=channels_last), batch_size, steps, warmup,
                          block, device, bf16)
    return {**zoo, "floor_median": floor["median"], "floor_total": floor["total"], "batch": batch_size}


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
                        help="channels_last conv weights on both sides (image cases)")
    parser.add_argument("--steps", type=int, default=0, help="timed iterations (default 2000 toy, 30 images)")
    parser.add_argument("--warmup", type=int, default=0, help="uncounted first iterations (default steps / 10)")
    parser.add_argument("--block", type=int, default=0,
                        help="iterations per alternating block (default 25 toy, 1 images; see the module doc)")
    parser.add_argument("--zoo-trainer", choices=("cli", "bare"), default="cli")
    parser.add_argument("--batch-size", type=int, default=0, help="samples per batch (default: the case's, above)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    torch.set_float32_matmul_precision("high")
    print(f"device: {describe_device(device)}; torch {torch.__version__}, lightning {L.__version__}; "
          f"precision {args.precision}; channels-last {args.channels_last}; zoo trainer: {args.zoo_trainer}")
    print("| case | batch | timed iterations | block | raw it/s | zoo it/s | zoo images/s "
          "| zoo / raw (median of blocks) | zoo / raw (total) | floor / raw (median) | floor / raw (total) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as root:
        for name in args.cases:
            block = args.block or CASES[name][2]
            steps = args.steps or (2000 if name == "toy" else 30)
            if steps % block:
                parser.error(f"--steps ({steps}) must be a multiple of --block ({block})")
            warmup = args.warmup or max(5, steps // 10)
            r = measure(name, steps, warmup, block, device, args.precision == "bf16", args.channels_last,
                        args.zoo_trainer, Path(root), args.batch_size or None)
            print(f"| {name} | {r['batch']} | {steps} | {block} | {r['raw_it_s']:.1f} | {r['zoo_it_s']:.1f} | "
                  f"{r['zoo_it_s'] * r['batch']:.0f} | {r['median']:.3f} | {r['total']:.3f} | "
                  f"{r['floor_median']:.3f} | {r['floor_total']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
