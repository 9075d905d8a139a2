"""The zoo's command line: any model x any datamodule, through LightningCLI.

    python cli.py fit --model AIM --data Grid25
    python cli.py fit --config configs/aim/grid25.yaml
    python cli.py fit --model AIM --data CIFAR10 --data.image_size 64 --model.lam 0.05
    python cli.py fit --model AIM --data MNIST --print_config

Model and datamodule classes are chosen by their short names (every subclass of
``zoo.GenerativeModule`` and ``datamodules.ZooDataModule``). The datamodule's ``image_shape`` is
linked into the model, so one model class builds the right networks for every dataset.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningCLI

import callbacks
import datamodules
import zoo
from zoo.nets import UnsupportedShapeError


class ZooCLI(LightningCLI):
    """LightningCLI with the data -> model shape link and the zoo's default callbacks."""

    def add_arguments_to_parser(self, parser) -> None:
        parser.link_arguments("data.image_shape", "model.init_args.image_shape", apply_on="instantiate")

    def before_fit(self) -> None:
        # Mode counting is only defined on mixtures with known modes (aim.txt §5.3).
        has_modes = hasattr(self.datamodule, "centers") and hasattr(self.datamodule, "std")
        already = any(isinstance(cb, callbacks.ModeCounting) for cb in self.trainer.callbacks)
        if has_modes and not already:
            self.trainer.callbacks.insert(0, callbacks.ModeCounting())


def default_callbacks() -> list:
    return [
        callbacks.SamplePanels(),
        callbacks.ReconstructionMSE(),
        ModelCheckpoint(save_last=True),
        callbacks.MetricsSummary(),
    ]


def main(args: Sequence[str] | None = None, run: bool = True) -> ZooCLI:
    torch.set_float32_matmul_precision("high")
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
USER_ERRORS = (datamodules.DataNotFoundError, UnsupportedShapeError)

if __name__ == "__main__":
    try:
        main()
    except USER_ERRORS as error:
        sys.exit(f"error: {error}")
