"""GAN baselines DCGAN, LSGAN, WGANGP (zoo/baselines/gan.py) and MRGAN (zoo/baselines/mrgan.py): losses
against the papers' formulas, networks (ivgan.txt Table 4, and alpha_gan.txt H.4 with ``networks="alpha_gan"``),
update ownership and order, training, checkpoints, precision, CLI and the configs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

import cli
from datamodules.base import TensorBatches
from test_datamodules import mnist_root  # noqa: F401  (fixture writing genuine MNIST IDX files)
from helpers import CENTERS, quiet_trainer, record_updates, toy_batches
from zoo import AIM, DCGAN, IVLSGAN, LSGAN, MRGAN, SNGAN, WGANGP, AlphaGAN, PacGAN, UnrolledGAN
from zoo import losses
from zoo.baselines.gan import NETWORKS, TwoPlayerGAN
from zoo.nets import UnsupportedShapeError, alpha_gan_nets, baseline_discriminator, count_parameters

ROOT = Path(__file__).resolve().parents[1]
TWO_PLAYER = [DCGAN, LSGAN, WGANGP]
ALL = [DCGAN, LSGAN, WGANGP, MRGAN]


def sigmoid(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


# ---------------------------------------------------------------- losses on hand-made tensors
def test_dcgan_uses_the_binary_cross_entropy_and_the_non_saturating_generator_loss():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 0.5])
    loss_d = -(math.log(sigmoid(0.0)) + math.log(sigmoid(2.0))) / 2 - (
        math.log(1 - sigmoid(-1.0)) + math.log(1 - sigmoid(0.5))) / 2
    loss_g = -(math.log(sigmoid(-1.0)) + math.log(sigmoid(0.5))) / 2  # -log D(G(z)), not log(1 - D(G(z)))
    model = DCGAN(hidden_dim=8)
    assert model.discriminator_loss(real, fake).item() == pytest.approx(loss_d, rel=1e-6)
    assert model.generator_loss(fake).item() == pytest.approx(loss_g, rel=1e-6)


def test_lsgan_uses_the_least_squares_of_mao_et_al():
    real, fake = torch.tensor([0.5, 2.0]), torch.tensor([0.0, -1.0])
    loss_d = 0.5 * ((0.5 - 1) ** 2 + (2.0 - 1) ** 2) / 2 + 0.5 * (0.0 ** 2 + 1.0 ** 2) / 2  # a = 0, b = 1
    loss_g = 0.5 * ((0.0 - 1) ** 2 + (-1.0 - 1) ** 2) / 2  # c = 1
    model = LSGAN(hidden_dim=8)
    assert model.discriminator_loss(real, fake).item() == pytest.approx(loss_d, rel=1e-6)
    assert model.generator_loss(fake).item() == pytest.approx(loss_g, rel=1e-6)


def test_wasserstein_losses_are_gulrajani_algorithm_1():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.5]).bfloat16()
    assert losses.wasserstein_critic_loss(real, fake).item() == pytest.approx((-2.0 + 0.5) / 2 - (1.0 + 3.0) / 2)
    assert losses.wasserstein_generator_loss(fake).item() == pytest.approx(0.75)
    assert losses.wasserstein_critic_loss(real, fake).dtype == torch.float32
    model = WGANGP(hidden_dim=8)
    assert model.discriminator_loss(real, fake).item() == pytest.approx(-2.75)
    assert model.generator_loss(fake).item() == pytest.approx(0.75)


def test_gradient_penalty_of_a_linear_critic_is_known_and_reaches_its_weights():
    """D(x) = w.x + b has input gradient w everywhere: penalty (||w|| - 1)^2 = (5 - 1)^2 = 16 for
    w = (3, 4), whatever the interpolation; its gradient in w is 2 (||w|| - 1) w / ||w|| (create_graph)."""
    critic = nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 4.0]]))
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    penalty = losses.gradient_penalty(critic, real, fake)
    assert penalty.item() == pytest.approx(16.0, rel=1e-6)
    penalty.backward()
    assert torch.allclose(critic.weight.grad, torch.tensor([[4.8, 6.4]]))
    assert critic.bias.grad is None or critic.bias.grad.abs().max() == 0


def test_gradient_penalty_interpolates_per_sample_and_takes_the_norm_over_the_whole_sample():
    """D(x) = 1/2 ||x||^2 has gradient x: penalty = mean_j (||x^_j|| - 1)^2, x^_j = e_j x_j + (1 - e_j) x~_j."""
    real = torch.tensor([[[[2.0, 0.0], [0.0, 0.0]]], [[[0.0, 0.0], [3.0, 4.0]]]])  # (2, 1, 2, 2) 'images'
    fake = torch.zeros_like(real)
    epsilon = torch.tensor([0.5, 0.2])
    # x^_1 = (1, 0, 0, 0): norm 1 -> 0; x^_2 = (0, 0, 0.6, 0.8): norm 1 -> 0; then move fake to break it
    assert losses.gradient_penalty(lambda x: 0.5 * x.pow(2).flatten(1).sum(1), real, fake, epsilon).item() == \
        pytest.approx(0.0, abs=1e-7)
    fake = torch.full_like(real, 1.0)
    x_hat = epsilon.reshape(2, 1, 1, 1) * real + (1 - epsilon.reshape(2, 1, 1, 1)) * fake
    expected = ((x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean().item()  # (1.5 x 4 ... ) by hand below
    by_hand = ((math.sqrt(1.5 ** 2 + 3 * 0.5 ** 2) - 1) ** 2 + (math.sqrt(2 * 0.8 ** 2 + 1.4 ** 2 + 1.6 ** 2) - 1) ** 2) / 2
    assert expected == pytest.approx(by_hand)
    assert losses.gradient_penalty(lambda x: 0.5 * x.pow(2).flatten(1).sum(1), real, fake, epsilon).item() == \
        pytest.approx(by_hand, rel=1e-6)


def test_gradient_penalty_is_float32_under_bf16_autocast():
    critic = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    epsilon = torch.rand(8)
    reference = losses.gradient_penalty(critic, real, fake, epsilon)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_autocast = losses.gradient_penalty(critic, real.bfloat16(), fake.bfloat16(), epsilon)
    assert under_autocast.dtype == torch.float32
    # inputs rounded to bf16, the critic evaluated in float32: close to the float32 value
    assert under_autocast.item() == pytest.approx(reference.item(), rel=2e-2)
    with pytest.raises(ValueError, match="shape"):
        losses.gradient_penalty(critic, real, fake[:4])


def test_mrgan_manifold_loss_is_lam1_l2_minus_lam2_log_d():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    x_rec = torch.tensor([[1.5, 2.0], [2.0, 4.0]])
    logits = torch.tensor([0.0, 1.0])
    l2 = (0.25 + 0.0 + 1.0 + 0.0) / 4  # ||x - G(E(x))||^2 per element, batch mean
    assert losses.l2_reconstruction(x_rec, x).item() == pytest.approx(l2)
    model = MRGAN(hidden_dim=8, lam1=0.3, lam2=0.7)
    minus_log_d = -(math.log(sigmoid(0.0)) + math.log(sigmoid(1.0))) / 2
    assert model.manifold_loss(x, x_rec, logits).item() == pytest.approx(0.3 * l2 + 0.7 * minus_log_d, rel=1e-6)
    assert model.diffusion_loss(logits).item() == pytest.approx(minus_log_d, rel=1e-6)
    with pytest.raises(ValueError, match="shape"):
        losses.l2_reconstruction(x_rec[:1], x)


# ---------------------------------------------------------------- networks
def test_toy_networks_are_aims():
    """Vector data: G and D have exactly the layer sizes of AIM's toy nets (aim.txt Table 2 comparison)."""
    aim = AIM(image_shape=(2,), latent_dim=2)
    for cls in ALL:
        model = cls(image_shape=(2,), latent_dim=2)
        assert [p.shape for p in model.generator.parameters()] == [p.shape for p in aim.generator.parameters()]
        discriminator = model.manifold_discriminator if cls is MRGAN else model.discriminator
        aim_d = [*aim.features.parameters(), *aim.critic_head.parameters()]
        assert [p.shape for p in discriminator.parameters()] == [p.shape for p in aim_d]
        assert not any(isinstance(m, nn.BatchNorm1d | nn.LayerNorm | nn.GroupNorm) for m in discriminator.modules())
    mrgan = MRGAN(image_shape=(2,), latent_dim=2)
    assert [p.shape for p in mrgan.encoder.parameters()] == [(128, 2), (128,), (128, 128), (128,), (128, 128),
                                                             (128,), (2, 128), (2,)]
    assert count_parameters(mrgan.diffusion_discriminator) == count_parameters(mrgan.manifold_discriminator)


def test_image_networks_are_ivgan_table_4():
    ivgan = IVLSGAN(image_shape=(3, 64, 64))
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    models = {cls: cls(image_shape=(3, 64, 64)).eval() for cls in ALL}
    for cls, model in models.items():
        assert model.latent_dim == 100  # ivgan.txt §4
        assert [p.shape for p in model.generator.parameters()] == [p.shape for p in ivgan.generator.parameters()]
        discriminators = [model.manifold_discriminator, model.diffusion_discriminator] if cls is MRGAN \
            else [model.discriminator]
        for d in discriminators:
            trunk, head = d
            assert trunk(x).shape == (2, 512, 4, 4) and d(x).shape == (2, 1)
            convs = [m for m in trunk if isinstance(m, nn.Conv2d)]
            assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [
                (64, (4, 4), (2, 2)), (128, (4, 4), (2, 2)), (256, (4, 4), (2, 2)), (512, (4, 4), (2, 2))]
            if cls is WGANGP:  # no BatchNorm in the critic; layer norm over (C, H, W) instead
                assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
                norms = [m for m in trunk if isinstance(m, nn.GroupNorm)]
                assert [(m.num_groups, m.num_channels) for m in norms] == [(1, 64), (1, 128), (1, 256), (1, 512)]
            else:  # Table 4 exactly: the IVGAN trunk and adversarial head
                assert [p.shape for p in d.parameters()] == [
                    p.shape for p in [*ivgan.trunk.parameters(), *ivgan.adversarial_head.parameters()]]
                assert sum(isinstance(m, nn.BatchNorm2d) for m in trunk) == 4
    mrgan = models[MRGAN]
    assert [p.shape for p in mrgan.encoder.parameters()] == [p.shape for p in ivgan.encoder.parameters()]
    assert mrgan.encode(x).shape == (2, 100) and mrgan.reconstruct(x).shape == (2, 3, 64, 64)
    assert isinstance(models[WGANGP].generator[2], nn.BatchNorm2d)  # G keeps Table 4's BN


def test_layer_norm_critic_treats_samples_independently():
    critic = baseline_discriminator((1, 28, 28), norm="layer").eval()
    x = torch.randn(4, 1, 28, 28)
    assert torch.allclose(critic(x)[:1], critic(x[:1]), atol=1e-6)
    assert all(isinstance(m, nn.Conv2d) and m.bias is not None for m in critic[0] if isinstance(m, nn.Conv2d))
    none = baseline_discriminator((3, 32, 32), norm="none")
    assert not any(isinstance(m, nn.BatchNorm2d | nn.GroupNorm) for m in none.modules())


def test_unsupported_shapes_list_the_supported_ones():
    for cls in ALL:
        with pytest.raises(UnsupportedShapeError, match=r"\(D,\).*\(C, 64, 64\).*\(C, 32, 32\).*\(C, 28, 28\)"):
            cls(image_shape=(3, 48, 48))


# ---------------------------------------------------------------- hyper-parameters
@pytest.mark.parametrize("cls, kwargs, name", [
    *[(cls, kwargs, name) for cls in TWO_PLAYER for kwargs, name in [
        ({"lr_d": 0.0}, "lr_d"), ({"lr_g": -1.0}, "lr_g"), ({"beta1": 1.0}, "beta1"), ({"beta2": -0.1}, "beta2"),
        ({"norm": "group"}, "norm"), ({"lr_decay": "cosine"}, "lr_decay"), ({"hidden_dim": 0}, "hidden_dim"),
        ({"latent_dim": 0}, "latent_dim"), ({"image_shape": ()}, "image_shape")]],
    (WGANGP, {"gp_weight": -1.0}, "gp_weight"), (WGANGP, {"critic_steps": 0}, "critic_steps"),
    (WGANGP, {"critic_steps": 1.5}, "critic_steps"), (WGANGP, {"norm": "batch"}, "norm"),
    *[(cls, {"networks": "dcgan"}, "networks") for cls in TWO_PLAYER],
    (WGANGP, {"networks": "alpha_gan", "norm": "batch"}, "norm"),
    (DCGAN, {"generator_updates": 0}, "generator_updates"), (DCGAN, {"generator_updates": 1.5}, "generator_updates"),
    (DCGAN, {"discriminator_dropout": 1.0, "networks": "alpha_gan", "image_shape": (1, 28, 28)},
     "discriminator_dropout"),
    (DCGAN, {"discriminator_dropout": 0.2}, "discriminator_dropout"),  # ivgan networks: no Table 3 dropout
    (DCGAN, {"discriminator_dropout": 0.2, "networks": "alpha_gan"}, "discriminator_dropout"),  # vectors: no conv
    (MRGAN, {"lam1": -0.1}, "lam1"), (MRGAN, {"lam2": -0.1}, "lam2"), (MRGAN, {"lr_d": 0.0}, "lr_d"),
    (MRGAN, {"lr_g": 0.0}, "lr_g"), (MRGAN, {"lr_e": -1.0}, "lr_e"), (MRGAN, {"beta2": 1.0}, "beta2"),
    (MRGAN, {"diffusion_real": "noise"}, "diffusion_real"), (MRGAN, {"lr_decay": "step"}, "lr_decay"),
    (MRGAN, {"hidden_dim": -2}, "hidden_dim"), (MRGAN, {"latent_dim": 0}, "latent_dim")])
def test_bad_hyper_parameters_name_the_argument(cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        cls(**{"image_shape": (2,), **kwargs})


def test_a_bad_networks_value_lists_the_choices():
    assert NETWORKS == ("ivgan", "alpha_gan")
    for cls in TWO_PLAYER:
        with pytest.raises(ValueError, match=r"networks must be one of \('ivgan', 'alpha_gan'\), got 'alpha-gan'"):
            cls(image_shape=(1, 28, 28), networks="alpha-gan")


def test_the_shared_base_is_not_a_model():
    with pytest.raises(TypeError, match="--model DCGAN"):
        TwoPlayerGAN((2,), None, 1e-4, 1e-4, 0.5, 0.999, "batch", "none", 8)


def test_defaults_are_ivgan_table_5_and_the_papers():
    expected = {DCGAN: (1e-4, 1e-4, 0.5, 0.999), LSGAN: (2e-4, 2e-4, 0.5, 0.999), WGANGP: (1e-4, 1e-4, 0.5, 0.9),
                MRGAN: (2e-4, 2e-4, 0.5, 0.999)}
    for cls, (lr_d, lr_g, beta1, beta2) in expected.items():
        model = cls()
        assert (model.hparams.lr_d, model.hparams.lr_g, model.hparams.beta1, model.hparams.beta2) == (
            lr_d, lr_g, beta1, beta2)
        assert model.latent_dim == 2 and model.hparams.latent_dim == 2 and model.hparams.lr_decay == "none"
    wgangp = WGANGP()
    assert (wgangp.gp_weight, wgangp.critic_steps, wgangp.hparams.norm) == (10.0, 5, "layer")  # Algorithm 1
    assert DCGAN().critic_steps == LSGAN().critic_steps == 1 and DCGAN().hparams.norm == "batch"
    mrgan = MRGAN()
    assert (mrgan.lam1, mrgan.lam2, mrgan.hparams.lr_e, mrgan.hparams.diffusion_real) == (
        0.01, 0.01, 2e-4, "reconstruction")
    assert MRGAN.has_encoder and not any(cls.has_encoder for cls in TWO_PLAYER)
    opt_dm, opt_ge, opt_dd, opt_g = MRGAN(lr_e=5e-3).configure_optimizers()
    assert [group["lr"] for group in opt_ge.param_groups] == [2e-4, 5e-3]  # G, E
    assert all(opt.defaults["betas"] == (0.5, 0.999) for opt in (opt_dm, opt_ge, opt_dd, opt_g))


# ---------------------------------------------------------------- update ownership and order
@pytest.mark.parametrize("model, plan", [
    (DCGAN(hidden_dim=16), [{"discriminator"}, {"generator"}]),
    (LSGAN(hidden_dim=16), [{"discriminator"}, {"generator"}]),
    (WGANGP(hidden_dim=16), [{"discriminator"}] * 5 + [{"generator"}]),  # n_critic = 5, then G
    (WGANGP(hidden_dim=16, critic_steps=2), [{"discriminator"}] * 2 + [{"generator"}]),
    (MRGAN(hidden_dim=16), [{"manifold_discriminator"}, {"generator", "encoder"}, {"diffusion_discriminator"},
                            {"generator"}]),  # Che et al. Appendix A: manifold step, then diffusion step
], ids=["DCGAN", "LSGAN", "WGANGP", "WGANGP-2", "MRGAN"])
def test_each_update_moves_only_its_own_networks_in_the_papers_order(model, plan, monkeypatch):
    torch.manual_seed(0)
    records = record_updates(model, monkeypatch)
    trainer = quiet_trainer(max_steps=2)
    trainer.fit(model, train_dataloaders=toy_batches())
    assert [r["moved"] for r in records] == plan * 2
    assert [r["stray"] for r in records] == [set()] * len(records)
    assert trainer.global_step == 2  # iterations, not optimiser steps
    assert all(p.requires_grad for p in model.parameters())  # everything unfrozen again


def test_wgangp_critic_steps_draw_fresh_noise_and_the_generator_step_too(monkeypatch):
    model = WGANGP(hidden_dim=8, critic_steps=3)
    drawn: list[torch.Tensor] = []
    original = type(model).sample_prior
    monkeypatch.setattr(model, "sample_prior", lambda n: drawn.append(original(model, n)) or drawn[-1])
    trainer = quiet_trainer(max_steps=2)
    trainer.fit(model, train_dataloaders=toy_batches())
    assert len(drawn) == 2 * (3 + 1)  # Algorithm 1 lines 4 and 10: one batch of z per critic step and per G step
    assert trainer.global_step == 2
    dcgan = DCGAN(hidden_dim=8)
    drawn.clear()
    monkeypatch.setattr(dcgan, "sample_prior", lambda n: drawn.append(original(dcgan, n)) or drawn[-1])
    quiet_trainer(max_steps=2).fit(dcgan, train_dataloaders=toy_batches())
    assert len(drawn) == 2  # DCGAN's G step reuses its D step's z


@pytest.mark.parametrize("diffusion_real", ["reconstruction", "data"])
def test_mrgan_diffusion_discriminator_sees_reconstructions_as_real(diffusion_real, monkeypatch):
    """Che et al. §3.3: D_2 separates G(E(x)) from G(z); ``diffusion_real="data"`` gives it x instead."""
    torch.manual_seed(0)
    model = MRGAN(hidden_dim=8, diffusion_real=diffusion_real)
    data = toy_batches(n=32, batch_size=32)
    x = data.tensors[0]
    inputs: list[torch.Tensor] = []
    forward = model.diffusion_discriminator.forward
    monkeypatch.setattr(model.diffusion_discriminator, "forward", lambda t: inputs.append(t.detach()) or forward(t))
    states: list[dict] = []
    original_update = type(model).update

    def update_recording_state(self, optimizer, loss):
        original_update(self, optimizer, loss)
        if optimizer.optimizer is self.trainer.optimizers[1]:  # after the manifold step of G and E
            states.append({k: v.clone() for k, v in self.state_dict().items()})

    monkeypatch.setattr(type(model), "update", update_recording_state)
    quiet_trainer(max_steps=1).fit(model, train_dataloaders=data)
    real, fake, _ = inputs  # D_D step: real, fake; G's diffusion step: fake
    if diffusion_real == "data":
        assert torch.equal(torch.sort(real, dim=0).values, torch.sort(x, dim=0).values)
    else:
        check = MRGAN(hidden_dim=8)
        check.load_state_dict(states[-1])  # G and E after the manifold step, as the diffusion step uses them
        with torch.no_grad():
            expected = check.generator(check.encoder(real_x := x[data.permutation(0)]))
        assert torch.allclose(real, expected, atol=1e-6) and not torch.allclose(real, real_x)


# ---------------------------------------------------------------- training
def nearest_mode_distance(model) -> float:
    """Median distance of 2,000 samples to their nearest mode (robust to the few samples between modes)."""
    with torch.no_grad():
        torch.manual_seed(1)
        samples = model.sample(2000)
    return torch.cdist(samples, CENTERS).min(dim=1).values.median().item()


@pytest.mark.parametrize("cls, kwargs, epochs", [
    (DCGAN, {"lr_d": 3e-3, "lr_g": 3e-3}, 2), (LSGAN, {"lr_d": 3e-3, "lr_g": 3e-3}, 2),
    # 50 iterations of n_critic = 5; a toy-scale lambda = 1 lets this short run settle
    (WGANGP, {"lr_d": 1e-2, "lr_g": 1e-2, "gp_weight": 1.0}, 1), (MRGAN, {"lr_d": 3e-3, "lr_g": 3e-3}, 2)])
def test_short_fit_on_toy_data_moves_samples_onto_the_modes(cls, kwargs, epochs):
    torch.manual_seed(0)
    model = cls(hidden_dim=32, **kwargs)
    before = nearest_mode_distance(model)  # ~1.9: G(z) starts near the origin, between the modes at (+-2, 0)
    quiet_trainer(max_epochs=epochs).fit(model, train_dataloaders=toy_batches(n=3200, batch_size=64))
    after = nearest_mode_distance(model)  # ~0.1-0.6
    assert after < 0.5 * before, (before, after)


def test_mrgan_manifold_step_fits_reconstructions_and_raises_their_realness(monkeypatch):
    """Sign of the mode regulariser (Algorithm 1): G and E make G(E(x)) close to x *and* real to D_M."""
    torch.manual_seed(0)
    data = toy_batches(n=512, batch_size=64)
    x = data.tensors[0]
    model = MRGAN(hidden_dim=16, lam1=1.0, lam2=0.0, lr_g=3e-3)

    def reconstruction_error() -> float:
        return losses.l2_reconstruction(model.reconstruct(x), x).item()

    before = reconstruction_error()
    quiet_trainer(max_epochs=5).fit(model, train_dataloaders=data)
    assert reconstruction_error() < 0.3 * before

    # Only the G, E manifold step on -lam2 log D_M(G(E(x))), against a fixed D_M whose logit is the first
    # coordinate: minimising it must move reconstructions to the right (the printed '+ lam2 log D' would
    # move them to the left).
    torch.manual_seed(0)
    model = MRGAN(hidden_dim=16, lam1=0.0, lam2=1.0, lr_g=3e-3)
    model.manifold_discriminator = nn.Linear(2, 1)
    with torch.no_grad():
        model.manifold_discriminator.weight.copy_(torch.tensor([[1.0, 0.0]]))
        model.manifold_discriminator.bias.zero_()
    original_update = type(model).update
    monkeypatch.setattr(type(model), "update", lambda self, opt, loss: original_update(self, opt, loss)
                        if opt.optimizer is self.trainer.optimizers[1] else None)
    before = model.reconstruct(x)[:, 0].mean().item()
    quiet_trainer(max_steps=20).fit(model, train_dataloaders=data)
    assert model.reconstruct(x)[:, 0].mean().item() > before + 0.5  # ~ -0.27 -> 0.44
    assert torch.equal(model.manifold_discriminator.weight, torch.tensor([[1.0, 0.0]]))  # D_M was not updated


def test_checkpoint_round_trip_without_datamodule(tmp_path):
    torch.manual_seed(0)
    for cls, kwargs in [(DCGAN, {}), (LSGAN, {}), (WGANGP, {"critic_steps": 3, "gp_weight": 5.0}),
                        (MRGAN, {"lam1": 0.5, "diffusion_real": "data"})]:
        model = cls(hidden_dim=16, lr_decay="inverse_sqrt", **kwargs)
        trainer = quiet_trainer(max_steps=3, default_root_dir=tmp_path)
        trainer.fit(model, train_dataloaders=toy_batches())
        path = tmp_path / f"{cls.__name__}.ckpt"
        trainer.save_checkpoint(path)
        loaded = cls.load_from_checkpoint(path, map_location="cpu").eval()
        model.eval()
        z = torch.randn(8, 2)
        assert torch.equal(loaded.generate(z), model.generate(z))
        assert loaded.hparams == model.hparams
        if cls is MRGAN:
            x = torch.randn(8, 2)
            assert torch.equal(loaded.reconstruct(x), model.reconstruct(x)) and loaded.lam1 == 0.5
        if cls is WGANGP:
            assert (loaded.critic_steps, loaded.gp_weight) == (3, 5.0)


@pytest.mark.parametrize("cls, logged", [
    (WGANGP, {"loss/discriminator", "loss/generator", "loss/gradient_penalty", "loss/wasserstein"}),
    (MRGAN, {"loss/manifold_discriminator", "loss/manifold", "loss/diffusion_discriminator", "loss/diffusion"})])
def test_bf16_mixed_precision_keeps_losses_finite(cls, logged):
    torch.manual_seed(0)
    model = cls(image_shape=(1, 28, 28), **({"critic_steps": 2} if cls is WGANGP else {}))
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    trainer = quiet_trainer(max_steps=2, precision="bf16-mixed")
    trainer.fit(model, train_dataloaders=TensorBatches((x, torch.zeros(4)), 2))
    metrics = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("loss/")}
    assert logged <= set(metrics)
    assert all(torch.isfinite(v) and v.dtype == torch.float32 for v in metrics.values())
    assert all(torch.isfinite(p).all() and p.dtype == torch.float32 for p in model.parameters())
    assert trainer.global_step == 2


# ---------------------------------------------------------------- command line and configs
FAST_GRID = ["--data", "Grid25", "--data.num_train", "1000", "--data.num_val", "500", "--data.batch_size", "100"]


def cli_fit(tmp_path: Path, *args: str, steps: int = 2) -> dict:
    cli.main(["fit", *args, "--trainer.max_steps", str(steps), "--trainer.enable_progress_bar", "false",
              "--trainer.default_root_dir", str(tmp_path / "runs")])
    return json.loads((tmp_path / "runs" / "lightning_logs" / "version_0" / "metrics.json").read_text())


def test_cli_fits_wgangp_on_grid25_with_mode_counting(tmp_path):
    metrics = cli_fit(tmp_path, "--model", "WGANGP", "--model.hidden_dim", "16", *FAST_GRID, steps=3)
    assert metrics["model"] == "WGANGP" and metrics["status"] == "finished" and metrics["global_step"] == 3
    assert {"loss/discriminator", "loss/generator", "loss/gradient_penalty", "modes/captured"} <= set(metrics)


def test_cli_fits_mrgan_on_mnist_files(mnist_root, tmp_path):  # noqa: F811
    root, _ = mnist_root
    metrics = cli_fit(tmp_path, "--model", "MRGAN", "--data", "MNIST", "--data.data_dir", str(root),
                      "--data.download", "false", "--data.batch_size", "4")
    assert metrics["model"] == "MRGAN" and metrics["status"] == "finished" and metrics["global_step"] == 2
    assert {"loss/manifold", "loss/diffusion"} <= set(metrics) and 0 < metrics["val/recon_mse"]
    model = MRGAN.load_from_checkpoint(tmp_path / "runs" / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt",
                                       map_location="cpu")
    assert model.image_shape == (1, 28, 28) and model.latent_dim == 100


@pytest.mark.parametrize("name, cls", [("dcgan", DCGAN), ("lsgan", LSGAN), ("wgangp", WGANGP), ("mrgan", MRGAN)])
def test_grid25_configs_are_the_aim_configs_settings(name, cls, tmp_path):
    the_cli = cli.main(["--config", str(ROOT / "configs" / "baselines" / f"{name}_grid25.yaml")], run=False)
    aim = cli.main(["--config", str(ROOT / "configs" / "aim" / "grid25.yaml")], run=False)
    model = the_cli.model
    assert type(model) is cls and model.image_shape == (2,) and model.latent_dim == aim.model.latent_dim == 2
    assert (model.hparams.lr_d, model.hparams.lr_g, model.hparams.lr_decay) == (
        aim.model.hparams.lr, aim.model.hparams.lr, aim.model.hparams.lr_decay)
    assert the_cli.datamodule.batch_size == aim.datamodule.batch_size == 500
    assert the_cli.trainer.max_epochs == aim.trainer.max_epochs
    assert count_parameters(model.generator) == count_parameters(aim.model.generator)  # identical networks


@pytest.mark.parametrize("name, cls, lr, beta2", [("dcgan", DCGAN, 1e-4, 0.999), ("lsgan", LSGAN, 2e-4, 0.999),
                                                  ("wgangp", WGANGP, 1e-4, 0.9), ("mrgan", MRGAN, 2e-4, 0.999)])
def test_cifar10_configs_build_table_4_networks_with_table_5_settings(name, cls, lr, beta2, tmp_path):
    the_cli = cli.main(["--config", str(ROOT / "configs" / "baselines" / f"{name}_cifar10.yaml"),
                        "--data.init_args.data_dir", str(tmp_path)], run=False)
    model = the_cli.model
    assert type(model) is cls and model.image_shape == (3, 64, 64) and model.latent_dim == 100
    assert (model.hparams.lr_d, model.hparams.lr_g, model.hparams.beta1, model.hparams.beta2) == (lr, lr, 0.5, beta2)
    assert the_cli.datamodule.batch_size == 64
    assert model.generator(torch.zeros(2, 100)).shape == (2, 3, 64, 64)
    discriminator = model.manifold_discriminator if cls is MRGAN else model.discriminator
    assert discriminator[0](torch.zeros(2, 3, 64, 64)).shape == (2, 512, 4, 4)  # Table 4 trunk
    assert any(isinstance(m, nn.BatchNorm2d) for m in discriminator.modules()) == (cls is not WGANGP)
    if cls is WGANGP:
        assert (model.gp_weight, model.critic_steps) == (10.0, 5)
    if cls is MRGAN:
        assert (model.lam1, model.lam2) == (0.01, 0.01) and model.encoder(torch.zeros(2, 3, 64, 64)).shape == (2, 100)


# ---------------------------------------------------------------- alpha-GAN's networks (alpha_gan.txt H.4)
H4_SHAPES = [(3, 28, 28), (3, 32, 32), (3, 64, 64)]  # Tables 3-4 (ColorMNIST), gan_cifar.py, gan_64x64.py


def h4_nets(shape, latent_dim, **kwargs):
    """G and D as zoo.nets.alpha_gan builds them for AlphaGAN (no code discriminator)."""
    return alpha_gan_nets(shape, latent_dim, code_hidden_dim=None, **kwargs)


def kinds(net: nn.Module) -> list[str]:
    return [type(m).__name__ for m in net.modules()]


@pytest.mark.parametrize("shape", H4_SHAPES, ids=["28x28", "32x32", "64x64"])
def test_alpha_gan_networks_are_h4s_generator_and_discriminator(shape):
    """H.4: 'For all our baselines, we used the same discriminator and generator architectures, and we controlled
    the number of latents': DCGAN's and LSGAN's G and D are AlphaGAN's, module for module (BatchNorm in D, H)."""
    alpha = AlphaGAN(image_shape=shape)
    for cls in (DCGAN, LSGAN):
        model = cls(image_shape=shape, networks="alpha_gan")
        assert model.latent_dim == alpha.latent_dim == (50 if shape[-1] == 28 else 100)
        assert model.hparams.networks == "alpha_gan" and model.hparams.latent_dim == model.latent_dim
        assert repr(model.generator) == repr(alpha.generator) == repr(h4_nets(shape, model.latent_dim).generator)
        assert repr(model.discriminator) == repr(alpha.discriminator)
        assert count_parameters(model.generator) == count_parameters(alpha.generator)
        assert count_parameters(model.discriminator) == count_parameters(alpha.discriminator)
        assert not hasattr(model, "encoder") and not hasattr(model, "code_discriminator")  # only G and D
        model.eval()
        z = torch.randn(2, model.latent_dim)
        assert model.generate(z).shape == (2, *shape) and model.discriminator(model.generate(z)).shape == (2, 1)


@pytest.mark.parametrize("shape", H4_SHAPES, ids=["28x28", "32x32", "64x64"])
def test_wgangp_critic_is_h4s_discriminator_without_batchnorm(shape):
    """Gulrajani et al. §4: no BatchNorm in the critic. 'layer' is gan_64x64.py's WGAN-GP critic (layer norm per
    sample over C, H, W), 'none' gan_cifar.py's; otherwise D's layout is H.4's, and G is H.4's with BatchNorm."""
    alpha = AlphaGAN(image_shape=shape)
    for norm, norm_layer in (("layer", "GroupNorm"), ("none", None)):
        model = WGANGP(image_shape=shape, networks="alpha_gan", norm=norm)
        assert repr(model.generator) == repr(alpha.generator) and "BatchNorm2d" in kinds(model.generator)
        built = h4_nets(shape, model.latent_dim, discriminator_norm=norm).discriminator
        assert repr(model.discriminator) == repr(built)
        assert "BatchNorm2d" not in kinds(model.discriminator)
        expected = [k if k != "BatchNorm2d" else norm_layer for k in kinds(alpha.discriminator)]
        assert kinds(model.discriminator) == [k for k in expected if k is not None]
        convs = [m for m in model.discriminator.modules() if isinstance(m, nn.Conv2d)]
        alpha_convs = [m for m in alpha.discriminator.modules() if isinstance(m, nn.Conv2d)]
        assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
            (c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in alpha_convs]
        assert all(c.bias is not None for c in convs)  # no BatchNorm after them any more
        if norm == "layer":
            norms = [m for m in model.discriminator.modules() if isinstance(m, nn.GroupNorm)]
            assert all(m.num_groups == 1 for m in norms) and len(norms) == len(convs) - 1  # none on the first layer
        critic = model.discriminator.eval()
        x = torch.randn(3, *shape)
        assert torch.allclose(critic(x)[:1], critic(x[:1]), atol=1e-5)  # samples are scored independently


def test_dcgan_dropout_is_table_3s_after_the_last_convolution():
    """Table 3: 'For DCGAN, we use dropout of 0.8 after the last convolutional layer' (a keep probability)."""
    model = DCGAN(image_shape=(3, 28, 28), networks="alpha_gan", discriminator_dropout=0.2)
    layers = list(model.discriminator)
    (index,) = [i for i, m in enumerate(layers) if isinstance(m, nn.Dropout)]
    assert layers[index].p == 0.2
    assert isinstance(layers[index - 1], nn.LeakyReLU) and isinstance(layers[index + 1], nn.Flatten)
    assert [type(m) for m in layers[:index] if isinstance(m, nn.Conv2d)] == [nn.Conv2d] * 5  # after all five
    alpha = AlphaGAN(image_shape=(3, 28, 28)).discriminator
    assert repr(nn.Sequential(*layers[:index], *layers[index + 1:])) == repr(alpha)  # otherwise alpha-GAN's D
    assert count_parameters(model.discriminator) == count_parameters(alpha)
    assert not any(isinstance(m, nn.Dropout) for m in DCGAN(image_shape=(3, 28, 28), networks="alpha_gan").modules())


def test_alpha_gan_networks_for_vectors_are_alpha_gans_mlps():
    """AlphaGAN's vector MLPs (ours; the paper has no toy experiment) have the layer sizes of the 'ivgan' choice."""
    for cls in TWO_PLAYER:
        model = cls(image_shape=(2,), hidden_dim=16, networks="alpha_gan")
        alpha = AlphaGAN(image_shape=(2,), hidden_dim=16)
        assert model.latent_dim == 2
        assert repr(model.generator) == repr(alpha.generator) and repr(model.discriminator) == repr(alpha.discriminator)
        assert repr(model.generator) == repr(cls(image_shape=(2,), hidden_dim=16).generator)


def test_default_networks_are_still_ivgan_table_4_bit_for_bit():
    """``networks="ivgan"`` is the default and builds exactly what the baselines built before the choice existed."""
    for cls in TWO_PLAYER:
        for shape in [(2,), (1, 28, 28)]:
            torch.manual_seed(0)
            default = cls(image_shape=shape)
            torch.manual_seed(0)
            explicit = cls(image_shape=shape, networks="ivgan")
            state, other = default.state_dict(), explicit.state_dict()
            assert state.keys() == other.keys() and all(torch.equal(state[k], other[k]) for k in state)
            assert default.hparams.networks == "ivgan" and default.generator_updates == 1
            assert default.latent_dim == (2 if shape == (2,) else 100)  # ivgan.txt §4, not alpha-GAN's 50
            assert not any(isinstance(m, nn.Dropout) for m in default.modules())
    # the subclasses that call TwoPlayerGAN / DCGAN positionally get the default networks
    ivgan_generator = repr(DCGAN(image_shape=(1, 28, 28)).generator)
    for cls in (SNGAN, PacGAN, UnrolledGAN):
        model = cls(image_shape=(1, 28, 28))
        assert model.hparams.networks == "ivgan" and model.generator_updates == 1 and model.latent_dim == 100
        assert repr(model.generator) == ivgan_generator
        trunk = model.discriminator.network[0] if cls is PacGAN else model.discriminator[0]
        assert all(m.kernel_size == (4, 4) for m in trunk.modules() if isinstance(m, nn.Conv2d))  # Table 4's K4


def image_batches(shape, n: int = 8, batch_size: int = 4) -> TensorBatches:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(n, *shape, generator=generator) * 2 - 1
    return TensorBatches((x, torch.zeros(n)), batch_size)


@pytest.mark.parametrize("model, plan", [
    # alpha_gan.txt §6: DCGAN's generator twice per discriminator update; WGAN-GP's 5 (here 2) critic updates
    (lambda: DCGAN(image_shape=(3, 28, 28), networks="alpha_gan", generator_updates=2, discriminator_dropout=0.2),
     [{"discriminator"}, {"generator"}, {"generator"}]),
    (lambda: WGANGP(image_shape=(3, 32, 32), networks="alpha_gan", norm="none", critic_steps=2),
     [{"discriminator"}] * 2 + [{"generator"}]),
    (lambda: LSGAN(image_shape=(3, 28, 28), networks="alpha_gan"), [{"discriminator"}, {"generator"}]),
], ids=["DCGAN-colormnist", "WGANGP-cifar10", "LSGAN-colormnist"])
def test_alpha_gan_networks_fit_and_each_update_moves_only_its_own_network(model, plan, monkeypatch):
    torch.manual_seed(0)
    model = model()
    shape = model.image_shape
    records = record_updates(model, monkeypatch)
    trainer = quiet_trainer(max_steps=2)
    trainer.fit(model, train_dataloaders=image_batches(shape))
    assert [r["moved"] for r in records] == plan * 2
    assert [r["stray"] for r in records] == [set()] * len(records)
    assert trainer.global_step == 2  # iterations, not optimiser steps
    assert all(p.requires_grad for p in model.parameters())
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert {"loss/discriminator", "loss/generator"} <= set(trainer.callback_metrics)


def test_dcgan_generator_updates_reuse_the_discriminator_steps_noise(monkeypatch):
    """carpedm20's DCGAN-tensorflow (alpha_gan.txt §6) runs G's optimiser twice on the D step's batch_z: one z per
    iteration, and G's second step re-runs G on it after the first step moved G."""
    torch.manual_seed(0)
    model = DCGAN(image_shape=(3, 28, 28), networks="alpha_gan", generator_updates=2)
    inputs: list[torch.Tensor] = []
    model.generator.register_forward_hook(lambda module, args, output: inputs.append(args[0].detach().clone()))
    drawn: list[torch.Tensor] = []
    original = type(model).sample_prior
    monkeypatch.setattr(model, "sample_prior", lambda n: drawn.append(original(model, n)) or drawn[-1])
    quiet_trainer(max_steps=2).fit(model, train_dataloaders=image_batches((3, 28, 28)))
    assert len(drawn) == 2  # one z per iteration
    assert len(inputs) == 4  # per iteration: D step (reused by G's first step), G's second step
    for step in range(2):
        assert torch.equal(inputs[2 * step], drawn[step]) and torch.equal(inputs[2 * step + 1], drawn[step])


def test_alpha_gan_networks_survive_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = DCGAN(image_shape=(3, 28, 28), networks="alpha_gan", generator_updates=2, discriminator_dropout=0.2)
    trainer = quiet_trainer(max_steps=1, default_root_dir=tmp_path)
    trainer.fit(model, train_dataloaders=image_batches((3, 28, 28)))
    trainer.save_checkpoint(tmp_path / "dcgan.ckpt")
    loaded = DCGAN.load_from_checkpoint(tmp_path / "dcgan.ckpt", map_location="cpu").eval()
    model.eval()
    z = torch.randn(4, 50)
    assert torch.equal(loaded.generate(z), model.generate(z)) and loaded.hparams == model.hparams
    assert (loaded.hparams.networks, loaded.generator_updates, loaded.hparams.discriminator_dropout) == (
        "alpha_gan", 2, 0.2)


ALPHA_BASELINE_CONFIGS = [(f"{model}_alpha_{data}", data) for model in ("dcgan", "wgangp")
                          for data in ("colormnist", "celeba", "cifar10")]


@pytest.mark.parametrize("name, data", ALPHA_BASELINE_CONFIGS, ids=[name for name, _ in ALPHA_BASELINE_CONFIGS])
def test_alpha_baseline_configs_train_on_alpha_gans_networks_data_and_budget(name, data, tmp_path):
    """configs/baselines/<model>_alpha_<data>.yaml: the data, latent size, batch and iterations of
    configs/alpha_gan/<data>.yaml (H.4 'controlled the number of latents'; H: batch 64, 100K / 200K iterations)."""
    config = yaml.safe_load((ROOT / "configs" / "baselines" / f"{name}.yaml").read_text())
    alpha = yaml.safe_load((ROOT / "configs" / "alpha_gan" / f"{data}.yaml").read_text())
    assert config["data"] == alpha["data"]
    assert config["trainer"]["max_steps"] == alpha["trainer"]["max_steps"]
    assert config["model"]["init_args"]["latent_dim"] == alpha["model"]["init_args"]["latent_dim"]
    assert (config["model"]["init_args"]["beta1"], config["model"]["init_args"]["beta2"]) == (
        alpha["model"]["init_args"]["beta1"], alpha["model"]["init_args"]["beta2"]) == (0.5, 0.9)
    the_cli = cli.main(["--config", str(ROOT / "configs" / "baselines" / f"{name}.yaml"),
                        "--data.init_args.data_dir", str(tmp_path)], run=False)
    model = the_cli.model
    assert type(model) is (DCGAN if name.startswith("dcgan") else WGANGP)
    nets = h4_nets(model.image_shape, model.latent_dim, discriminator_norm=model.hparams.norm,
                   discriminator_dropout=model.hparams.get("discriminator_dropout", 0.0))
    assert repr(model.generator) == repr(nets.generator) and repr(model.discriminator) == repr(nets.discriminator)
    if type(model) is WGANGP:
        assert not any(isinstance(m, nn.BatchNorm2d) for m in model.discriminator.modules())
        assert model.hparams.norm == ("none" if data == "cifar10" else "layer")  # gan_cifar.py / gan_64x64.py
    else:
        assert model.generator_updates == 2 and model.hparams.norm == "batch"
        assert model.hparams.discriminator_dropout == (0.2 if data == "colormnist" else 0.0)
