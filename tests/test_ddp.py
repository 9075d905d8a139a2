"""Data-parallel training (``--trainer.strategy ddp --trainer.devices N``) with real processes: two CPU
ranks talking over gloo, as two GPUs would over NCCL.

One worker process pair (this file run as a script, launched by Lightning's DDP launcher) trains every
model of the zoo for a few steps and records, per rank, the weights, the batches it saw and the noise it
drew; the tests then check that the weights are identical on both ranks (the gradients were averaged in
every update, including those that leave the other players without gradient), that the ranks saw
disjoint halves of the batches a single process with twice the batch size would see, and that they drew
different noise. The same worker checks that a non-finite loss on one rank only skips the update on
every rank, or stops every rank at once, and that a run resumed from its checkpoint continues exactly as
the uninterrupted one (every rank's noise stream included). ``cli.py fit`` under DDP is run end to end,
with the default callbacks, and resumed from its checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # run as the DDP worker script: make the zoo importable
    sys.path.insert(0, str(ROOT))

import zoo  # noqa: E402
from datamodules import Grid25, TensorBatches  # noqa: E402
from datamodules.base import BatchSizeError  # noqa: E402
from zoo.base import NonFiniteLossError  # noqa: E402

MODELS = sorted(name for name in zoo.__all__ if isinstance(getattr(zoo, name), type)
                and issubclass(getattr(zoo, name), zoo.GenerativeModule) and name != "GenerativeModule")
WORLD_SIZE, BATCH_SIZE, STEPS = 2, 16, 3
TIMEOUT_S = 300


def grid() -> Grid25:
    return Grid25(num_train=256, num_val=64, batch_size=BATCH_SIZE, seed=3)  # 8 steps of 2 x 16 per epoch


# ------------------------------------------------------------------------------------------ the worker
class RecordRank(L.Callback):
    """Save what this rank trained on and ended with to ``<out>/rank<r>.pt``."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.batches: list[torch.Tensor] = []
        self.initial: dict[str, torch.Tensor] = {}
        self.noise: torch.Tensor | None = None

    def on_train_start(self, trainer, pl_module) -> None:
        self.initial = {name: p.detach().clone() for name, p in pl_module.named_parameters()}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.batches.append(batch[0].clone())
        if self.noise is None:  # the rank's stream as the model's on_train_start left it
            with torch.random.fork_rng(devices=[]):
                self.noise = pl_module.sample_prior(4)

    def on_train_end(self, trainer, pl_module) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        torch.save({"initial": self.initial, "final": {n: p.detach().clone() for n, p in pl_module.named_parameters()},
                    "batches": self.batches, "noise": self.noise, "skipped_updates": pl_module.skipped_updates,
                    "world_size": trainer.world_size}, self.out / f"rank{trainer.global_rank}.pt")


class PoisonGeneratorLossOnRank(L.Callback):
    """From training step ``step`` on, make AIM's generator loss NaN on rank ``rank`` only. The generator
    update is the last of an iteration, so the other rank sees finite losses until its next step."""

    def __init__(self, rank: int, step: int) -> None:
        self.rank, self.step = rank, step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_rank == self.rank and trainer.global_step == self.step:
            original = pl_module.generator_loss
            pl_module.generator_loss = lambda logits: original(logits) * float("nan")


def ddp_trainer(*callbacks: L.Callback, **kwargs) -> L.Trainer:
    return L.Trainer(accelerator="cpu", devices=WORLD_SIZE, strategy="ddp", logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                     callbacks=list(callbacks), **kwargs)


def worker(out: Path) -> None:
    """Runs on every rank: each `fit` below is a DDP fit of both ranks."""
    for name in MODELS:
        L.seed_everything(0, verbose=False)
        model = getattr(zoo, name)(image_shape=(2,), hidden_dim=16)
        ddp_trainer(RecordRank(out / name), max_steps=STEPS).fit(model, datamodule=grid())

    L.seed_everything(0, verbose=False)
    model = zoo.AIM(image_shape=(2,), hidden_dim=16)
    model.non_finite_loss = "skip"
    ddp_trainer(RecordRank(out / "skip"), PoisonGeneratorLossOnRank(rank=1, step=1),
                max_steps=STEPS).fit(model, datamodule=grid())

    # Exact resume: two epochs straight, against one epoch, a checkpoint, and a second epoch in a new fit.
    L.seed_everything(0, verbose=False)
    ddp_trainer(RecordRank(out / "straight"), max_epochs=2).fit(zoo.AIM(image_shape=(2,), hidden_dim=16),
                                                               datamodule=grid())
    L.seed_everything(0, verbose=False)
    first = ddp_trainer(max_epochs=1)
    first.fit(zoo.AIM(image_shape=(2,), hidden_dim=16), datamodule=grid())
    first.save_checkpoint(out / "epoch1.ckpt")  # every rank takes part; rank zero writes
    L.seed_everything(123, verbose=False)  # another init and RNG: all of it must come from the file
    ddp_trainer(RecordRank(out / "resumed"), max_epochs=2).fit(zoo.AIM(image_shape=(2,), hidden_dim=16),
                                                              datamodule=grid(), ckpt_path=out / "epoch1.ckpt")

    # A checkpoint of one process, 6 of its 16 batches into the first epoch, resumed on two processes.
    L.seed_everything(0, verbose=False)
    ddp_trainer(RecordRank(out / "widened"), max_epochs=1).fit(zoo.AIM(image_shape=(2,), hidden_dim=16),
                                                              datamodule=grid(), ckpt_path=out / "single.ckpt")

    L.seed_everything(0, verbose=False)  # last: this fit ends in an error on both ranks
    model = zoo.AIM(image_shape=(2,), hidden_dim=16)
    trainer = ddp_trainer(PoisonGeneratorLossOnRank(rank=1, step=1), max_steps=STEPS, log_every_n_steps=1)
    try:
        trainer.fit(model, datamodule=grid())
        message = "no error"
    except NonFiniteLossError as error:
        message = str(error)
    (out / "stop").mkdir(parents=True, exist_ok=True)
    (out / "stop" / f"rank{trainer.global_rank}.txt").write_text(message)


def subprocess_env() -> dict[str, str]:
    """One thread per rank, and the repository first on the path (after any packages CI puts in front)."""
    path = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(ROOT)]))
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path}


def run_to_completion(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run ``args`` in its own process group, killed whole (both ranks) if it runs past TIMEOUT_S."""
    env = subprocess_env()
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"DDP run still going after {TIMEOUT_S} s (a rank waiting in a collective?):\n{output[-3000:]}")
    return subprocess.CompletedProcess(args, process.returncode, output, None)


SINGLE_PROCESS_STEPS = 6  # of the 16 batches of 16 that one process takes per epoch of grid()


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ddp")
    L.seed_everything(0, verbose=False)  # the single-process run the worker resumes on two processes
    mid_epoch = ModelCheckpoint(dirpath=out, filename="single", every_n_train_steps=SINGLE_PROCESS_STEPS)
    single = L.Trainer(accelerator="cpu", devices=1, logger=False, callbacks=[mid_epoch], enable_progress_bar=False,
                       enable_model_summary=False, num_sanity_val_steps=0, max_steps=SINGLE_PROCESS_STEPS + 1)
    single.fit(zoo.AIM(image_shape=(2,), hidden_dim=16), datamodule=grid())
    assert torch.load(out / "single.ckpt", weights_only=False)["global_step"] == SINGLE_PROCESS_STEPS
    result = run_to_completion([sys.executable, str(Path(__file__).resolve()), str(out)], cwd=ROOT)
    assert result.returncode == 0, result.stdout[-5000:]
    return out


def load_ranks(directory: Path) -> list[dict]:
    return [torch.load(directory / f"rank{rank}.pt", weights_only=False) for rank in range(WORLD_SIZE)]


# ------------------------------------------------------------------------------------------ the tests
@pytest.mark.parametrize("name", MODELS)
def test_every_model_trains_under_ddp_with_identical_weights_on_every_rank(ddp_runs, name):
    rank0, rank1 = load_ranks(ddp_runs / name)
    assert rank0["world_size"] == rank1["world_size"] == WORLD_SIZE
    for weights in ("initial", "final"):
        differ = [p for p in rank0[weights] if not torch.equal(rank0[weights][p], rank1[weights][p])]
        assert not differ, f"{weights} parameters differ across ranks: {differ[:4]}"
    networks = {p.split(".")[0] for p in rank0["final"]}
    updated = {p.split(".")[0] for p in rank0["final"] if not torch.equal(rank0["final"][p], rank0["initial"][p])}
    assert updated == networks, f"never updated: {sorted(networks - updated)}"  # (a WGAN critic's last bias may not)
    assert not torch.equal(rank0["noise"], rank1["noise"]), "both ranks drew the same noise"


def test_the_ranks_share_each_step_of_a_single_process_run_with_the_global_batch(ddp_runs):
    rank0, rank1 = load_ranks(ddp_runs / "AIM")
    data = grid()
    data.setup("fit")
    single = TensorBatches(data.splits["train"], batch_size=WORLD_SIZE * BATCH_SIZE, shuffle=True, drop_last=True,
                           seed=data.seed)
    for step, (global_batch, _) in zip(range(STEPS), single):
        assert rank0["batches"][step].shape == (BATCH_SIZE, 2)
        assert torch.equal(torch.cat([rank0["batches"][step], rank1["batches"][step]]), global_batch)


def test_a_non_finite_loss_on_one_rank_skips_that_update_on_every_rank(ddp_runs):
    rank0, rank1 = load_ranks(ddp_runs / "skip")
    assert rank0["skipped_updates"] == rank1["skipped_updates"] == STEPS - 1  # the generator's, steps 1 and 2
    assert all(torch.equal(rank0["final"][p], rank1["final"][p]) for p in rank0["final"])
    assert all(torch.isfinite(p).all() for p in rank0["final"].values())


def test_a_non_finite_loss_on_one_rank_stops_every_rank_at_once(ddp_runs):
    messages = [(ddp_runs / "stop" / f"rank{rank}.txt").read_text() for rank in range(WORLD_SIZE)]
    assert messages[0] == messages[1]
    assert "the loss of generator+encoder (optimizer 1) became NaN or infinite" in messages[0]


def test_a_resumed_ddp_run_continues_every_ranks_noise_exactly(ddp_runs):
    checkpoint = torch.load(ddp_runs / "epoch1.ckpt", weights_only=False)
    per_rank = checkpoint["zoo"]["rng_per_rank"]
    assert len(per_rank) == WORLD_SIZE and not torch.equal(per_rank[0]["torch"], per_rank[1]["torch"])
    assert torch.equal(per_rank[0]["torch"], checkpoint["zoo"]["rng"]["torch"])  # rank zero's, as before
    for straight, resumed in zip(load_ranks(ddp_runs / "straight"), load_ranks(ddp_runs / "resumed")):
        different = [name for name, value in straight["final"].items()
                     if not torch.equal(value, resumed["final"][name])]
        assert not different, f"a resumed DDP run drifts from the uninterrupted one in {different[:4]}"


def test_a_single_process_checkpoint_resumed_on_two_processes_finishes_its_epoch_on_the_same_samples(ddp_runs):
    data = grid()
    data.setup("fit")
    single_epoch = [x for x, _ in data.train_dataloader()]  # one process, batch 16: 16 batches
    expected = torch.cat(single_epoch[SINGLE_PROCESS_STEPS:])
    ranks = load_ranks(ddp_runs / "widened")
    # 6 x 16 samples done = 3 steps of 2 x 16; the remaining 5 steps of the 8, not 8 - 6 = 2.
    assert [len(rank["batches"]) for rank in ranks] == [5, 5]
    seen = torch.cat([batch for rank in ranks for batch in rank["batches"]])
    assert sorted(map(tuple, seen.tolist())) == sorted(map(tuple, expected.tolist()))


def cli_fit(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_to_completion(
        [sys.executable, "cli.py", "fit", "--model", "AIM", "--model.hidden_dim", "16", "--data", "Grid25",
         "--data.num_train", "400", "--data.num_val", "100", "--data.batch_size", "20", "--trainer.accelerator", "cpu",
         "--trainer.strategy", "ddp", "--trainer.devices", str(WORLD_SIZE), "--trainer.enable_progress_bar", "false",
         "--trainer.default_root_dir", str(tmp_path), *extra], cwd=ROOT)


def test_cli_fit_under_ddp_writes_metrics_panels_and_checkpoints_once_and_resumes(tmp_path):
    first = cli_fit(tmp_path, "--trainer.max_steps", "15")  # 10 steps of 2 x 20 samples per epoch
    assert first.returncode == 0, first.stdout[-5000:]
    assert first.stdout.count("metrics:     ") == 1  # the summary and file list, printed by rank zero only
    run_dir = tmp_path / "lightning_logs" / "version_0"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "finished"
    assert metrics["global_step"] == 15
    for key in ("loss/discriminator", "loss/generator", "modes/high_quality", "val/recon_mse"):
        assert key in metrics
    assert (run_dir / "images" / "scatter_samples_last.png").stat().st_size > 0
    assert any(path.name.startswith("best-modes_high_quality") for path in (run_dir / "checkpoints").iterdir())
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == 15
    assert checkpoint["Grid25"] == {"pass": 1, "batches_done": 5, "num_replicas": WORLD_SIZE}  # mid-epoch

    resumed = cli_fit(tmp_path, "--trainer.max_steps", "30", "--ckpt_path", str(run_dir / "checkpoints" / "last.ckpt"))
    assert resumed.returncode == 0, resumed.stdout[-5000:]
    metrics = json.loads((tmp_path / "lightning_logs" / "version_1" / "metrics.json").read_text())
    assert metrics["status"] == "finished" and metrics["global_step"] == 30


def test_ctrl_c_during_a_ddp_run_saves_one_good_checkpoint_and_every_process_exits(tmp_path):
    """A terminal's Ctrl-C reaches the whole foreground process group: both ranks get SIGINT."""
    import time

    process = subprocess.Popen(
        [sys.executable, "cli.py", "fit", "--model", "AIM", "--model.hidden_dim", "16", "--data", "Grid25",
         "--data.num_train", "400", "--data.num_val", "100", "--data.batch_size", "20", "--trainer.accelerator", "cpu",
         "--trainer.strategy", "ddp", "--trainer.devices", str(WORLD_SIZE), "--trainer.enable_progress_bar", "false",
         "--trainer.max_epochs", "1000", "--trainer.default_root_dir", str(tmp_path)],
        cwd=ROOT, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    last = tmp_path / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt"
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not last.is_file() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)  # the first epoch end writes last.ckpt: both ranks are training
        assert last.is_file(), "the DDP run wrote no checkpoint before the deadline"
        first_epoch_step = torch.load(last, weights_only=True)["global_step"]
        time.sleep(1.0)
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=120)
    except (subprocess.TimeoutExpired, AssertionError):
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"the DDP run did not stop on Ctrl-C (a rank waiting in a collective?):\n{output[-3000:]}")
    assert process.returncode == 130, output[-3000:]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # rank 1 may finish its teardown just after rank 0
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("a rank of the DDP run was still alive 30 s after rank 0 exited")
    assert output.count("Ctrl-C: stopped after training step") == 1, output[-3000:]  # rank zero reports, once
    checkpoint = torch.load(last, weights_only=True)
    assert checkpoint["global_step"] > first_epoch_step  # the interrupt's step, not the epoch end's
    assert [path.name for path in last.parent.iterdir() if path.name.startswith("last")] == ["last.ckpt"]
    assert len(checkpoint["zoo"]["rng_per_rank"]) == WORLD_SIZE  # every rank took part in the save
    model = zoo.load_checkpoint(last)
    assert all(torch.isfinite(p).all() for p in model.parameters())


# ------------------------------------------------------------------------- sharding, without processes
def test_tensor_batches_shards_each_step_into_disjoint_equal_slices():
    x = torch.arange(103).unsqueeze(1)
    shards = [TensorBatches((x,), batch_size=5, shuffle=True, drop_last=True, seed=7, num_replicas=3, rank=rank)
              for rank in range(3)]
    single = TensorBatches((x,), batch_size=15, shuffle=True, drop_last=True, seed=7)
    assert [len(shard) for shard in shards] == [len(single)] * 3 == [6] * 3
    for _ in range(2):  # two passes: a new permutation, the same on every rank
        steps = zip(*shards, single)
        for *parts, (whole,) in steps:
            assert torch.equal(torch.cat([part for (part,) in parts]), whole)


def test_tensor_batches_sharding_needs_drop_last_and_enough_samples():
    x = torch.zeros(30, 2)
    with pytest.raises(ValueError, match="drop_last"):
        TensorBatches((x,), batch_size=5, num_replicas=2)
    with pytest.raises(ValueError, match="rank"):
        TensorBatches((x,), batch_size=5, drop_last=True, num_replicas=2, rank=2)
    with pytest.raises(BatchSizeError, match="batch_size=20 on each of 2 processes exceeds the 30 samples"):
        TensorBatches((x,), batch_size=20, drop_last=True, num_replicas=2)


def test_resuming_with_another_number_of_processes_continues_at_the_same_sample():
    """A checkpoint of 2 processes after 3 steps (3 x 2 x 20 samples) resumes 1 process at its 7th batch."""
    data = Grid25(num_train=400, num_val=100, batch_size=20, seed=3)
    data.setup("fit")
    uninterrupted = TensorBatches(data.splits["train"], batch_size=20, shuffle=True, drop_last=True, seed=3)
    uninterrupted.set_epoch(1)
    expected = [x for x, _ in uninterrupted]

    data.load_state_dict({"pass": 1, "batches_done": 3, "num_replicas": 2})
    resumed = [x for x, _ in data.train_dataloader()]
    assert len(resumed) == 14 and all(torch.equal(a, b) for a, b in zip(resumed, expected[6:]))

    data.load_state_dict({"pass": 1, "batches_done": 3})  # written before sharding existed: one process
    assert torch.equal(next(iter(data.train_dataloader()))[0], expected[3])


if __name__ == "__main__":
    worker(Path(sys.argv[1]))
    # The last fit ended in an error, and Lightning leaves the gloo process group up after one; its threads
    # can still be running while the interpreter tears down, which aborts the process ("terminate called
    # without an active exception", exit -6) now and then. Wait for the other rank, close the group, leave.
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
