"""The zoo's command line: any model x any datamodule, through LightningCLI.

    python cli.py fit --model AIM --data Grid25
    python cli.py fit --config configs/aim/grid25.yaml
    python cli.py fit --model AIM --data CIFAR10 --data.image_size 64 --model.lam 0.05
    python cli.py fit --model AIM --data MNIST --print_config
    python cli.py fit --config configs/aim/grid25.yaml --ckpt_path runs/.../checkpoints/last.ckpt  # resume

Model and datamodule classes are chosen by their short names (every subclass of
``zoo.GenerativeModule`` and ``datamodules.ZooDataModule``). The datamodule's ``image_shape`` is
linked into the model, so one model class builds the right networks for every dataset.

Mistakes a user can make (missing or damaged data, a bad hyper-parameter, an unknown class name,
a checkpoint of another model, W&B without a key, ...) end with one ``error:`` line that says what is
wrong and how to fix it, and exit status 2; Ctrl-C or SIGTERM end with a checkpoint and status 130/143.
"""

from __future__ import annotations

import importlib
import inspect
import netrc
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException

import callbacks
import datamodules
import zoo
from zoo.base import NON_FINITE_ACTIONS, NonFiniteLossError
from zoo.checkpoint import CheckpointError, check_model_class, read_checkpoint
from zoo.nets import UnsupportedShapeError


class ConfigError(ValueError):
    """An argument or config value is invalid; the message names it."""


class ZooCLI(LightningCLI):
    """LightningCLI with the data -> model shape link, the zoo's default callbacks and clear errors."""

    def add_arguments_to_parser(self, parser) -> None:
        parser.link_arguments("data.image_shape", "model.init_args.image_shape", apply_on="instantiate")
        parser.add_argument("--non_finite_loss", choices=NON_FINITE_ACTIONS, default="stop",
                            help="a NaN/inf loss stops training (the last checkpoint stays good) or skips that update")

    def _parse_ckpt_path(self) -> None:
        """Resuming (``--ckpt_path``) builds the model the checkpoint holds, with its hyper-parameters.

        Replaces LightningCLI's version, which tracebacks on damaged files and on checkpoints written
        outside the CLI; here those, and a checkpoint of another class than ``--model``, are one line.
        """
        subcommand = self.config.get("subcommand")
        ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if not ckpt_path or str(ckpt_path) in SPECIAL_CKPT_PATHS:
            return
        source = str(Path(ckpt_path).resolve())
        checkpoint = read_checkpoint(ckpt_path)
        requested = import_class(self.config[subcommand].model.class_path)
        model_class = check_model_class(checkpoint, source, requested) if "zoo" in checkpoint else requested
        accepted = inspect.signature(model_class.__init__).parameters
        init_args = {k: v for k, v in checkpoint.get("hyper_parameters", {}).items() if k in accepted}
        model = {"class_path": f"{model_class.__module__}.{model_class.__name__}", "init_args": init_args}
        try:
            self.config = self.parser.parse_object({subcommand: {"model": model}}, self.config)
        except SystemExit:
            raise CheckpointError(f"the hyper-parameters stored in {source} do not fit {model_class.__name__}: "
                                  f"{init_args}") from None

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except (ValueError, TypeError) as error:
            # jsonargparse wraps the model's or datamodule's own message in several layers.
            raise ConfigError(f"invalid configuration: {innermost(error)}") from error

    def before_fit(self) -> None:
        config = self.config[self.subcommand]
        self.model.non_finite_loss = config.get("non_finite_loss", "stop")
        self.model.run_config = self.parser.dump(self.config, skip_none=False)  # the full run, as config.yaml
        check_resume_checkpoint(config.get("ckpt_path"), self.model)
        check_wandb_credentials(self.trainer.loggers)
        # Mode counting is only defined on mixtures with known modes (aim.txt §5.3).
        has_modes = hasattr(self.datamodule, "centers") and hasattr(self.datamodule, "std")
        already = any(isinstance(cb, callbacks.ModeCounting) for cb in self.trainer.callbacks)
        if has_modes and not already:
            self.trainer.callbacks.insert(0, callbacks.ModeCounting())


def innermost(error: BaseException) -> BaseException:
    """The first exception of a chain (``raise ... from`` / during handling), i.e. the real cause."""
    seen = {id(error)}
    while True:
        cause = error.__cause__ or error.__context__
        if cause is None or id(cause) in seen:
            return error
        seen.add(id(cause))
        error = cause


SPECIAL_CKPT_PATHS = ("last", "hpc", "best", "registry")


def import_class(class_path: str) -> type:
    module_name, _, name = class_path.rpartition(".")
    return getattr(importlib.import_module(module_name), name)


def check_resume_checkpoint(ckpt_path: str | Path | None, model: zoo.GenerativeModule) -> None:
    """Refuse a --ckpt_path whose networks differ from the model's (e.g. other data shape), before fitting."""
    if ckpt_path is None or str(ckpt_path) in SPECIAL_CKPT_PATHS:
        return
    model.check_state_dict_matches(read_checkpoint(ckpt_path), str(Path(ckpt_path).resolve()))


def has_wandb_key() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc_path = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return netrc.netrc(netrc_path).authenticators("api.wandb.ai") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def check_wandb_credentials(loggers: Sequence) -> None:
    """W&B online without an API key would prompt or retry; say what to do instead."""
    for logger in loggers:
        if not isinstance(logger, WandbLogger):
            continue
        mode = logger._wandb_init.get("mode") or os.environ.get("WANDB_MODE", "online")
        if mode in ("offline", "disabled", "dryrun") or has_wandb_key():
            continue
        raise ConfigError(
            "the W&B logger needs an API key to log online: run `wandb login` or set WANDB_API_KEY; "
            "or log locally with WANDB_MODE=offline (sync later with `wandb sync`) or --trainer.logger.offline true"
        )


def class_names(package, base: type) -> list[str]:
    """Short names of the classes ``package`` exports that the CLI accepts for ``base``."""
    exported = (getattr(package, name) for name in package.__all__)
    return sorted(obj.__name__ for obj in exported if isinstance(obj, type) and issubclass(obj, base) and obj is not base)


def check_class_names(args: Sequence[str]) -> None:
    """An unknown ``--model X`` / ``--data X`` gets the list of names, not jsonargparse's 60 lines."""
    choices = {"--model": (zoo, zoo.GenerativeModule, "model"),
               "--data": (datamodules, datamodules.ZooDataModule, "datamodule")}
    for i, arg in enumerate(args):
        option, _, value = arg.partition("=")
        if option not in choices:
            continue
        if not value:
            value = args[i + 1] if i + 1 < len(args) else ""
        if not value or "." in value or "/" in value or value.startswith(("{", "-")):
            continue  # a dotted class path, a config file or a dict: jsonargparse judges those
        package, base, kind = choices[option]
        names = class_names(package, base)
        if value not in names:
            raise ConfigError(f"unknown {kind} '{value}' for {option}; available: {', '.join(names)}")


def default_callbacks() -> list:
    return [
        callbacks.SamplePanels(),
        callbacks.ReconstructionMSE(),
        ModelCheckpoint(save_last=True),
        callbacks.CheckpointOnInterrupt(),
        callbacks.MetricsSummary(),
    ]


def main(args: Sequence[str] | None = None, run: bool = True) -> ZooCLI:
    torch.set_float32_matmul_precision("high")
    check_class_names(sys.argv[1:] if args is None else args)
    return ZooCLI(
        zoo.GenerativeModule,
        datamodules.ZooDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        trainer_defaults={"callbacks": default_callbacks()},
        save_config_kwargs={"overwrite": True},
        args=args,
        run=run,
    )


# Failures whose message already says what is wrong and how to fix it: no traceback for these.
USER_ERRORS = (
    ConfigError,
    CheckpointError,
    NonFiniteLossError,
    UnsupportedShapeError,
    datamodules.DataNotFoundError,
    datamodules.DataCorruptError,
)
EXIT_USER_ERROR, EXIT_CTRL_C, EXIT_SIGTERM = 2, 130, 143


def run_command_line(args: Sequence[str] | None = None) -> int:
    """``main`` as a process: the exit status, with one ``error:`` line on stderr for user errors."""
    try:
        main(args)
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except SIGTERMException:  # CheckpointOnInterrupt has saved and said where
        return EXIT_CTRL_C if callbacks.CheckpointOnInterrupt.last_reason == "Ctrl-C" else EXIT_SIGTERM
    return 0


if __name__ == "__main__":
    sys.exit(run_command_line())
