"""Each private Lightning attribute the zoo relies on still exists and means what the zoo assumes.

A Lightning release that renames one of them fails here, naming it, instead of silently changing what the
zoo does (see zoo/lightning_compat.py for why each one is needed).
"""

from __future__ import annotations

import inspect

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.strategies import DDPStrategy

import cli
from callbacks.checkpoints import BestCheckpoint, LastCheckpoint
from callbacks.progress import ThrottledProgressBar
from zoo import lightning_compat


def calls(owner: object, name: str) -> bool:
    return f"self.{name}(" in inspect.getsource(owner)


def test_the_logging_rule_is_the_logger_connectors():
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    assert isinstance(lightning_compat.logging_due(trainer), bool), "_LoggerConnector.should_update_logs"


def test_lightning_optimizer_counts_steps_through_its_two_hooks():
    optimizer = LightningOptimizer(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1))
    before, after = lightning_compat.step_counting_hooks(optimizer)
    assert callable(before) and callable(after), "LightningOptimizer._on_before_step / _on_after_step"
    assert calls(LightningOptimizer.step, "_on_before_step") and calls(LightningOptimizer.step, "_on_after_step")
    lightning_compat.set_step_counting_hooks(optimizer, after, before)
    assert lightning_compat.step_counting_hooks(optimizer) == (after, before)


def test_ddp_keyword_arguments_are_where_the_strategy_reads_them():
    strategy = DDPStrategy()
    lightning_compat.expect_unused_parameters(strategy)
    assert strategy._ddp_kwargs == {"find_unused_parameters": True}, "DDPStrategy._ddp_kwargs"
    chosen = DDPStrategy(find_unused_parameters=False)
    lightning_compat.expect_unused_parameters(chosen)
    assert chosen._ddp_kwargs["find_unused_parameters"] is False  # the user's choice is kept
    assert "self._ddp_kwargs" in inspect.getsource(DDPStrategy._setup_model), "DDPStrategy._setup_model"


def test_the_progress_bar_keeps_leave_and_routes_redraws_through_should_update():
    assert lightning_compat.progress_bar_leave(TQDMProgressBar(leave=True)) is True, "TQDMProgressBar._leave"
    # ThrottledProgressBar overrides the redraw rule; Lightning's other bar hooks must still call it.
    assert calls(TQDMProgressBar.on_validation_batch_end, "_should_update"), "TQDMProgressBar._should_update"
    assert list(inspect.signature(TQDMProgressBar._should_update).parameters) == \
        list(inspect.signature(ThrottledProgressBar._should_update).parameters)


def test_lightning_cli_still_parses_the_resume_checkpoint_in_the_overridden_method():
    assert hasattr(LightningCLI, "_parse_ckpt_path"), "LightningCLI._parse_ckpt_path"
    assert calls(LightningCLI.__init__, "_parse_ckpt_path"), "LightningCLI.__init__ no longer calls _parse_ckpt_path"
    assert cli.ZooCLI._parse_ckpt_path is not LightningCLI._parse_ckpt_path


def test_model_checkpoint_internals_the_zoos_checkpoints_build_on():
    checkpoint = ModelCheckpoint(save_last=True, save_top_k=0)
    for name in ("_last_global_step_saved", "_last_checkpoint_saved", "_every_n_epochs"):
        assert hasattr(checkpoint, name), f"ModelCheckpoint.{name}"
    for name in ("_save_checkpoint", "_save_last_checkpoint", "_monitor_candidates",
                 "_should_skip_saving_checkpoint", "_should_save_on_train_epoch_end"):
        assert callable(getattr(ModelCheckpoint, name, None)), f"ModelCheckpoint.{name}"
    # BestCheckpoint overrides _save_checkpoint: every save of ModelCheckpoint must go through it.
    assert calls(ModelCheckpoint, "_save_checkpoint"), "ModelCheckpoint._save_checkpoint"
    assert issubclass(BestCheckpoint, ModelCheckpoint) and issubclass(LastCheckpoint, ModelCheckpoint)


def test_wandb_logger_settings_before_its_run_starts(tmp_path):
    pytest.importorskip("wandb")
    logger = WandbLogger(offline=True, save_dir=str(tmp_path), project="compat")
    assert lightning_compat.wandb_started(logger) is False, "WandbLogger._experiment"
    assert lightning_compat.wandb_offline(logger) is True, "WandbLogger._offline"
    settings = lightning_compat.wandb_init_settings(logger)
    assert isinstance(settings, dict) and settings.get("project") == "compat", "WandbLogger._wandb_init"
    assert lightning_compat.wandb_save_dir(logger) == str(tmp_path), "WandbLogger._save_dir"
    lightning_compat.set_wandb_save_dir(logger, "elsewhere")
    assert logger.save_dir == "elsewhere"  # the public property reads what the zoo set
