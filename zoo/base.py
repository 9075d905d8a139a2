"""GenerativeModule: the base of every model in the zoo.

It owns what all papers share, so a paper's file only holds its networks, its losses and a
``training_step`` that reads like the paper's algorithm box:

- manual optimisation, one optimiser per player, :meth:`update` for one gradient step;
- ``trainer.global_step`` counts *training iterations* (batches), not optimiser steps. Lightning
  counts every ``optimizer.step()`` in manual optimisation (lightning issue #17958), so a model with
  two players would stop after half of ``max_steps`` and log at twice the rate; :meth:`update`
  lets only the first step of an iteration count;
- the prior and the inference API: ``sample_prior``, ``generate``, ``sample`` and, for models with
  an encoder, ``encode``, ``reconstruct`` (and ``sample_posterior`` where q(z|x) is stochastic);
- per-epoch learning-rate schedules (stepped at the end of each training epoch);
- loss logging without host-device synchronisation;
- a guard against non-finite losses that names the player and the step (:class:`NonFiniteLossError`);
- checkpoints that carry the zoo version, the model class, the run config and the RNG states, so a
  resumed run continues bit-identically and a checkpoint loads without knowing its class
  (:mod:`zoo.checkpoint`);
- data-parallel training (``--trainer.strategy ddp``): DDP is told that each update leaves the other
  players' parameters without gradient, ranks draw their own noise, epoch losses are averaged over
  ranks and a non-finite loss stops (or skips) on every rank at once (see :meth:`setup`).
"""

from __future__ import annotations

import ctypes
import inspect
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.plugins.precision import MixedPrecision, Precision
from lightning.pytorch.profilers import PassThroughProfiler
from lightning.pytorch.strategies import DDPStrategy, SingleDeviceStrategy
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor, nn

from zoo import lightning_compat
from zoo.checkpoint import (
    EXPORT_KIND,
    ZOO_VERSION,
    CheckpointError,
    cached_download,
    capture_rng_states,
    check_model_class,
    init_arguments,
    is_url,
    model_class_path,
    plain_hyper_parameters,
    read_checkpoint,
    restore_rng_states,
)


def skip_unusable_nvml_probe() -> bool:
    """Drop ``PYTORCH_NVML_BASED_CUDA_CHECK=1`` when NVML cannot answer anyway; True if it was dropped.

    Lightning sets that variable on import, so that ``torch.cuda.is_available()`` asks NVML and does
    not initialise CUDA before a fork. torch's Adam asks ``is_available()`` at every ``step()``, and
    where NVML is missing (a CUDA build of torch on a machine without an NVIDIA driver: CI, laptops)
    torch tries to load it again at every call and then falls back to the CUDA runtime's answer. An
    Adam step on a small parameter took 159 us with the variable and 50 us without on the CI machine
    (about 0.2 ms of each toy-GAN iteration: 3 %). Without NVML the runtime's answer is all there is,
    so dropping the variable changes no result.
    """
    if os.environ.get("PYTORCH_NVML_BASED_CUDA_CHECK") != "1" or not torch.backends.cuda.is_built():
        return False
    try:
        usable = ctypes.CDLL("libnvidia-ml.so.1").nvmlInit_v2() == 0  # the library torch loads
    except (OSError, AttributeError):
        usable = False
    if not usable:
        del os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"]
    return not usable


skip_unusable_nvml_probe()


NON_FINITE_ACTIONS = ("stop", "skip")
LR_DECAYS = ("none", "inverse_sqrt")


def check_lr_decay(lr_decay: str) -> None:
    if lr_decay not in LR_DECAYS:
        raise ValueError(f"lr_decay must be one of {LR_DECAYS}, got {lr_decay!r}")


def with_lr_decay(optimizers: list[torch.optim.Optimizer], lr_decay: str):
    """``configure_optimizers``' return value: the optimisers, with alpha_t = alpha / sqrt(t) per epoch
    t = 1, 2, ... (AIM's schedule, aim.txt Tables 3-4, also used by the baselines compared with it)
    when ``lr_decay="inverse_sqrt"``. :class:`GenerativeModule` steps the schedules at each epoch end."""
    check_lr_decay(lr_decay)
    if lr_decay == "none":
        return optimizers
    schedules = [torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1.0 / math.sqrt(epoch + 1))
                 for opt in optimizers]
    return optimizers, schedules


def is_logging_step(trainer: L.Trainer) -> bool:
    """Whether the loggers write at this training step (every ``log_every_n_steps``, and when stopping).

    The zoo reads logged values on the host only on these steps (the loggers read them then anyway).
    Lightning's rule is private (:func:`zoo.lightning_compat.logging_due`).
    """
    return trainer.log_every_n_steps > 0 and lightning_compat.logging_due(trainer)


STEP_HOOKS = ("on_before_backward", "on_after_backward", "on_before_optimizer_step")


def needs_lightning_step_hooks(trainer: L.Trainer, module: L.LightningModule) -> bool:
    """Whether updates must run through Lightning's ``manual_backward`` / ``LightningOptimizer.step``.

    They may bypass it only when that machinery would do nothing but call empty hooks: one device
    (DDP must prepare its reducer before each backward), fp32 or bf16 autocast without a loss scaler,
    no profiler, and no callback or module that overrides a backward or optimizer-step hook.
    """
    strategy = trainer.strategy
    plugin = strategy.precision_plugin
    if type(strategy) is not SingleDeviceStrategy or type(plugin) not in (Precision, MixedPrecision):
        return True
    if getattr(plugin, "scaler", None) is not None or not isinstance(trainer.profiler, PassThroughProfiler):
        return True
    listeners = [cb for cb in trainer.callbacks for hook in STEP_HOOKS
                 if getattr(type(cb), hook) is not getattr(Callback, hook)]
    overridden = [hook for hook in (*STEP_HOOKS, "backward")
                  if getattr(type(module), hook) is not getattr(L.LightningModule, hook)]
    return bool(listeners or overridden)


class NonFiniteLossError(RuntimeError):
    """A player's loss became NaN or infinite; training stops before any checkpoint is overwritten."""


_NEVER = 2**62  # "no non-finite loss" in check_losses_finite


def _do_nothing() -> None:
    return None


@contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Stop gradients from accumulating in ``modules``' parameters while still flowing through them.

    Used when a player's loss passes through another player's network (the generator's loss
    through D): the other network's weight gradients would be computed for nothing.
    """
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def as_shape(image_shape: Sequence[int] | None) -> tuple[int, ...]:
    """``image_shape`` as a tuple of positive ints, or a ValueError that names the argument."""
    shape = tuple(int(s) for s in image_shape) if image_shape is not None else ()
    if not shape or any(s <= 0 for s in shape):
        raise ValueError(
            f"image_shape must be a non-empty sequence of positive sizes such as (3, 64, 64) "
            f"or (2,), got {image_shape!r}; the CLI sets it from the datamodule"
        )
    return shape


class GenerativeModule(L.LightningModule):
    """Base of every zoo model. Subclasses build networks from ``(image_shape, latent_dim)``.

    Args:
        image_shape: shape of one data sample, ``(C, H, W)`` for images or ``(D,)`` for vectors.
            The CLI links it from the datamodule, so it rarely needs to be given by hand.
        latent_dim: dimension d of the latent code z ~ N(0, I).
    """

    automatic_optimization = False
    has_encoder: ClassVar[bool] = False

    def __init__(self, image_shape: Sequence[int], latent_dim: int) -> None:
        super().__init__()
        shape = as_shape(image_shape)
        if int(latent_dim) <= 0:
            raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
        self.image_shape: tuple[int, ...] = shape
        self.latent_dim = int(latent_dim)
        self._iteration_counted = False
        # What to do when a loss is NaN/inf: "stop" (raise NonFiniteLossError, checked without a
        # host-device sync at every logging interval and before every checkpoint) or "skip" (drop
        # that update; costs one sync per update). Set by the CLI's --non_finite_loss.
        self.non_finite_loss = "stop"
        self.run_config: str | None = None  # YAML of the CLI run, stored in checkpoints
        self._unchecked_losses: list[tuple[int, int, Tensor]] = []  # (step, optimizer index, loss) since the last check
        self._first_non_finite: tuple[int, int] | None = None  # (step, optimizer index) of the first NaN/inf loss
        self.skipped_updates = 0
        self._rng_states_to_restore: dict[str, Any] | None = None
        self._rng_states_per_rank_to_restore: list[dict[str, Any]] | None = None  # of a DDP run's checkpoint
        self._epoch_loss_sums: dict[str, Tensor] = {}  # batch-size-weighted sums of this epoch's losses
        self._epoch_loss_count = 0
        self._direct_updates = False  # set per fit by on_fit_start

    # ------------------------------------------------------------------ inference API
    def sample_prior(self, n: int) -> Tensor:
        """z ~ p(z) = N(0, I), shape (n, latent_dim), on the module's device."""
        return torch.randn(n, self.latent_dim, device=self.device)

    @torch.no_grad()
    def generate(self, z: Tensor) -> Tensor:
        """x = G(z), data in [-1, 1]. Does not change train/eval mode."""
        return self.generator(z.to(self.device))

    def sample(self, n: int) -> Tensor:
        """n samples x = G(z), z ~ p(z)."""
        return self.generate(self.sample_prior(n))

    def forward(self, z: Tensor) -> Tensor:
        """``model(z)`` is :meth:`generate`: x = G(z), without autograd (training steps call the networks)."""
        return self.generate(z)

    @torch.no_grad()
    def encode(self, x: Tensor) -> Tensor:
        """Latent code of x: E(x) for the deterministic ``encoder`` network most models have. Models
        with a stochastic encoder override it with the posterior mean. Does not change train/eval mode."""
        if not self.has_encoder:
            raise NotImplementedError(f"{type(self).__name__} has no encoder")
        return self.encoder(x.to(self.device))

    def reconstruct(self, x: Tensor) -> Tensor:
        """G(encode(x))."""
        return self.generate(self.encode(x))

    # ------------------------------------------------------------------ speed
    def networks(self) -> dict[str, nn.Module]:
        """The model's networks by attribute name (``generator``, ``discriminator``, ``encoder``, ...)."""
        return {name: child for name, child in self.named_children() if any(True for _ in child.parameters())}

    def has_convolutions(self) -> bool:
        return any(isinstance(m, nn.modules.conv._ConvNd) for m in self.modules())

    def use_channels_last(self) -> None:
        """Store the convolution weights channels-last (NHWC): tensor-core convolutions on NVIDIA GPUs
        run without layout transposes, and a conv with NHWC weights gives NHWC activations. Values and
        the state dict are unchanged, so checkpoints load either way. ``cli.py`` does it on GPUs."""
        self.to(memory_format=torch.channels_last)

    def compile_networks(self, names: Sequence[str] | None = None, **compile_kwargs: Any) -> list[str]:
        """``torch.compile`` the named networks in place (default: all), not the LightningModule.

        The training step itself stays eager: Lightning's optimiser hooks and the players' alternating
        updates do not trace well, while each network's forward and backward compile cleanly. In place
        (``nn.Module.compile``) keeps the parameter names, so checkpoints of compiled and eager runs are
        interchangeable. Returns the compiled names; an unknown name is a ValueError listing the known ones.
        """
        available = self.networks()
        chosen = list(available) if names is None else list(names)
        unknown = [name for name in chosen if name not in available]
        if unknown:
            raise ValueError(f"cannot compile {unknown}: {type(self).__name__} has the networks "
                             f"{sorted(available)}")
        for name in chosen:
            available[name].compile(**compile_kwargs)
        return chosen

    # ------------------------------------------------------------------ training helpers
    def update(self, optimizer: LightningOptimizer, loss: Tensor) -> None:
        """One gradient step of ``optimizer`` on ``loss``; zero_grad -> backward -> step.

        Only the first update of a training iteration advances ``trainer.global_step``. A non-finite
        ``loss`` is recorded (``non_finite_loss="stop"``) or its update skipped (``"skip"``).

        When nothing listens to Lightning's backward / optimizer-step hooks (see
        :func:`needs_lightning_step_hooks`), the step calls ``loss.backward()`` and the torch
        optimiser directly: Lightning dispatches three hooks to every callback at every update, a fixed
        cost that is a sizeable share of a small network's iteration (BENCHMARKS.md). Otherwise (DDP,
        fp16 loss scaling, a callback with ``on_after_backward``, a profiler, ...) it goes through
        ``manual_backward`` and Lightning's step.
        """
        if self.non_finite_loss == "skip" and not self.trainer.strategy.reduce_boolean_decision(
                bool(torch.isfinite(loss.detach())), all=True):  # DDP: every rank skips, or none does
            self._skip_update(optimizer)
            return
        self._record_loss(optimizer, loss)
        optimizer.zero_grad(set_to_none=True)
        counts = not self._iteration_counted
        self._iteration_counted = True
        if self._direct_updates:
            loss.backward()
            before, after = lightning_compat.step_counting_hooks(optimizer)
            if counts:
                before()
            optimizer.optimizer.step()
            if counts:
                after()
            return
        self.manual_backward(loss)
        if counts:
            optimizer.step()
            return
        counting_hooks = lightning_compat.step_counting_hooks(optimizer)
        lightning_compat.set_step_counting_hooks(optimizer, _do_nothing, _do_nothing)
        try:
            optimizer.step()
        finally:
            lightning_compat.set_step_counting_hooks(optimizer, *counting_hooks)

    # ------------------------------------------------------------------ non-finite losses
    def _index_of(self, optimizer: LightningOptimizer) -> int:
        return next(i for i, opt in enumerate(self.trainer.optimizers) if opt is optimizer.optimizer)

    def player_name(self, optimizer_index: int) -> str:
        """The networks optimizer ``optimizer_index`` trains, e.g. ``'generator+encoder'``."""
        owner = {id(p): name for name, child in self.named_children() for p in child.parameters()}
        params = [p for group in self.trainer.optimizers[optimizer_index].param_groups for p in group["params"]]
        names = list(dict.fromkeys(owner.get(id(p), "?") for p in params))
        return "+".join(names)

    def _record_loss(self, optimizer: LightningOptimizer, loss: Tensor) -> None:
        """Keep ``loss`` for the next :meth:`check_losses_finite`: no kernel, no host-device sync."""
        self._unchecked_losses.append((self.global_step, self._index_of(optimizer), loss.detach()))

    def _skip_update(self, optimizer: LightningOptimizer) -> None:
        index = self._index_of(optimizer)
        self.skipped_updates += 1
        rank_zero_warn(f"non-finite loss of {self.player_name(index)} (optimizer {index}) at step "
                       f"{self.global_step}: update skipped ({self.skipped_updates} so far)")
        optimizer.zero_grad(set_to_none=True)
        if not self._iteration_counted:  # the iteration still counts as one training step
            for hook in lightning_compat.step_counting_hooks(optimizer):
                hook()
            self._iteration_counted = True

    def check_losses_finite(self) -> None:
        """Raise :class:`NonFiniteLossError` if any loss so far was NaN/inf, naming the player and the
        first such step. The losses kept since the last check are tested at once: one host-device sync
        (and one min-reduction under DDP, so that every rank stops at the same step)."""
        if self._unchecked_losses:
            steps, players, values = zip(*self._unchecked_losses)
            self._unchecked_losses = []
            finite = torch.isfinite(torch.stack([value.float() for value in values])).tolist()
            num_players = len(self.trainer.optimizers)
            # (step, player) as one number, so that ranks agree on the first bad one with a single reduction
            first = min((step * num_players + player for step, player, ok in zip(steps, players, finite) if not ok),
                        default=_NEVER)
            if self.trainer.world_size > 1:  # DDP: stop every rank at once, or the others would wait forever
                first = int(self.trainer.strategy.reduce(torch.tensor(first, device=values[0].device),
                                                         reduce_op="min"))
            if first != _NEVER and self._first_non_finite is None:
                self._first_non_finite = divmod(first, num_players)
        if self._first_non_finite is None:
            return
        step, index = self._first_non_finite
        raise NonFiniteLossError(
            f"the loss of {self.player_name(index)} (optimizer {index}) became NaN or infinite at training step "
            f"{step}; training stopped and no checkpoint was written after it, so the last checkpoint on disk "
            "holds good weights. Try a lower learning rate, --trainer.precision 32, or --non_finite_loss skip"
        )

    def setup(self, stage: str) -> None:
        # DDP with manual optimisation: each update backpropagates one player's loss, so the other players'
        # parameters get no gradient in that backward (their networks are detached or `frozen`). DDP's reducer
        # must be told to expect that, or the second update of an iteration fails with "parameters that were
        # not used in producing the loss". Runs before the strategy wraps the model; an explicit
        # find_unused_parameters (e.g. strategy="ddp_find_unused_parameters_false") is left as given.
        strategy = self.trainer.strategy
        if stage == "fit" and isinstance(strategy, DDPStrategy):
            lightning_compat.expect_unused_parameters(strategy)

    def on_fit_start(self) -> None:
        self._unchecked_losses, self._first_non_finite = [], None  # a new Trainer may bring new optimizers
        self._direct_updates = not needs_lightning_step_hooks(self.trainer, self)
        self._epoch_loss_sums, self._epoch_loss_count = {}, 0

    def configure_callbacks(self) -> list[Callback]:
        from datamodules.base import TrainingDataPosition  # the data's resume position: trained batches

        return [TrainingDataPosition()]

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self._iteration_counted = False

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        trainer = self.trainer
        if (trainer.global_step % max(trainer.log_every_n_steps, 1) == 0
                or batch_idx + 1 == trainer.num_training_batches):
            self.check_losses_finite()

    def on_train_epoch_end(self) -> None:
        self.log_epoch_losses()
        schedulers = self.lr_schedulers()
        if schedulers is None:
            return
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            scheduler.step()

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.check_losses_finite()  # never write NaN weights over a good checkpoint
        plain_hyper_parameters(checkpoint)  # so that it loads with weights_only=True
        rng = capture_rng_states()
        checkpoint["zoo"] = {
            "version": ZOO_VERSION,
            "model_class": model_class_path(type(self)),
            "config": self.run_config,
            "rng": rng,
        }
        if self._trainer is not None and self.trainer.world_size > 1 and torch.distributed.is_initialized():
            # Every rank saves (only rank zero writes the file): collect each rank's own noise stream, so a
            # resume with the same number of processes continues every one of them exactly.
            per_rank: list[Any] = [None] * self.trainer.world_size
            torch.distributed.all_gather_object(per_rank, rng)
            checkpoint["zoo"]["rng_per_rank"] = per_rank

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        meta = checkpoint.get("zoo")
        if isinstance(meta, dict) and "model_class" in meta:
            check_model_class(checkpoint, "the checkpoint", type(self))
            self.run_config = meta.get("config")
            self._rng_states_to_restore = meta.get("rng")
            self._rng_states_per_rank_to_restore = meta.get("rng_per_rank")

    def check_state_dict_matches(self, checkpoint: dict[str, Any], source: str) -> None:
        """CheckpointError unless the checkpoint has exactly this model's parameters and buffers."""
        expected, found = set(self.state_dict()), set(checkpoint["state_dict"])
        if expected == found:
            return
        meta = checkpoint.get("zoo")
        written_by = f"zoo {meta.get('version')}" if isinstance(meta, dict) else "an unknown version"
        missing, unexpected = sorted(expected - found), sorted(found - expected)
        raise CheckpointError(
            f"{source} does not fit this {type(self).__name__} (zoo {ZOO_VERSION}; the checkpoint was written by "
            f"{written_by}): missing {missing[:4]}{'...' if len(missing) > 4 else ''}, unexpected "
            f"{unexpected[:4]}{'...' if len(unexpected) > 4 else ''}. The model arguments (latent_dim, "
            "hidden_dim, ...) and the data's image shape must be the ones it was trained with"
        )

    def on_train_start(self) -> None:
        # Restored here, after sanity checks and setup, so the first resumed step draws exactly the
        # random numbers the uninterrupted run would have drawn.
        shared, self._rng_states_to_restore = self._rng_states_to_restore, None
        per_rank, self._rng_states_per_rank_to_restore = self._rng_states_per_rank_to_restore, None
        if per_rank is not None and len(per_rank) == self.trainer.world_size:
            restore_rng_states(per_rank[self.global_rank])  # a DDP run resumed on as many processes
            return
        if shared is not None:
            restore_rng_states(shared)
        if self.trainer.world_size > 1 and self.global_rank > 0:
            # Lightning seeds every DDP rank alike, so all ranks would draw the same noise and a step's global
            # batch would repeat one noise batch world_size times. Ranks > 0 branch off streams of their own,
            # derived from the shared state and the rank; rank 0 keeps the stream of a single-process run.
            torch.manual_seed(int(torch.randint(2**62, ())) + self.global_rank)

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path: str | Path, map_location: Any = None,
                             hparams_file: Any = None, strict: bool | None = None, **kwargs: Any):
        """Lightning's ``load_from_checkpoint`` with the class taken from the checkpoint.

        ``GenerativeModule.load_from_checkpoint(path)`` (or :func:`zoo.load_checkpoint`) returns
        whatever model the checkpoint holds; ``AIM.load_from_checkpoint(path)`` refuses a checkpoint
        of another class with a message naming it. Damaged files raise :class:`CheckpointError`.
        """
        source = str(Path(checkpoint_path).resolve())
        checkpoint = read_checkpoint(checkpoint_path)
        if "zoo" in checkpoint or cls is GenerativeModule:
            model_class = zoo_model_class(checkpoint, source, cls)
        else:
            model_class = cls  # a checkpoint from before the zoo recorded its class
        meta = checkpoint.get("zoo")
        del checkpoint
        load = super(GenerativeModule, model_class).load_from_checkpoint
        if "weights_only" in inspect.signature(load).parameters:  # Lightning >= 2.5; read_checkpoint vetted it
            kwargs["weights_only"] = True  # the file runs no code, even if TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD is set
        try:
            return load(checkpoint_path, map_location=map_location, hparams_file=hparams_file, strict=strict,
                        **kwargs)
        except RuntimeError as error:
            if "state_dict" not in str(error):
                raise
            written_by = f"zoo {meta.get('version')}" if isinstance(meta, dict) else "an unknown version"
            raise CheckpointError(
                f"{source} does not fit {model_class.__name__} as this zoo ({ZOO_VERSION}) builds it (written by "
                f"{written_by}; were the model arguments overridden?): {error}"
            ) from None

    def log_losses(self, losses: Mapping[str, Tensor], batch_size: int) -> None:
        """Log ``loss/<name>_step`` at the trainer's logging interval (also shown in the progress bar)
        and ``loss/<name>`` per epoch.

        Lightning's ``self.log`` is slow for a call made at every step (it was the largest
        non-compute cost of the toy GAN's iteration), so it is called only on the steps the loggers
        write (``log_every_n_steps``), which read the values on the host anyway; the epoch mean is
        accumulated on the device (one add per loss, no host-device sync) and logged in
        :meth:`on_train_epoch_end`, weighted by batch size as Lightning's ``on_epoch`` would be.
        """
        losses = {name: value.detach() for name, value in losses.items()}
        sums = self._epoch_loss_sums
        for name, value in losses.items():
            total = sums.get(name)
            sums[name] = value.float() * batch_size if total is None else torch.add(total, value, alpha=batch_size)
        self._epoch_loss_count += batch_size
        if is_logging_step(self.trainer):
            self.log_dict({f"loss/{name}_step": value for name, value in losses.items()},
                          on_step=True, on_epoch=False, prog_bar=True, batch_size=batch_size)

    def log_epoch_losses(self) -> None:
        """The epoch means of :meth:`log_losses` as ``loss/<name>`` (averaged over ranks under DDP)."""
        if self._epoch_loss_count:
            self.log_dict({f"loss/{name}": total / self._epoch_loss_count
                           for name, total in self._epoch_loss_sums.items()},
                          on_step=False, on_epoch=True, sync_dist=True)
        self._epoch_loss_sums, self._epoch_loss_count = {}, 0


# ---------------------------------------------------------------------------------- loading a model from a file
def zoo_model_class(checkpoint: dict[str, Any], source: str,
                    expected: type[GenerativeModule] = GenerativeModule) -> type[GenerativeModule]:
    """The model class a checkpoint records: ``expected`` itself, or any zoo model for the base class.

    :func:`zoo.checkpoint.check_model_class`, plus a refusal of any class that is not a
    :class:`GenerativeModule`: a file may name any importable class, and an export's model is built by
    calling its class with the file's hyper-parameters, so ``subprocess.Popen`` would run a command.
    """
    found = check_model_class(checkpoint, source, None if expected is GenerativeModule else expected)
    if not (isinstance(found, type) and issubclass(found, GenerativeModule)):
        raise CheckpointError(f"{source} names {checkpoint['zoo']['model_class']} as its model class, which is not "
                              "a zoo model (a zoo.GenerativeModule); refusing to build it")
    return found


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> GenerativeModule:
    """Load any zoo model, whatever its class, in eval mode, from a checkpoint of a run, an export
    (:func:`zoo.checkpoint.export_checkpoint`), or the URL of either (downloaded once into torch.hub's cache)::

        model = zoo.load_checkpoint("runs/aim_grid25/.../last.ckpt")
        model = zoo.load_checkpoint("https://example.org/aim_mnist.pt")
        images = model.sample(64)      # or model(z) for your own z

    Every file is read with ``weights_only=True`` (see :func:`zoo.checkpoint.read_checkpoint`), and only a
    zoo model class is built from it (:func:`zoo_model_class`): loading runs no code.
    """
    if is_url(path):
        path = cached_download(str(path))
    checkpoint = read_checkpoint(path)
    meta = checkpoint.get("zoo")
    if isinstance(meta, dict) and meta.get("kind") == EXPORT_KIND:
        source = str(Path(path).resolve())
        model_class = zoo_model_class(checkpoint, source)
        try:
            model = model_class(**init_arguments(model_class, checkpoint.get("hyper_parameters", {})))
            model.load_state_dict(checkpoint["state_dict"], strict=True)
        except (TypeError, ValueError, RuntimeError) as error:
            raise CheckpointError(
                f"{source} does not fit {model_class.__name__} as this zoo ({ZOO_VERSION}) builds it (exported "
                f"from zoo {meta.get('trained_with')}): {error}"
            ) from None
        return model.to(map_location).eval()
    del checkpoint
    return GenerativeModule.load_from_checkpoint(path, map_location=map_location).eval()
