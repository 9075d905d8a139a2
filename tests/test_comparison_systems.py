"""The comparison systems of the grid and stacked-MNIST tables (zoo/baselines/unrolled.py, sngan.py, pacgan.py,
vaegan.py): each loss against its paper's formula on hand-made tensors, each optimiser moves only its own
networks, a short fit improves what it should, and each system's own mechanism (unrolled D steps, spectral
normalisation, packing, the three-way VAE/GAN update)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

import cli
from helpers import CENTERS, quiet_trainer, record_updates, toy_batches
from torch import nn
from torch.nn.utils import parametrize

from zoo import DCGAN, VAEGAN, PacGAN, SNGAN, UnrolledGAN
from zoo import losses
from zoo.nets import baseline_discriminator, feature_discriminator

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


# ---------------------------------------------------------------- VAEGAN (Larsen et al. 2016)
def test_vaegan_losses_are_larsen_et_als_formulas():
    model = VAEGAN(hidden_dim=8, gamma=0.5)
    # L_prior = KL(N(mu, sigma^2) || N(0, I)) = 1/2 sum (mu^2 + sigma^2 - log sigma^2 - 1): 2 - ln 2 and 2
    mean, log_variance = torch.tensor([[1.0, 0.0], [0.0, 2.0]]), torch.tensor([[0.0, math.log(4.0)], [0.0, 0.0]])
    assert model.prior_loss(mean, log_variance).item() == pytest.approx(2.0 - math.log(2.0) / 2)
    # L_llike^Dis_l = -log N(Dis_l(x) | Dis_l(x~), I) without its constant: 1/2 ||f - f~||^2 = 2 and 1.5
    tilde, real = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), torch.tensor([[1.0, 0.0, 3.0], [1.0, 1.0, 1.0]])
    assert model.feature_loss(tilde, real).item() == pytest.approx(1.75)
    nll = -torch.distributions.Normal(tilde, 1.0).log_prob(real).sum(1).mean() - 1.5 * math.log(2 * math.pi)
    assert model.feature_loss(tilde, real).item() == pytest.approx(nll.item())
    loss_e, terms = model.encoder_loss(mean, log_variance, tilde, real)
    assert loss_e.item() == pytest.approx(2.0 - math.log(2.0) / 2 + 1.75)
    assert set(terms) == {"prior_kl", "feature_nll"}
    # logits 0 and ln 3: D = 1/2 and 3/4
    half, three_quarters = torch.zeros(2, 1), torch.full((2, 1), math.log(3.0))
    # Dec: gamma L_llike - log D(x~) - log D(x_p) (non-saturating)
    assert model.decoder_loss(tilde, real, half, three_quarters).item() == pytest.approx(
        0.5 * 1.75 + math.log(2.0) + math.log(4.0 / 3.0))
    # Dis: -L_GAN = -log D(x) - log(1 - D(x~)) - log(1 - D(x_p)) = ln 2 + ln 2 + ln 4
    assert model.discriminator_loss(half, half, three_quarters).item() == pytest.approx(4 * math.log(2.0))


def test_vaegan_discriminator_is_the_baseline_d_with_its_feature_layer_exposed():
    x = torch.randn(5, 2)
    torch.manual_seed(0)
    baseline = baseline_discriminator((2,), 8)
    torch.manual_seed(0)
    split = feature_discriminator((2,), 8)
    trunk, head = split
    assert torch.equal(split(x), baseline(x)) and trunk(x).shape == (5, 8)  # Dis_l: AIM's trunk data -> h -> h
    images = VAEGAN(image_shape=(1, 28, 28))
    assert images.discriminator[0](torch.randn(2, 1, 28, 28)).shape == (2, 128, 7, 7)  # Table 4's conv stack


def test_vaegan_updates_encoder_generator_discriminator_each_only_its_own(monkeypatch):
    torch.manual_seed(0)
    model = VAEGAN(hidden_dim=8)
    records = record_updates(model, monkeypatch)
    quiet_trainer(max_steps=2).fit(model, train_dataloaders=toy_batches())
    assert [r["grads"] for r in records] == [{"encoder"}, {"generator"}, {"discriminator"}] * 2
    assert [r["moved"] for r in records] == [{"encoder"}, {"generator"}, {"discriminator"}] * 2
    assert [r["stray"] for r in records] == [set()] * 6
    assert all(p.requires_grad for p in model.parameters())


def test_vaegan_takes_the_three_gradients_of_algorithm_1_at_the_same_parameters(monkeypatch):
    """Each recorded gradient equals the one computed by hand on the initial networks: Enc's from L_prior +
    L_llike (no L_GAN), Dec's from gamma L_llike - L_GAN, Dis's from -L_GAN alone (no L_llike)."""
    torch.manual_seed(0)
    model = VAEGAN(hidden_dim=8, gamma=0.7)
    initial = VAEGAN(hidden_dim=8, gamma=0.7)
    initial.load_state_dict(model.state_dict())
    batches = toy_batches(n=16, batch_size=16)
    x = batches.tensors[0]  # the one batch (shuffled, but every loss is a batch mean and the noise is per batch)
    eps, z_prior = torch.tensor([[0.3, -0.7]]), torch.randn(16, 2)
    monkeypatch.setattr(VAEGAN, "reparameterise", staticmethod(lambda m, v: m + torch.exp(0.5 * v) * eps))
    monkeypatch.setattr(VAEGAN, "sample_prior", lambda self, n: z_prior)
    found = []
    original_update = VAEGAN.update

    def recording_update(self, optimizer, loss):
        original_update(self, optimizer, loss)
        found.append([p.grad.clone() for group in optimizer.param_groups for p in group["params"]])

    monkeypatch.setattr(VAEGAN, "update", recording_update)
    quiet_trainer(max_steps=1).fit(model, train_dataloaders=batches)

    e, g, d = initial.encoder, initial.generator, initial.discriminator
    mean, log_variance = e(x)
    z = mean + torch.exp(0.5 * log_variance) * eps
    target = d[0](x).detach()
    enc_loss = losses.standard_normal_kl(mean, log_variance) + losses.feature_gaussian_nll(d[0](g(z)), target)
    x_tilde, x_prior = g(z.detach()), g(z_prior)
    dec_loss = (0.7 * losses.feature_gaussian_nll(d[0](x_tilde), target)
                + losses.gan_generator_loss(d(x_tilde)) + losses.gan_generator_loss(d(x_prior)))
    dis_loss = losses.alpha_gan_discriminator_loss(d(x), d(x_tilde.detach()), d(x_prior.detach()))
    for grads, loss, net in zip(found, (enc_loss, dec_loss, dis_loss), (e, g, d)):
        expected = torch.autograd.grad(loss, list(net.parameters()))
        assert len(grads) == len(expected)
        assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(grads, expected))


def test_vaegan_encodes_reconstructs_and_samples():
    torch.manual_seed(0)
    for shape in [(2,), (1, 28, 28)]:
        model = VAEGAN(image_shape=shape, hidden_dim=8).train()
        x = torch.rand(4, *shape) * 2 - 1
        code = model.encode(x)
        assert code.shape == (4, model.latent_dim) and model.training  # no change of train/eval mode
        mean, log_variance = model.posterior(x)
        assert torch.equal(code, mean) and log_variance.shape == mean.shape
        assert model.reconstruct(x).shape == x.shape
        assert model.sample(3).shape == (3, *shape)
    assert VAEGAN.has_encoder


@pytest.mark.parametrize("kwargs", [{"gamma": -0.1}, {"gamma": float("nan")}, {"lr_e": 0.0}, {"lr_g": -1.0},
                                    {"lr_d": 0.0}, {"beta1": 1.0}, {"norm": "group"}, {"lr_decay": "cosine"},
                                    {"hidden_dim": 0}, {"latent_dim": 0}])
def test_vaegan_names_a_bad_argument(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        VAEGAN(**kwargs)


def test_vaegan_short_fit_reconstructs_and_moves_samples_onto_the_modes():
    torch.manual_seed(0)
    model = VAEGAN(hidden_dim=32, lr_e=3e-3, lr_g=3e-3, lr_d=3e-3)
    x = toy_batches(n=256).tensors[0]

    def reconstruction_error() -> float:
        return (model.reconstruct(x) - x).norm(dim=1).median().item()

    before, error_before = nearest_mode_distance(model), reconstruction_error()  # ~1.9 and ~2.0
    quiet_trainer(max_epochs=3).fit(model, train_dataloaders=toy_batches(n=3200, batch_size=64))  # ~0.26, ~0.2
    after, error_after = nearest_mode_distance(model), reconstruction_error()
    assert after < 0.5 * before, (before, after)
    assert error_after < 0.5 * error_before, (error_before, error_after)


# ---------------------------------------------------------------- command line
FAST_GRID = ["--data", "Grid25", "--data.num_train", "1000", "--data.num_val", "500", "--data.batch_size", "100"]


@pytest.mark.parametrize("name", ["UnrolledGAN", "SNGAN", "PacGAN", "VAEGAN"])
def test_cli_fits_the_system_on_grid25(name, tmp_path):
    cli.main(["fit", "--model", name, "--model.hidden_dim", "16", *FAST_GRID, "--trainer.max_steps", "2",
              "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(tmp_path / "runs")])
    metrics = json.loads((tmp_path / "runs" / "lightning_logs" / "version_0" / "metrics.json").read_text())
    assert metrics["model"] == name and metrics["status"] == "finished" and metrics["global_step"] == 2
    assert {"loss/discriminator", "loss/generator", "modes/captured"} <= set(metrics)
