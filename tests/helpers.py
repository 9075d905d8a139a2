"""What the model tests share: a quiet CPU Trainer, two-Gaussian toy data, parameter snapshots and a
recorder of what each ``update`` touches (the "each optimiser moves only its own networks" checks)."""

from __future__ import annotations

from collections.abc import Mapping

import lightning as L
import pytest
import torch
from torch import nn

from datamodules.base import TensorBatches

CENTERS = torch.tensor([[-2.0, 0.0], [2.0, 0.0]])


def quiet_trainer(**kwargs) -> L.Trainer:
    """A CPU Trainer without logger, checkpoints, progress bar or summary; ``kwargs`` override."""
    defaults = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                    accelerator="cpu")
    return L.Trainer(**{**defaults, **kwargs})


def toy_batches(n: int = 64, batch_size: int = 32, seed: int = 0) -> TensorBatches:
    """Two Gaussians of std 0.1 at (-2, 0) and (2, 0), with label 0, shuffled, last batch dropped."""
    generator = torch.Generator().manual_seed(seed)
    x = CENTERS[torch.randint(0, 2, (n,), generator=generator)] + 0.1 * torch.randn(n, 2, generator=generator)
    return TensorBatches((x, torch.zeros(n, dtype=torch.long)), batch_size, shuffle=True, drop_last=True)


def snapshot(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def moved(before: list[torch.Tensor], module: nn.Module) -> bool:
    return any(not torch.equal(b, p) for b, p in zip(before, module.parameters()))


def record_updates(model: nn.Module, monkeypatch: pytest.MonkeyPatch,
                   parts: Mapping[str, nn.Module] | None = None) -> list[dict[str, set[str]]]:
    """Record, for every ``update(optimizer, loss)`` call, which of ``parts`` (default: the model's
    children) ran forward since the previous update (``"ran"``), received a gradient (``"grads"``), moved
    (``"moved"``), and received a gradient on a parameter the optimiser does not own (``"stray"``: a
    network that should have been detached or frozen). Every part's gradients are cleared before each
    update, which changes nothing for the model: ``update`` clears its own before the backward."""
    parts = dict(model.named_children()) if parts is None else dict(parts)
    ran: set[str] = set()
    for name, net in parts.items():
        net.register_forward_hook(lambda module, args, output, name=name: ran.add(name))
    records: list[dict[str, set[str]]] = []
    original_update = type(model).update

    def recording_update(self, optimizer, loss):
        owned = {id(p) for group in optimizer.param_groups for p in group["params"]}
        for net in parts.values():
            net.zero_grad(set_to_none=True)
        before = {name: snapshot(net) for name, net in parts.items()}
        original_update(self, optimizer, loss)
        records.append({
            "ran": set(ran),
            "grads": {name for name, net in parts.items() if any(p.grad is not None for p in net.parameters())},
            "moved": {name for name, net in parts.items() if moved(before[name], net)},
            "stray": {name for name, net in parts.items()
                      if any(p.grad is not None and id(p) not in owned for p in net.parameters())},
        })
        ran.clear()

    monkeypatch.setattr(type(model), "update", recording_update)
    return records
