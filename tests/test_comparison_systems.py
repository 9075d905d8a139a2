"""The comparison systems of the grid and stacked-MNIST tables (zoo/baselines/unrolled.py, sngan.py, pacgan.py,
vaegan.py): each loss against its paper's formula on hand-made tensors, each optimiser moves only its own
networks, a short fit improves what it should, and each system's own mechanism (unrolled D steps, spectral
normalisation, packing, the three-way VAE/GAN update)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import cli
from helpers import CENTERS, quiet_trainer, record_updates, toy_batches
from torch import nn
from torch.nn.utils import parametrize

from zoo import DCGAN, PacGAN, SNGAN, UnrolledGAN
from zoo import losses

ROOT = Path(__file__).resolve().parents[1]


def nearest_mode_distance(model) -> float:
    """Median distance of 2,000 samples to their nearest mode of ``CENTERS``."""
    with torch.no_grad():
        torch.manual_seed(1)
        samples = model.sample(2000)
    return torch.cdist(samples, CENTERS).min(dim=1).values.median().item()


# ---------------------------------------------------------------- UnrolledGAN (Metz et al. 2017)
def generator_gradient(model, x: torch.Tensor, z: torch.Tensor) -> list[torch.Tensor]:
    model.zero_grad(set_to_none=True)
    model.unrolled_generator_loss(x, model.generator(z)).backward()
    assert all(p.grad is None for p in model.discriminator.parameters())  # D gets nothing from G's loss
    return [p.grad.clone() for p in model.generator.parameters()]


def test_unrolled_gan_with_k_0_has_the_plain_gans_generator_gradient_and_k_above_0_another():
    torch.manual_seed(0)
    x, z = torch.randn(16, 2), torch.randn(16, 2)
    unrolled = UnrolledGAN(hidden_dim=8, unroll_steps=0)
    plain = DCGAN(hidden_dim=8)
    plain.load_state_dict(unrolled.state_dict())
    plain.zero_grad(set_to_none=True)
    losses.gan_generator_loss(plain.discriminator(plain.generator(z))).backward()
    expected = [p.grad for p in plain.generator.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(generator_gradient(unrolled, x, z), expected))

    unrolled.unroll_steps, unrolled.unroll_lr = 3, 0.5
    found = generator_gradient(unrolled, x, z)
    assert any(not torch.allclose(a, b, atol=1e-6) for a, b in zip(found, expected))
    # theta_D^K really depends on G: dropping that dependence (detached fakes in the unrolled steps) changes it
    state = unrolled.unrolled_discriminator_parameters(x, unrolled.generator(z).detach())
    unrolled.zero_grad(set_to_none=True)
    fake = unrolled.generator(z)
    loss = losses.gan_generator_loss(torch.func.functional_call(unrolled.discriminator, state, (fake,)))
    loss.backward()
    through_d_only = [p.grad for p in unrolled.generator.parameters()]
    assert any(not torch.allclose(a, b, atol=1e-6) for a, b in zip(found, through_d_only))


def test_unrolled_steps_are_sgd_on_ds_loss():
    """theta_D^1 = theta_D - eta dL_D/dtheta_D for one step (their eq. 5 with SGD)."""
    torch.manual_seed(0)
    model = UnrolledGAN(hidden_dim=8, unroll_steps=1, unroll_lr=0.1)
    x, fake = torch.randn(8, 2), torch.randn(8, 2)
    loss = losses.gan_discriminator_loss(model.discriminator(x), model.discriminator(fake))
    grads = torch.autograd.grad(loss, list(model.discriminator.parameters()))
    state = model.unrolled_discriminator_parameters(x, fake)
    for (name, p), g in zip(model.discriminator.named_parameters(), grads):
        assert torch.allclose(state[name], p - 0.1 * g, atol=1e-7)


def test_unrolled_gan_updates_g_then_d_and_each_only_its_own(monkeypatch):
    torch.manual_seed(0)
    model = UnrolledGAN(hidden_dim=8, unroll_steps=2)
    records = record_updates(model, monkeypatch)
    trainer = quiet_trainer(max_steps=2)
    trainer.fit(model, train_dataloaders=toy_batches())
    assert [r["moved"] for r in records] == [{"generator"}, {"discriminator"}] * 2
    assert [r["stray"] for r in records] == [set()] * 4
    assert trainer.global_step == 2 and all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("kwargs", [{"unroll_steps": -1}, {"unroll_steps": 1.5}, {"unroll_lr": 0.0}])
def test_unrolled_gan_names_a_bad_argument(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        UnrolledGAN(**kwargs)


def test_unrolled_gan_short_fit_moves_samples_onto_the_modes():
    torch.manual_seed(0)
    model = UnrolledGAN(hidden_dim=32, lr_d=3e-3, lr_g=3e-3, unroll_steps=2)
    before = nearest_mode_distance(model)  # ~1.9; after ~0.1 (simultaneous updates: slower than DCGAN's 2 epochs)
    quiet_trainer(max_epochs=4).fit(model, train_dataloaders=toy_batches(n=3200, batch_size=64))
    after = nearest_mode_distance(model)
    assert after < 0.5 * before, (before, after)


def test_unrolled_gan_leaves_ds_batchnorm_statistics_to_ds_own_forwards():
    torch.manual_seed(0)
    model = UnrolledGAN(image_shape=(1, 28, 28), unroll_steps=2)
    x, fake = torch.rand(4, 1, 28, 28) * 2 - 1, torch.rand(4, 1, 28, 28) * 2 - 1
    before = {name: b.clone() for name, b in model.discriminator.named_buffers()}
    model.unrolled_discriminator_parameters(x, fake)
    assert all(torch.equal(b, before[name]) for name, b in model.discriminator.named_buffers())


# ---------------------------------------------------------------- SNGAN (Miyato et al. 2018)
def test_sngan_uses_the_hinge_loss_of_miyato_et_al():
    real, fake = torch.tensor([0.5, 2.0, -1.0]), torch.tensor([-2.0, 0.0, 0.5])
    loss_d = (0.5 + 0.0 + 2.0) / 3 + (0.0 + 1.0 + 1.5) / 3  # E max(0, 1 - D(x)) + E max(0, 1 + D(G(z)))
    model = SNGAN(hidden_dim=8)
    assert model.discriminator_loss(real, fake).item() == pytest.approx(loss_d)
    assert model.generator_loss(fake).item() == pytest.approx(0.5)  # -E D(G(z))


@pytest.mark.parametrize("shape", [(2,), (1, 28, 28)], ids=["toy", "28x28"])
def test_sngan_normalises_every_layer_of_d_to_spectral_norm_one(shape):
    torch.manual_seed(0)
    model = SNGAN(image_shape=shape, hidden_dim=8)
    layers = [m for m in model.discriminator.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)
    assert not any(parametrize.is_parametrized(m) for m in model.generator.modules())
    assert not any(isinstance(m, nn.BatchNorm2d | nn.GroupNorm) for m in model.discriminator.modules())
    x = torch.randn(4, *shape)
    for _ in range(30):  # power iterations (one per training forward)
        model.discriminator(x)
    for layer in layers:
        sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, rel=1e-2)


def test_sngan_updates_d_then_g_and_each_only_its_own(monkeypatch):
    torch.manual_seed(0)
    model = SNGAN(hidden_dim=8)
    records = record_updates(model, monkeypatch)
    quiet_trainer(max_steps=2).fit(model, train_dataloaders=toy_batches())
    assert [r["moved"] for r in records] == [{"discriminator"}, {"generator"}] * 2
    assert [r["stray"] for r in records] == [set()] * 4


def test_sngan_short_fit_moves_samples_onto_the_modes():
    torch.manual_seed(0)
    model = SNGAN(hidden_dim=32, lr_d=3e-3, lr_g=3e-3)
    before = nearest_mode_distance(model)
    quiet_trainer(max_epochs=2).fit(model, train_dataloaders=toy_batches(n=3200, batch_size=64))
    after = nearest_mode_distance(model)
    assert after < 0.5 * before, (before, after)


def test_sngan_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = SNGAN(hidden_dim=8)
    trainer = quiet_trainer(max_steps=2, default_root_dir=tmp_path)
    trainer.fit(model, train_dataloaders=toy_batches())
    trainer.save_checkpoint(tmp_path / "sngan.ckpt")
    loaded = SNGAN.load_from_checkpoint(tmp_path / "sngan.ckpt", map_location="cpu").eval()
    z = torch.randn(8, 2)
    assert torch.equal(loaded.generate(z), model.eval().generate(z))
    x = torch.randn(8, 2)
    assert torch.equal(loaded.discriminator(x), model.discriminator(x))  # u, v of the power iteration restored


# ---------------------------------------------------------------- PacGAN (Lin et al. 2018)
@pytest.mark.parametrize("shape, packing", [((2,), 2), ((2,), 3), ((3, 28, 28), 4)])
def test_pacgan_discriminator_input_holds_m_distinct_samples(shape, packing):
    torch.manual_seed(0)
    model = PacGAN(image_shape=shape, hidden_dim=8, packing=packing)
    first = next(m for m in model.discriminator.modules() if isinstance(m, nn.Linear | nn.Conv2d))
    assert (first.in_features if isinstance(first, nn.Linear) else first.in_channels) == packing * shape[0]
    seen: list[torch.Tensor] = []
    model.discriminator.network.register_forward_hook(lambda module, args, output: seen.append(args[0]))
    x = torch.randn(2 * packing, *shape)
    assert model.discriminator(x).shape == (2, 1)
    (packed,) = seen
    assert packed.shape == (2, packing * shape[0], *shape[1:])
    for i in range(2):
        samples = packed[i].reshape(packing, *shape)  # the m samples of pack i, in order
        assert torch.equal(samples, x[i * packing:(i + 1) * packing])
        assert all(not torch.equal(samples[a], samples[b]) for a in range(packing) for b in range(a))


def test_pacgan_packs_fresh_fakes_in_training_and_says_when_the_batch_does_not_divide(monkeypatch):
    torch.manual_seed(0)
    model = PacGAN(hidden_dim=8, packing=4)
    seen: list[torch.Tensor] = []
    model.discriminator.network.register_forward_hook(lambda module, args, output: seen.append(args[0].detach()))
    quiet_trainer(max_steps=1).fit(model, train_dataloaders=toy_batches(n=32, batch_size=32))
    assert [t.shape for t in seen] == [(8, 8)] * 3  # D step: real, fake; G step: fake
    for packs in seen:
        samples = packs.reshape(8, 4, 2)
        assert (torch.cdist(samples, samples) + torch.eye(4) > 1e-6).all()  # 4 distinct samples per pack
    with pytest.raises(ValueError, match="multiple of 4.*batch of 6"):
        model.discriminator(torch.randn(6, 2))
    with pytest.raises(ValueError, match="packing"):
        PacGAN(packing=0)


def test_pacgan_updates_d_then_g_and_each_only_its_own(monkeypatch):
    torch.manual_seed(0)
    model = PacGAN(hidden_dim=8)
    records = record_updates(model, monkeypatch)
    quiet_trainer(max_steps=2).fit(model, train_dataloaders=toy_batches())
    assert [r["moved"] for r in records] == [{"discriminator"}, {"generator"}] * 2
    assert [r["stray"] for r in records] == [set()] * 4


def test_pacgan_short_fit_moves_samples_onto_the_modes():
    torch.manual_seed(0)
    model = PacGAN(hidden_dim=32, lr_d=3e-3, lr_g=3e-3)
    before = nearest_mode_distance(model)  # ~1.9; ~0.27 after 4 epochs (half as many D scores per batch as DCGAN)
    quiet_trainer(max_epochs=4).fit(model, train_dataloaders=toy_batches(n=3200, batch_size=64))
    after = nearest_mode_distance(model)
    assert after < 0.5 * before, (before, after)


# ---------------------------------------------------------------- command line
FAST_GRID = ["--data", "Grid25", "--data.num_train", "1000", "--data.num_val", "500", "--data.batch_size", "100"]


@pytest.mark.parametrize("name", ["UnrolledGAN", "SNGAN", "PacGAN"])
def test_cli_fits_the_system_on_grid25(name, tmp_path):
    cli.main(["fit", "--model", name, "--model.hidden_dim", "16", *FAST_GRID, "--trainer.max_steps", "2",
              "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(tmp_path / "runs")])
    metrics = json.loads((tmp_path / "runs" / "lightning_logs" / "version_0" / "metrics.json").read_text())
    assert metrics["model"] == name and metrics["status"] == "finished" and metrics["global_step"] == 2
    assert {"loss/discriminator", "loss/generator", "modes/captured"} <= set(metrics)
