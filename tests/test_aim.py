"""AIM / DALI: losses against the papers' formulas, update ownership, inference API, checkpoints."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from datamodules.base import TensorBatches
from helpers import quiet_trainer, record_updates, toy_batches
from zoo import AIM, DALI, DALIF, AIMMinus
from zoo import losses
from zoo.nets import UnsupportedShapeError, count_parameters


def sigmoid(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


# ---------------------------------------------------------------- losses on hand-made tensors
def test_gaussian_nll_is_eq_8():
    z = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    mean = torch.tensor([[0.0, 1.0], [0.5, -1.0]])
    variance = torch.tensor([[1.0, 4.0], [0.25, 2.0]])
    by_hand = []
    for i in range(2):  # aim.txt eq. (8), one sum per sample, then the batch mean of Algorithm 1
        by_hand.append(0.5 * sum((z[i, j] - mean[i, j]) ** 2 / variance[i, j] + math.log(variance[i, j])
                                 + math.log(2 * math.pi) for j in range(2)))
    expected = sum(by_hand) / 2
    assert losses.gaussian_nll(z, mean, variance.log()).item() == pytest.approx(float(expected), rel=1e-6)
    reference = -torch.distributions.Normal(mean, variance.sqrt()).log_prob(z).sum(1).mean()
    assert losses.gaussian_nll(z, mean, variance.log()).item() == pytest.approx(reference.item(), rel=1e-6)


def test_aim_encoder_loss_is_lambda_times_eq_8_with_lambda_one_over_d():
    model = AIM(image_shape=(2,), latent_dim=4)
    assert model.lam == pytest.approx(1 / 4)
    z, mean, log_variance = torch.randn(3, 4), torch.randn(3, 4), torch.randn(3, 4)
    assert model.encoder_loss(z, mean, log_variance).item() == pytest.approx(
        0.25 * losses.gaussian_nll(z, mean, log_variance).item(), rel=1e-6)


def test_aim_minus_uses_identity_covariance():
    model = AIMMinus(image_shape=(2,), latent_dim=2)
    z, mean = torch.tensor([[1.0, -1.0]]), torch.tensor([[0.0, 1.0]])
    expected = 0.5 * (1.0 + 4.0 + 2 * math.log(2 * math.pi)) / 2  # lambda = 1/d = 1/2
    # the encoder's log-variance is ignored: the covariance is I
    assert model.encoder_loss(z, mean, torch.full((1, 2), 5.0)).item() == pytest.approx(expected, rel=1e-6)
    assert model.encoder.head.log_variance is None
    _, log_variance = model.posterior(torch.randn(4, 2))
    assert torch.equal(log_variance, torch.zeros_like(log_variance))


def test_gan_losses_are_algorithm_1():
    real_logits, fake_logits = torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 0.0])
    loss_d = -(math.log(sigmoid(0.0)) + math.log(sigmoid(2.0))) / 2 - (
        math.log(1 - sigmoid(-1.0)) + math.log(1 - sigmoid(0.0))) / 2
    loss_g = -(math.log(sigmoid(-1.0)) + math.log(sigmoid(0.0))) / 2
    assert losses.gan_discriminator_loss(real_logits, fake_logits).item() == pytest.approx(loss_d, rel=1e-6)
    assert losses.gan_generator_loss(fake_logits).item() == pytest.approx(loss_g, rel=1e-6)
    model = AIM(image_shape=(2,))
    assert model.discriminator_loss(real_logits, fake_logits).item() == pytest.approx(loss_d, rel=1e-6)


def test_dali_f_losses_are_dali_eq_8():
    real, fake = torch.tensor([0.5, 1.5]), torch.tensor([0.2, -0.3])
    value = (0.5 + 1.5) / 2 + (-math.exp(0.2 - 1) - math.exp(-0.3 - 1)) / 2  # V(G, D), eq. (8)
    model = DALIF(image_shape=(2,), latent_dim=2, generator_loss_form="paper")
    assert model.discriminator_loss(real, fake).item() == pytest.approx(-value, rel=1e-6)  # D maximises V
    assert model.generator_loss(fake).item() == pytest.approx(-(0.2 - 0.3) / 2, rel=1e-6)  # E[-D(G(z))]
    assert model.lam == 1.0  # aim.txt §4.4: lambda = 1 with the f-GAN value function


def test_dali_f_minimax_generator_loss_is_minus_exp_of_score_minus_one():
    fake = torch.tensor([0.2, -0.3, 4.0])
    expected = -(math.exp(0.2 - 1) + math.exp(-0.3 - 1) + math.exp(4.0 - 1)) / 3  # E_p[-exp(D(G(z)) - 1)]
    assert losses.fgan_kl_minimax_generator_loss(fake).item() == pytest.approx(expected, rel=1e-6)
    clamped = -(math.exp(0.2 - 1) + math.exp(-0.3 - 1) + math.exp(1.0 - 1)) / 3  # min(D, 1) before the exp
    assert losses.fgan_kl_minimax_generator_loss(fake, max_score=1.0).item() == pytest.approx(clamped, rel=1e-6)
    # the minimax G loss is the G-dependent term of V, eq. (8): V = E_q[D(x)] + that term
    real = torch.tensor([0.5, 1.5])
    assert -losses.fgan_kl_discriminator_loss(real, fake).item() == pytest.approx(
        1.0 + losses.fgan_kl_minimax_generator_loss(fake).item(), rel=1e-6)


def test_dali_f_generator_loss_form_is_selectable():
    fake = torch.tensor([0.2, -0.3])
    paper = DALIF(image_shape=(2,), latent_dim=2)
    minimax = DALIF(image_shape=(2,), latent_dim=2, generator_loss_form="minimax")
    assert paper.hparams.generator_loss_form == "paper"  # the default: dali.txt §3.4
    assert paper.generator_loss(fake).item() == pytest.approx(0.05, rel=1e-6)  # E[-D(G(z))]
    assert minimax.generator_loss(fake).item() == pytest.approx(
        -(math.exp(0.2 - 1) + math.exp(-0.3 - 1)) / 2, rel=1e-6)
    with pytest.raises(ValueError, match="generator_loss_form"):
        DALIF(image_shape=(2,), generator_loss_form="saturating")


def test_dali_f_max_score_bounds_every_score_in_both_losses():
    real, fake = torch.tensor([0.5, 5.0]), torch.tensor([0.2, 4.0])
    for form in ("paper", "minimax"):
        model = DALIF(image_shape=(2,), latent_dim=2, generator_loss_form=form, max_score=1.0)
        assert model.hparams.max_score == 1.0
        bounded = DALIF(image_shape=(2,), latent_dim=2, generator_loss_form=form)  # min(D, 1) by hand
        assert model.discriminator_loss(real, fake).item() == pytest.approx(
            bounded.discriminator_loss(torch.tensor([0.5, 1.0]), torch.tensor([0.2, 1.0])).item(), rel=1e-6)
        assert model.generator_loss(fake).item() == pytest.approx(
            bounded.generator_loss(torch.tensor([0.2, 1.0])).item(), rel=1e-6)
    huge = torch.tensor([200.0])  # exp(199) overflows float32; the bound keeps the loss finite
    assert torch.isfinite(losses.fgan_kl_discriminator_loss(huge, huge, max_score=3.0))


@pytest.mark.parametrize("model_class", [AIM, AIMMinus, DALIF])
def test_official_toy_nets_are_the_authors(model_class):
    """alexanderhanboli/AIM LAI_mix_gaussian_fGAN.py: G 2-400x4-2 with BN, a maxout trunk 3 x (200 units,
    5 pieces), D_con 200-200-1 with BN and LeakyReLU(0.1), E on the trunk 200-200 then two 200-200-d branches."""
    model = model_class(image_shape=(2,), toy_arch="official")
    linears = [m for m in model.generator if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [400, 400, 400, 400, 2]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in model.generator) == 4
    assert [m.linear.out_features for m in model.features] == [1000, 1000, 1000]
    assert not any(isinstance(m, nn.BatchNorm1d) for m in model.features.modules())
    assert [type(m) for m in model.critic_head] == [nn.Linear, nn.BatchNorm1d, nn.LeakyReLU, nn.Linear]
    assert model.critic_head[2].negative_slope == 0.1
    x = torch.randn(6, 2)
    assert model.features(x).shape == (6, 200) and model.discriminator(x).shape == (6, 1)
    mean, log_variance = model.posterior(x)
    assert mean.shape == log_variance.shape == (6, 2)
    assert (model.encoder.head.log_variance is None) == (model_class is AIMMinus)
    assert model.hparams.toy_arch == "official"
    with pytest.raises(ValueError, match="toy_arch"):
        model_class(image_shape=(2,), toy_arch="wide")


def test_losses_are_float32_under_bf16_inputs():
    logits = torch.tensor([30.0, -30.0], dtype=torch.bfloat16)
    assert losses.gan_generator_loss(logits).dtype == torch.float32
    assert torch.isfinite(losses.fgan_kl_discriminator_loss(logits, logits))


def test_dali_is_aim_under_its_published_name():
    torch.manual_seed(0)
    dali = DALI(image_shape=(2,))
    torch.manual_seed(0)
    aim = AIM(image_shape=(2,))
    assert isinstance(dali, AIM) and dali.lam == aim.lam
    assert all(torch.equal(a, b) for a, b in zip(dali.state_dict().values(), aim.state_dict().values()))


# ---------------------------------------------------------------- networks of the tables
@pytest.mark.parametrize("shape, latent_dim", [((2,), 2), ((1, 28, 28), 32), ((3, 32, 32), 64), ((1, 64, 64), 64),
                                               ((3, 64, 64), 64)])
def test_inference_api_shapes(shape, latent_dim):
    model = AIM(image_shape=shape).eval()
    assert model.latent_dim == latent_dim
    x = torch.rand(3, *shape) * 2 - 1
    assert model.sample(5).shape == (5, *shape)
    assert model.encode(x).shape == (3, latent_dim)
    assert model.reconstruct(x).shape == (3, *shape)
    assert model.sample_posterior(x, 4).shape == (3, 4, *shape)
    if len(shape) == 3:
        samples = model.sample(2)
        assert samples.min() >= -1 and samples.max() <= 1  # tanh output: the data range


def test_table_4_generator_is_the_papers():
    model = AIM(image_shape=(3, 64, 64))
    convs = [m for m in model.generator if isinstance(m, nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [1024, 512, 256, 128, 3]
    assert [c.stride[0] for c in convs] == [1, 2, 2, 2, 2]
    trunk = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in trunk] == [128, 256, 512, 1024]
    assert model.features(torch.zeros(2, 3, 64, 64)).shape == (2, 1024, 4, 4)


def test_table_3_networks_are_the_papers():
    model = AIM(image_shape=(1, 28, 28))
    assert model.features(torch.zeros(2, 1, 28, 28)).shape == (2, 128, 7, 7)
    linears = [m for m in model.generator if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [1024, 6272]
    leaky = [m for m in model.features if isinstance(m, nn.LeakyReLU)]
    assert all(m.negative_slope == 0.1 for m in leaky)


def test_unsupported_image_size_lists_supported_sizes():
    with pytest.raises(UnsupportedShapeError, match=r"\(C, 28, 28\).*\(C, 32, 32\).*\(C, 64, 64\)"):
        AIM(image_shape=(3, 48, 48))


@pytest.mark.parametrize("kwargs, name", [({"lam": -1.0}, "lam"), ({"lr": 0.0}, "lr"), ({"latent_dim": 0}, "latent_dim"),
                                          ({"lr_decay": "cosine"}, "lr_decay"), ({"image_shape": ()}, "image_shape")])
def test_bad_hyper_parameters_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        AIM(**{"image_shape": (2,), **kwargs})


# ---------------------------------------------------------------- training
@pytest.mark.parametrize("model_class, toy_arch", [(AIM, "zoo"), (AIMMinus, "zoo"), (DALIF, "zoo"),
                                                   (DALIF, "official")])
def test_each_update_moves_only_its_own_networks(model_class, toy_arch, monkeypatch):
    """Algorithm 1: the D step moves D only; the (G, E) step moves G and E, never the shared trunk."""
    torch.manual_seed(0)
    model = model_class(image_shape=(2,), hidden_dim=16, toy_arch=toy_arch)
    parts = {"generator": model.generator, "features": model.features, "critic_head": model.critic_head,
             "encoder": model.encoder}
    records = record_updates(model, monkeypatch, parts)
    quiet_trainer(max_steps=2).fit(model, train_dataloaders=toy_batches())
    assert [r["moved"] for r in records] == [{"features", "critic_head"}, {"generator", "encoder"}] * 2
    assert [r["stray"] for r in records] == [set()] * len(records)  # frozen / detached nets get no gradient


def test_generator_receives_the_encoder_gradient_through_the_frozen_trunk(monkeypatch):
    """lambda * L(z, E(G(z))) must reach G through D_feature although D_feature is not updated."""
    torch.manual_seed(0)
    model = AIM(image_shape=(2,), hidden_dim=16)
    monkeypatch.setattr(model, "generator_loss", lambda logits: logits.sum() * 0.0)
    grads = {}
    original_update = type(model).update

    def recording_update(self, optimizer, loss):
        original_update(self, optimizer, loss)
        grads.setdefault(len(grads), [p.grad for p in self.generator.parameters()])

    monkeypatch.setattr(type(model), "update", recording_update)
    quiet_trainer(max_steps=1).fit(model, train_dataloaders=toy_batches())
    assert all(g is not None and g.abs().sum() > 0 for g in grads[1])
    assert all(p.requires_grad for p in model.features.parameters())  # the trunk is unfrozen again


def test_global_step_counts_training_iterations_not_optimizer_steps():
    """Lightning counts every optimizer step in manual optimisation (lightning #17958)."""
    model = AIM(image_shape=(2,), hidden_dim=16)
    calls = []
    model.training_step = lambda batch, batch_idx, f=model.training_step: (calls.append(batch_idx), f(batch, batch_idx))[1]
    trainer = quiet_trainer(max_steps=5)
    trainer.fit(model, train_dataloaders=toy_batches(n=256))
    assert trainer.global_step == 5
    assert len(calls) == 5


def test_learning_rate_decays_as_alpha_over_sqrt_epoch():
    model = AIM(image_shape=(2,), hidden_dim=16, lr=1e-3)
    trainer = quiet_trainer(max_epochs=3)
    trainer.fit(model, train_dataloaders=toy_batches())
    for optimizer in trainer.optimizers:
        assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 / math.sqrt(4))  # after 3 epochs: t = 4


def test_short_fit_improves_latent_reconstruction_and_sample_quality():
    torch.manual_seed(0)
    data = toy_batches(n=2000, batch_size=200)
    centers = torch.tensor([[-2.0, 0.0], [2.0, 0.0]])
    model = AIM(image_shape=(2,), hidden_dim=32, lr=2e-3, lr_decay="none")

    def distance_to_modes() -> float:
        model.eval()
        distance = torch.cdist(model.sample(1000), centers).min(1).values.mean().item()
        model.train()
        return distance

    def latent_nll() -> float:
        model.eval()
        with torch.no_grad():
            z = model.sample_prior(1000)
            value = losses.gaussian_nll(z, *model.posterior(model.generate(z))).item()
        model.train()
        return value

    before_distance, before_nll = distance_to_modes(), latent_nll()
    quiet_trainer(max_epochs=40).fit(model, train_dataloaders=data)
    assert distance_to_modes() < 0.5 * before_distance
    assert latent_nll() < before_nll - 1.0


def test_checkpoint_round_trip_without_datamodule(tmp_path):
    torch.manual_seed(0)
    model = AIM(image_shape=(2,), hidden_dim=16)
    trainer = quiet_trainer(max_steps=3, default_root_dir=tmp_path)
    trainer.fit(model, train_dataloaders=toy_batches())
    path = tmp_path / "aim.ckpt"
    trainer.save_checkpoint(path)
    loaded = AIM.load_from_checkpoint(path, map_location="cpu").eval()
    model.eval()
    x = torch.randn(8, 2)
    assert torch.equal(loaded.reconstruct(x), model.reconstruct(x))
    assert loaded.hparams.latent_dim == 2 and loaded.hparams.lam == pytest.approx(0.5)
    assert loaded.sample_posterior(x, 3).shape == (8, 3, 2)


def test_image_training_step_runs_for_every_table(tmp_path):
    for shape in [(1, 28, 28), (3, 32, 32)]:
        model = AIM(image_shape=shape)
        x = torch.rand(8, *shape) * 2 - 1
        before = count_parameters(model)
        quiet_trainer(max_steps=1).fit(model, train_dataloaders=TensorBatches((x, torch.zeros(8)), 4))
        assert count_parameters(model) == before
        assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("model_class", [AIM, DALIF])
def test_bf16_mixed_precision_keeps_losses_finite(model_class):
    torch.manual_seed(0)
    model = model_class(image_shape=(1, 28, 28))
    x = torch.rand(8, 1, 28, 28) * 2 - 1
    trainer = quiet_trainer(max_steps=2, precision="bf16-mixed")
    trainer.fit(model, train_dataloaders=TensorBatches((x, torch.zeros(8)), 4))
    assert all(torch.isfinite(v) for k, v in trainer.callback_metrics.items() if k.startswith("loss/"))
    assert all(torch.isfinite(p).all() and p.dtype == torch.float32 for p in model.parameters())
