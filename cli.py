"""The zoo's command line: any model x any datamodule, through LightningCLI.

    python cli.py fit --model AIM --data Grid25
    python cli.py fit --config configs/aim/grid25.yaml
    python cli.py fit --model AIM --data CIFAR10 --data.image_size 64 --model.lam 0.05
    python cli.py fit --model AIM --data MNIST --print_config
    python cli.py fit --config configs/aim/grid25.yaml --ckpt_path runs/.../checkpoints/last.ckpt  # resume
    python cli.py evaluate --ckpt_path runs/.../last.ckpt [--data MNIST] [--metrics fid,is,recon_mse]
    python cli.py fetch-weights   # the Inception weights for FID / IS / KID, on a machine with internet
    python cli.py demo --ckpt_path runs/.../last.ckpt --out demo/   # sample / reconstruction / interpolation PNGs
    python cli.py reproduce aim-table2 --seeds 5 --jobs 2   # a paper table over seeds -> results/aim-table2.json
    python cli.py reproduce --list | --render               # the tables it knows; RESULTS.md from results/
    python cli.py export --ckpt_path runs/.../last.ckpt --out model.pt   # weights + hyper-parameters, to share
    python cli.py --help                                    # every command; `python cli.py COMMAND --help`

Installed with pip, ``gan-zoo`` is the same command (``gan-zoo fit --config aim/grid25``: a config name
without a path is looked up among the paper configs, which the package carries).

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
import json
import logging
import netrc
import os
import re
import shutil
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

import yaml

import torch
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.cli import LightningCLI, SaveConfigCallback
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException

import callbacks
import datamodules
import zoo
from callbacks import evaluation, fidelity
from callbacks._common import resolve_log_dir
from zoo import lightning_compat
from zoo.base import NON_FINITE_ACTIONS, NonFiniteLossError
from zoo.checkpoint import CheckpointError, check_model_class, read_checkpoint
from zoo.nets import UnsupportedShapeError
from reproduction.campaign import ReproduceError


class ConfigError(ValueError):
    """An argument or config value is invalid; the message names it."""


class ZooCLI(LightningCLI):
    """LightningCLI with the data -> model shape link, the zoo's default callbacks and clear errors.

    Of Lightning's subcommands only ``fit`` is offered: ``validate``, ``test`` and ``predict`` need
    ``validation_step`` / ``test_step`` / ``predict_step``, which the zoo's models do not have (their
    evaluation is ``evaluate``). The zoo's own commands are listed beside ``fit`` in ``--help``; they are
    run by :func:`run_command_line`, each with its own parser and ``--help``.
    """

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        return {"fit": LightningCLI.subcommands()["fit"]}

    def _add_subcommands(self, parser, **kwargs) -> None:
        from jsonargparse import ArgumentParser

        super()._add_subcommands(parser, **kwargs)
        for name, (_, summary) in ZOO_COMMANDS.items():
            # Listed for --help only: run_command_line dispatches these before LightningCLI parses anything.
            parser._subcommands_action.add_subcommand(name, ArgumentParser(description=summary), help=summary)

    def add_arguments_to_parser(self, parser) -> None:
        parser.link_arguments("data.image_shape", "model.init_args.image_shape", apply_on="instantiate")
        parser.add_argument("--non_finite_loss", choices=NON_FINITE_ACTIONS, default="stop",
                            help="a NaN/inf loss stops training (the last checkpoint stays good) or skips that update")
        parser.add_argument("--best_checkpoint", type=str, default="auto",
                            help="also keep the best checkpoint by this logged metric, e.g. fidelity/fid, "
                                 "modes/high_quality, val/recon_mse; 'auto' = FID when FidelityMetrics computes it, "
                                 "else % high-quality samples on 2-D mixtures; 'none' = last.ckpt only")
        parser.add_argument("--compile", type=Optional[str], default=None,
                            help="torch.compile these networks: 'all' or comma-separated names such as "
                                 "generator,discriminator (compiles each network, not the training step)")
        parser.add_argument("--channels_last", choices=("auto", "true", "false"), default="auto",
                            help="channels-last conv weights; auto = on for conv networks on a GPU")
        parser.add_argument("--threads", type=Optional[int], default=None,
                            help="CPU threads of torch's operators; default: 1 for 2-D / vector data (tiny MLPs gain "
                                 "nothing from more, and a busy neighbour stalls them), else torch's default; "
                                 "OMP_NUM_THREADS, when set, is kept")

    def before_instantiate_classes(self) -> None:
        config = self.config.get(self.subcommand) if self.subcommand else self.config
        if config is None or "trainer" not in config:
            return
        trainer = config.trainer
        precision = default_precision(trainer.get("precision"), trainer.get("accelerator"))
        if precision != trainer.get("precision"):
            trainer.precision = precision
            print(f"precision: {precision} (the GPU default; --trainer.precision 32-true for float32)", file=sys.stderr)

    def _parse_ckpt_path(self) -> None:
        """Resuming (``--ckpt_path``) builds the model the checkpoint holds, with its hyper-parameters.

        Replaces LightningCLI's version, which tracebacks on damaged files and on checkpoints written
        outside the CLI; here those, and a checkpoint of another class than ``--model``, are one line.
        The file is read with ``weights_only=True`` (a crafted file runs no code), and so is Lightning's
        own load when it resumes (``--weights_only`` is forced on: every zoo checkpoint loads that way).
        """
        subcommand = self.config.get("subcommand")
        if subcommand and "weights_only" in self.config[subcommand]:
            if self.config[subcommand].weights_only is False:
                raise ConfigError("--weights_only false is not supported: the zoo loads checkpoints only with "
                                  "weights_only=True, which every zoo checkpoint supports and which runs no code")
            self.config[subcommand].weights_only = True
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
        self.model.run_config = self.parser.dump(self.config, skip_unset=False)  # the full run, as config.yaml
        check_resume_checkpoint(config.get("ckpt_path"), self.model)
        check_wandb_credentials(self.trainer.loggers)
        place_wandb_runs(self.trainer)
        # Mode counting is only defined on mixtures with known modes (aim.txt §5.3).
        has_modes = hasattr(self.datamodule, "centers") and hasattr(self.datamodule, "std")
        already = any(isinstance(cb, callbacks.ModeCounting) for cb in self.trainer.callbacks)
        if has_modes and not already:
            self.trainer.callbacks.insert(0, callbacks.ModeCounting())
        throttle_default_progress_bar(self.trainer.callbacks)
        apply_speed_options(self.model, config.get("channels_last", "auto"), config.get("compile"),
                            self.trainer.strategy.root_device)
        threads = cpu_threads(config.get("threads"), self.model.image_shape)
        if threads is not None:
            torch.set_num_threads(threads)
        best = best_checkpoint_callback(config.get("best_checkpoint", "auto"), self.trainer.callbacks)
        if best is not None:
            self.trainer.callbacks.append(best)  # Lightning runs checkpoint callbacks after the metric callbacks
        drop_unused_wandb_settings(self.trainer.loggers)


# Metrics a 'best' checkpoint can follow, and whether larger is better. GANs degrade late in training,
# so the best FID is often far from the last step.
BEST_METRIC_MODES = {"fidelity/fid": "min", "fidelity/kid_mean": "min", "fidelity/is_mean": "max",
                     "modes/high_quality": "max", "modes/captured": "max", "val/recon_mse": "min"}


def best_checkpoint_callback(metric: str, trainer_callbacks: Sequence) -> ModelCheckpoint | None:
    """A ModelCheckpoint keeping ``best-<metric>-...ckpt``, the one checkpoint with the best value."""
    if metric == "none":
        return None
    if metric == "auto":
        fid = any(isinstance(cb, callbacks.FidelityMetrics) and "fid" in cb.metrics for cb in trainer_callbacks)
        modes = any(isinstance(cb, callbacks.ModeCounting) for cb in trainer_callbacks)
        metric = "fidelity/fid" if fid else "modes/high_quality" if modes else "none"
        if metric == "none":
            return None
    if metric not in BEST_METRIC_MODES:
        raise ConfigError(f"--best_checkpoint {metric!r} is not a metric the zoo logs; choose one of "
                          f"{', '.join(BEST_METRIC_MODES)}, auto or none")
    safe = metric.replace("/", "_")
    return callbacks.BestCheckpoint(monitor=metric, mode=BEST_METRIC_MODES[metric], save_top_k=1,
                                    filename=f"best-{safe}-{{epoch}}-{{step}}", auto_insert_metric_name=False)


def default_precision(precision: str | int | None, accelerator: object) -> str | int | None:
    """bf16-mixed on a CUDA GPU that supports it when the user chose no precision (issue 9: mixed
    precision on by default on GPUs); otherwise ``precision`` unchanged (Lightning's default: 32-true)."""
    if precision is not None or not torch.cuda.is_available() or not torch.cuda.is_bf16_supported():
        return precision
    if isinstance(accelerator, str) and accelerator not in ("auto", "gpu", "cuda"):
        return precision
    return "bf16-mixed"


def apply_speed_options(model: zoo.GenerativeModule, channels_last: str, compile_names: str | None,
                        device: torch.device) -> None:
    """``--channels_last`` (auto: conv networks on a GPU) and ``--compile`` (all or a list of networks)."""
    if channels_last == "true" or (channels_last == "auto" and device.type == "cuda" and model.has_convolutions()):
        model.use_channels_last()
    if compile_names:
        names = None if compile_names.strip() == "all" else [n.strip() for n in compile_names.split(",") if n.strip()]
        try:
            model.compile_networks(names)
        except ValueError as error:
            raise ConfigError(f"--compile: {error}") from None


def cpu_threads(requested: int | None, image_shape: Sequence[int]) -> int | None:
    """The intra-op thread count for ``--threads`` (None: leave torch's choice alone).

    A 2-D toy job's matmuls are a few hundred rows of 128 columns: splitting them across threads saves
    little, and when another process keeps a core busy every operator waits for the slowest thread (two
    default grid jobs on 2 cores ran 100x slower). So vector data gets 1 thread unless the user says
    otherwise, through ``--threads`` or ``OMP_NUM_THREADS``."""
    if requested is not None:
        if requested < 1:
            raise ConfigError(f"--threads must be a positive integer, got {requested}")
        return requested
    if os.environ.get("OMP_NUM_THREADS") or len(tuple(image_shape)) != 1:
        return None
    return 1


def throttle_default_progress_bar(trainer_callbacks: list) -> None:
    """Swap Lightning's stock TQDM bar (redrawn every iteration) for :class:`callbacks.ThrottledProgressBar`."""
    for i, callback in enumerate(trainer_callbacks):
        if type(callback) is TQDMProgressBar and callback.refresh_rate == 1:
            trainer_callbacks[i] = callbacks.ThrottledProgressBar(leave=lightning_compat.progress_bar_leave(callback))


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


def wandb_settings():
    """wandb's own settings (environment and its system / workspace settings files: ``base_url`` of
    ``wandb login --host``, ``api_key``, ``mode`` of ``wandb offline``), read without starting its
    service or touching the network; None if this wandb does not offer them (older than 0.19)."""
    # Read afresh at every call, not from wandb's process-wide singleton, which keeps the environment of its
    # first use (a notebook or test that changed WANDB_MODE since would get a stale answer).
    try:
        from wandb.sdk.wandb_settings import Settings

        settings = Settings()
        config_dir = os.environ.get("WANDB_CONFIG_DIR")
        settings.settings_system = str(Path(config_dir).expanduser() / "settings" if config_dir
                                       else Path("~", ".config", "wandb", "settings").expanduser())
        settings.update_from_system_settings()
        settings.update_from_env_vars(dict(os.environ))
        settings.update_from_system_environment()
        return settings
    except Exception:  # noqa: BLE001 - ImportError, or an older wandb's internals: fall back to the netrc
        return None


def has_wandb_key(settings=None) -> bool:
    """Whether wandb will find credentials, as wandb itself resolves them: WANDB_API_KEY, an identity
    token file, the ``api_key`` of its settings files, or the netrc entry of its server (WANDB_BASE_URL
    or the ``base_url`` that `wandb login --host` stored). No network, no prompt: a quick answer."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    settings = settings if settings is not None else wandb_settings()
    if settings is None:  # an older wandb: its default server, or WANDB_BASE_URL, and the netrc
        return netrc_has_entry(os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai")
    if getattr(settings, "api_key", None) or getattr(settings, "identity_token_file", None):
        return True
    base_url = getattr(settings, "base_url", None) or "https://api.wandb.ai"
    try:
        from wandb.sdk.lib import wbauth
    except ImportError:
        return netrc_has_entry(base_url)
    try:
        return wbauth.read_netrc_auth(host=base_url) is not None
    except Exception:  # noqa: BLE001 - a malformed key: let wandb.init say so (see wandb_failure)
        return True


def netrc_has_entry(base_url: str) -> bool:
    """Whether the netrc file (NETRC, default ~/.netrc) has an entry for the server at ``base_url``."""
    host = urlsplit(base_url).netloc or "api.wandb.ai"
    netrc_path = Path(os.environ.get("NETRC") or Path.home() / ".netrc").expanduser()
    try:
        return netrc.netrc(netrc_path).authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def check_wandb_credentials(loggers: Sequence) -> None:
    """W&B online without an API key would prompt or retry; say what to do instead."""
    for logger in loggers:
        if (not isinstance(logger, WandbLogger) or lightning_compat.wandb_started(logger)
                or lightning_compat.wandb_offline(logger)):
            continue
        settings = wandb_settings()
        mode = (lightning_compat.wandb_init_settings(logger).get("mode") or os.environ.get("WANDB_MODE")
                or getattr(settings, "mode", None) or "online")
        if mode in ("offline", "disabled", "dryrun") or has_wandb_key(settings):
            continue
        raise ConfigError(
            "the W&B logger needs an API key to log online: run `wandb login` or set WANDB_API_KEY; "
            "or log locally with WANDB_MODE=offline (sync later with `wandb sync`) or --trainer.logger.offline true"
        )


def wandb_failure(error: BaseException) -> str | None:
    """One line for wandb's own errors (server unreachable, key rejected, ...);
    None for any other error. wandb gives up after its ``init_timeout`` (90 s, WANDB_INIT_TIMEOUT)."""
    errors = sys.modules.get("wandb.errors")  # loaded only if a W&B run was started
    if errors is None or not isinstance(error, errors.Error):
        return None
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return (f"W&B failed ({reason}): check the network and the API key (`wandb login`, "
            "WANDB_API_KEY, WANDB_BASE_URL), or log locally with WANDB_MODE=offline and upload later with `wandb sync`")


def drop_unused_wandb_settings(loggers: Sequence) -> None:
    """Lightning's WandbLogger passes ``anonymous=None`` to ``wandb.init``; wandb >= 0.19 ignores that
    setting and prints a warning for it at every run. Left out, nothing changes but the warning."""
    for logger in loggers:
        if not isinstance(logger, WandbLogger) or lightning_compat.wandb_started(logger):
            continue
        init = lightning_compat.wandb_init_settings(logger)
        if init.get("anonymous") is None:
            init.pop("anonymous", None)


def place_wandb_runs(trainer) -> None:
    """W&B runs live under ``--trainer.default_root_dir`` like CSV / TensorBoard runs.

    WandbLogger's ``save_dir`` defaults to the working directory, whatever ``default_root_dir`` says;
    left at that default it becomes ``default_root_dir``, so the run's files (config.yaml, images/,
    metrics.json, checkpoints/) go to ``<default_root_dir>/<project>/<run id>/`` (see
    ``callbacks._common.resolve_log_dir``) and wandb's own files to ``$WANDB_DIR`` (if set, else
    ``<default_root_dir>``) ``/wandb/``. An explicit ``--trainer.logger.save_dir`` is kept.
    """
    for logger in trainer.loggers:
        if (not isinstance(logger, WandbLogger) or lightning_compat.wandb_started(logger)
                or lightning_compat.wandb_save_dir(logger) != "."):
            continue
        lightning_compat.set_wandb_save_dir(logger, str(trainer.default_root_dir))
        init = lightning_compat.wandb_init_settings(logger)
        init["dir"] = os.environ.get("WANDB_DIR") or str(trainer.default_root_dir)
        Path(init["dir"]).mkdir(parents=True, exist_ok=True)


class ZooSaveConfigCallback(SaveConfigCallback):
    """``config.yaml`` in the run's directory (for W&B ``<save_dir>/<project>/<run id>/``, beside
    ``checkpoints/``, instead of the ``save_dir`` that every run shares), and the full config in the
    W&B run's config: ``model_class``, ``data_class`` and ``config`` (the config.yaml tree), beside
    the model's and datamodule's hyper-parameters that Lightning logs."""

    def setup(self, trainer, pl_module, stage: str) -> None:
        if self.already_saved:
            return
        run_dir = resolve_log_dir(trainer)  # broadcasts: every rank calls it
        if trainer.is_global_zero:
            run_dir.mkdir(parents=True, exist_ok=True)
            self.parser.save(self.config, str(run_dir / self.config_filename), skip_unset=False,
                             overwrite=self.overwrite, multifile=self.multifile)
            self.save_config(trainer, pl_module, stage)
        self.already_saved = True

    def save_config(self, trainer, pl_module, stage: str) -> None:
        wandb_loggers = [logger for logger in trainer.loggers if isinstance(logger, WandbLogger)]
        if not wandb_loggers:
            return
        config = yaml.safe_load(self.parser.dump(self.config, skip_unset=False))
        names = {f"{part}_class": str((config.get(part) or {}).get("class_path", "")).rpartition(".")[2]
                 for part in ("model", "data")}
        for logger in wandb_loggers:
            logger.log_hyperparams({**names, "config": config})


def class_names(package, base: type) -> list[str]:
    """Short names of the classes ``package`` exports that the CLI accepts for ``base``."""
    exported = (getattr(package, name) for name in package.__all__)
    return sorted(obj.__name__ for obj in exported if isinstance(obj, type) and issubclass(obj, base) and obj is not base)


def check_argument_order(args: Sequence[str]) -> None:
    """``--model.lr 1e-3 --model AIM`` is one line saying that ``--model X`` comes first, not a parser dump.

    jsonargparse applies arguments in order, so ``--model X`` after ``--model.<arg>`` replaces the class the
    argument was given to. ``--model.help`` (the help of a class) is not a model argument.
    """
    for option in ("--model", "--data"):
        first_dotted = next((i for i, arg in enumerate(args) if arg.startswith(option + ".")
                             and not arg.startswith(option + ".help")), None)
        if first_dotted is None:
            continue
        for arg in args[first_dotted + 1:]:
            if arg == option or arg.startswith(option + "="):
                given = args[first_dotted].partition("=")[0]
                raise ConfigError(f"{option} X comes before {option}.<arg>: {given} is given before {option}; "
                                  f"put {option} first, e.g. {option} NAME {given} VALUE")


def check_class_names(args: Sequence[str]) -> None:
    """An unknown ``--model X`` / ``--data X`` gets the list of names, not jsonargparse's 60 lines."""
    check_argument_order(args)
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
        # last.ckpt only: an epoch checkpoint beside it would hold the same weights twice (the best
        # checkpoint, when --best_checkpoint picks one, is a hard link to last.ckpt when it is the same step)
        callbacks.LastCheckpoint(),
        callbacks.CheckpointOnInterrupt(),
        callbacks.MetricsSummary(),
    ]


# Lines that every run printed and no user can act on (issue 20 §3): matched by their exact text, so any
# other warning of Lightning, torch or wandb still shows.
QUIET_WARNINGS = (
    r"Starting from v1\.9\.0, `tensorboardX` has been removed",  # CSV is the default logger, as the README says
    r"You passed in a `val_dataloader` but have no `validation_step`",  # the zoo's callbacks evaluate the val split
    r"`max_epochs` was not set",  # --trainer.max_steps alone: Lightning's 1000-epoch cap is never reached first
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",  # Lightning's own use of torch's pytree, not ours
    # Lightning < 2.6 on epochs shorter than log_every_n_steps: the zoo logs every epoch's mean losses itself
    r"is smaller than the logging interval Trainer\(log_every_n_steps",
    r"No seed found, seed set to 0",  # Lightning < 2.6 with --seed_everything true; config.yaml records the seed
    # main(args) from Python (tests, reproduce's workers): the caller's sys.argv is not the run's
    r"LightningCLI's args parameter is intended to run from within Python",
)
QUIET_LOG_LINES = ("Tip: For seamless cloud",)  # Lightning's LitLogger / litmodels advertisements


class _DropLines(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(text in message for text in QUIET_LOG_LINES)


def quiet_third_party_notices() -> None:
    """Silence the notices of :data:`QUIET_WARNINGS` / :data:`QUIET_LOG_LINES`, and nothing else."""
    for pattern in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=f".*{pattern}")
    for name in ("lightning.pytorch", "lightning.fabric", "lightning.pytorch.utilities.rank_zero",
                 "lightning.fabric.utilities.rank_zero"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropLines) for f in logger.filters):
            logger.addFilter(_DropLines())
        for handler in logger.handlers:
            if not any(isinstance(f, _DropLines) for f in handler.filters):
                handler.addFilter(_DropLines())


def config_dir() -> Path | None:
    """The paper configs: the package ``gan_zoo_configs`` that ``pip install`` makes of ``configs/`` (in an
    editable install, ``configs/`` itself), else ``configs/`` beside this file (a checkout not installed)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("gan_zoo_configs")
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        if Path(location).is_dir():
            return Path(location)
    here = Path(__file__).resolve().parent / "configs"
    return here if here.is_dir() else None


def resolve_config_args(args: Sequence[str]) -> list[str]:
    """``--config aim/grid25`` (or ``aim/grid25.yaml``, ``configs/aim/grid25.yaml``) names a paper config
    when no such file exists from the working directory, so the installed ``gan-zoo`` finds them anywhere."""
    args = list(args)
    for i, arg in enumerate(args):
        if arg in ("--config", "-c") and i + 1 < len(args):
            index, value, prefix = i + 1, args[i + 1], ""
        elif arg.startswith("--config="):
            index, value, prefix = i, arg.partition("=")[2], "--config="
        else:
            continue
        found = find_config(value)
        if found is not None:
            args[index] = prefix + str(found)
    return args


def find_config(name: str) -> Path | None:
    """The packaged config ``name`` stands for, or None when ``name`` is a file (or names no config)."""
    if not name or name.lstrip().startswith(("{", "[")) or "\n" in name or Path(name).is_file():
        return None
    directory = config_dir()
    if directory is None:
        return None
    relative = name.removeprefix("configs/")
    for candidate in (relative, relative + ".yaml"):
        path = directory / candidate
        if path.is_file():
            return path
    return None


def main(args: Sequence[str] | None = None, run: bool = True) -> ZooCLI:
    torch.set_float32_matmul_precision("high")
    quiet_third_party_notices()
    check_class_names(sys.argv[1:] if args is None else args)
    if args is None:
        sys.argv[1:] = resolve_config_args(sys.argv[1:])
    else:
        args = resolve_config_args(args)
    threads = torch.get_num_threads()
    try:
        return ZooCLI(
            zoo.GenerativeModule,
            datamodules.ZooDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            trainer_defaults={"callbacks": default_callbacks()},
            save_config_callback=ZooSaveConfigCallback,
            save_config_kwargs={"overwrite": True},
            args=args,
            run=run,
        )
    finally:
        torch.set_num_threads(threads)  # --threads is the run's; a notebook or test process keeps its own


# ------------------------------------------------------------------------------------------ evaluate
def evaluate_parser():
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(prog="cli.py evaluate", description="Every metric of the papers on a checkpoint: "
                            "prints a table and writes JSON. Metrics: " + ", ".join(evaluation.METRICS))
    parser.add_argument("--ckpt_path", type=str, required=True, help="the checkpoint to evaluate")
    parser.add_subclass_arguments(datamodules.ZooDataModule, "data", required=False,
                                  help="the data to compare with (default: the run's, from the checkpoint)")
    parser.add_argument("--metrics", type=Optional[str], default=None,
                        help="comma-separated names (default: what applies, e.g. fid + recon_mse for images)")
    parser.add_argument("--num_samples", type=Optional[int], default=None,
                        help="generated samples per metric (default 10,000; 26,000 for stacked_modes, the VEEGAN / "
                             "PacGAN protocol); for fld, the images encoded (default: the whole --split)")
    parser.add_argument("--num_real", type=int, default=10_000, help="real images for FID / KID statistics")
    parser.add_argument("--split", type=str, default="test", help="real data split: train, val or test")
    parser.add_argument("--batch_size", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--inception_weights", type=Optional[str], default=None,
                        help=f"path of {fidelity.INCEPTION_FILE} for offline machines")
    parser.add_argument("--cache_dir", type=Optional[str], default=None, help="real-statistics cache")
    parser.add_argument("--device", type=str, default="auto", help="auto (GPU if available), cpu, cuda, ...")
    parser.add_argument("--out", type=Optional[str], default=None,
                        help="JSON file (default: <checkpoint>.evaluation.json)")
    return parser


def evaluate_command(args: Sequence[str]) -> dict:
    check_class_names(args)
    parser = evaluate_parser()
    config = parser.parse_args(with_checkpoint_data(args))
    device = ("cuda" if torch.cuda.is_available() else "cpu") if config.device == "auto" else config.device
    model = zoo.load_checkpoint(config.ckpt_path, map_location=device)
    if config.data is None:
        config.data = data_config_of(config.ckpt_path, parser)
    try:
        datamodule = parser.instantiate_classes(config).data
        names = [name.strip() for name in config.metrics.split(",")] if config.metrics else None
        settings = evaluation.EvaluationSettings(
            num_samples=config.num_samples, num_real=config.num_real, split=config.split,
            batch_size=config.batch_size, seed=config.seed, inception_weights=config.inception_weights,
            cache_dir=Path(config.cache_dir) if config.cache_dir else fidelity.default_cache_dir())
        datamodule.setup("fit" if config.split == "train" else "test")
        results = evaluation.evaluate(model, datamodule, names, settings)
    except ValueError as error:
        raise ConfigError(str(error)) from error
    report = {"checkpoint": str(Path(config.ckpt_path).resolve()), "model": type(model).__name__,
              "data": type(datamodule).__name__, "split": config.split,
              "num_samples": config.num_samples or evaluation.DEFAULT_NUM_SAMPLES,
              "seed": config.seed, **results}
    out = Path(config.out) if config.out else Path(config.ckpt_path).with_suffix(".evaluation.json")
    out.write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")
    scalars = {k: v for k, v in report.items() if not isinstance(v, dict)}  # ints print as ints: num_samples 10000
    print(callbacks.summary.format_table(scalars, title=str(out)))
    return report


def demo_command(args: Sequence[str]) -> list[Path]:
    """PNG grids of a checkpoint: samples, reconstructions and interpolations of real test images,
    posterior samples for stochastic encoders; 2-D data as scatter plots. Works on CPU."""
    check_class_names(args)
    parser = demo_parser()
    config = parser.parse_args(with_checkpoint_data(args))
    return run_demo(config, parser)


def demo_parser():
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(prog="cli.py demo", description=demo_command.__doc__)
    parser.add_argument("--ckpt_path", type=str, required=True)
    parser.add_subclass_arguments(datamodules.ZooDataModule, "data", required=False,
                                  help="real images to reconstruct (default: the run's data, from the checkpoint)")
    parser.add_argument("--out", type=str, default="demo", help="output folder")
    parser.add_argument("--num_samples", type=int, default=64)
    parser.add_argument("--num_real", type=int, default=32, help="real test images to reconstruct / interpolate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", type=str, default="auto")
    return parser


def run_demo(config, parser) -> list[Path]:
    device = ("cuda" if torch.cuda.is_available() else "cpu") if config.device == "auto" else config.device
    model = zoo.load_checkpoint(config.ckpt_path, map_location=device)
    real, centers = None, None
    if model.has_encoder or len(model.image_shape) == 1:
        if config.data is None:
            config.data = data_config_of(config.ckpt_path, parser)
        datamodule = parser.instantiate_classes(config).data
        datamodule.setup("test")
        real = torch.cat(list(fidelity.real_batches(datamodule, "test")))[: 2500 if len(model.image_shape) == 1
                                                                        else config.num_real]
        centers = getattr(datamodule, "centers", None)
    written = callbacks.images.write_demo(model, real, config.out, config.num_samples, seed=config.seed,
                                          centers=centers)
    for path in written:
        print(path)
    return written


def checkpoint_data(ckpt_path: str) -> dict:
    """The run's ``data`` section ({class_path, init_args}) as the CLI stored it in the checkpoint."""
    run_config = read_checkpoint(ckpt_path).get("zoo", {}).get("config")
    if not run_config:
        raise ConfigError(f"{ckpt_path} does not record its data (it was not trained through cli.py): "
                          "pass --data NAME and its options, e.g. --data MNIST --data.data_dir data")
    return yaml.safe_load(run_config).get("fit", {}).get("data")


def data_config_of(ckpt_path: str, parser) -> object:
    """The datamodule the checkpoint's run trained on (from the run config the CLI stored in it)."""
    from jsonargparse import ArgumentParser

    data_parser = ArgumentParser()
    data_parser.add_subclass_arguments(datamodules.ZooDataModule, "data")
    return data_parser.parse_object({"data": checkpoint_data(ckpt_path)}).data


def with_checkpoint_data(args: Sequence[str]) -> list[str]:
    """``--data.<arg> V`` without ``--data NAME`` changes the checkpoint's own datamodule (e.g. the data moved:
    ``evaluate --ckpt_path X --data.data_dir D``): its stored config goes in as ``--data`` before the first
    override. jsonargparse alone refuses such an option, as it does not know the class yet."""
    args = list(args)
    has_class = any(arg == "--data" or arg.startswith("--data=") for arg in args)
    first_override = next((i for i, arg in enumerate(args) if arg.startswith("--data.")), None)
    ckpt_path = next((args[i + 1] if arg == "--ckpt_path" and i + 1 < len(args) else arg.partition("=")[2]
                      for i, arg in enumerate(args) if arg == "--ckpt_path" or arg.startswith("--ckpt_path=")), None)
    if has_class or first_override is None or not ckpt_path:
        return args
    return args[:first_override] + ["--data", json.dumps(checkpoint_data(ckpt_path))] + args[first_override:]


def fetch_weights_command(args: Sequence[str]) -> None:
    """Download the Inception weights of FID / IS / KID into the torch hub cache (needs internet access)."""
    from jsonargparse import ArgumentParser

    ArgumentParser(prog="cli.py fetch-weights", description=f"{fetch_weights_command.__doc__} From "
                   f"{fidelity.INCEPTION_URL} to {fidelity.inception_cache_path()}.").parse_args(list(args))
    destination = fidelity.inception_cache_path()
    if destination.is_file():
        print(f"already there: {destination}")
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(fidelity.INCEPTION_URL, str(destination))
    except OSError as error:
        raise fidelity.InceptionWeightsError(fidelity.weights_help([destination]) + f" ({error})") from None
    print(f"saved {destination}")


def reproduce_command(args: Sequence[str]) -> int:
    """Train and evaluate a paper table over seeds, or render RESULTS.md (see reproduction/campaign.py)."""
    from reproduction import campaign

    return campaign.command(args)


def export_parser():
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(prog="cli.py export", description=export_command.__doc__)
    parser.add_argument("--ckpt_path", type=str, required=True, help="a checkpoint of a zoo run (last.ckpt, ...)")
    parser.add_argument("--out", type=str, required=True, help="the file to write, e.g. model.pt")
    return parser


def export_command(args: Sequence[str]) -> Path:
    """Write only what inference needs (the weights, the hyper-parameters, the model class and the zoo
    version) to a file to share: no optimiser states, loops or RNG states, so it is about a third of
    a training checkpoint with Adam. zoo.load_checkpoint(path_or_url) loads it."""
    config = export_parser().parse_args(list(args))
    out = zoo.export_checkpoint(config.ckpt_path, config.out)
    print(f"{out} ({out.stat().st_size / 2**20:.1f} MB): zoo.load_checkpoint({str(out)!r}) loads it")
    return out


# The zoo's commands beside Lightning's `fit`, with the one-line summaries `python cli.py --help` shows.
ZOO_COMMANDS = {
    "evaluate": (lambda args: evaluate_command(args), "Every metric of the papers on a checkpoint: a table and JSON."),
    "demo": (lambda args: demo_command(args), "PNG grids of a checkpoint: samples, reconstructions, interpolations."),
    "fetch-weights": (lambda args: fetch_weights_command(args), "Download the Inception weights of FID / IS / KID."),
    "reproduce": (lambda args: reproduce_command(args), "Train and evaluate a paper table over seeds; RESULTS.md."),
    "export": (lambda args: export_command(args), "A checkpoint slimmed to what inference needs, to share."),
}


# Failures whose message already says what is wrong and how to fix it: no traceback for these.
USER_ERRORS = (
    ConfigError,
    fidelity.InceptionWeightsError,
    CheckpointError,
    NonFiniteLossError,
    UnsupportedShapeError,
    datamodules.DataNotFoundError,
    datamodules.DataCorruptError,
    datamodules.BatchSizeError,
    datamodules.MissingExtraError,
    ReproduceError,
)
EXIT_USER_ERROR, EXIT_CTRL_C, EXIT_SIGTERM = 2, 130, 143


def run_command_line(args: Sequence[str] | None = None) -> int:
    """``main`` as a process: the exit status, with one ``error:`` line on stderr for user errors."""
    from_command_line = args is None
    args = list(sys.argv[1:] if args is None else args)
    quiet_third_party_notices()
    try:
        if args and args[0] in ZOO_COMMANDS:
            status = ZOO_COMMANDS[args[0]][0](args[1:])
            if isinstance(status, int) and not isinstance(status, bool):
                return status
        else:
            # Arguments from sys.argv: let LightningCLI read them there, as it expects (given them explicitly as
            # well, it warns that both were given).
            main(None if from_command_line else args)
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except SIGTERMException:  # CheckpointOnInterrupt has saved and said where
        return EXIT_CTRL_C if callbacks.CheckpointOnInterrupt.last_reason == "Ctrl-C" else EXIT_SIGTERM
    except Exception as error:
        message = wandb_failure(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(run_command_line())
