"""IVAAE and its WAE baselines: the bridges of ivaae.txt §2/§4 against N(0, I), eq. (1) and the other
losses against hand computations, Algorithm 1's update order and ownership, Tables 3-4, the §4
learning-rate steps, training, checkpoints, bf16, the CLI and the paper configs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn

import cli
from callbacks.latent import frechet_latent_distance
from datamodules import Grid25
from datamodules.base import TensorBatches
from test_datamodules import mnist_root  # noqa: F401  (fixture writing genuine MNIST IDX files)
from test_ivgan import assert_standard_gaussian
from test_reliability import assert_same_weights
from test_reliability import trainer as reliability_trainer
from helpers import quiet_trainer, record_updates
from zoo import AAE, IVAAE, WAEGAN, WAEMMD
from zoo import losses
from zoo.interventions import (
    prefix_block_substitution,
    radial_substitution,
    svgd_bandwidth,
    svgd_bridges,
    svgd_step,
)
from zoo.ivaae import step_decay
from zoo.nets import UnsupportedShapeError, ivaae_latent_dim

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(hidden_dim=8)


@pytest.fixture(autouse=True)
def one_intra_op_thread():
    """Tiny networks: on 2 shared CPU cores a second intra-op thread only slows a step down."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------- bridges (§2, §4)
def test_blockwise_bridges_replace_the_first_k_blocks_and_preserve_the_gaussian():
    generator = torch.Generator().manual_seed(0)
    n, d, t = 20_000, 8, 4
    z = torch.randn(n, d, generator=generator)
    noise = torch.randn(n, d, generator=generator)
    for k in range(t + 1):
        t_k = prefix_block_substitution(z, k, t, noise)
        assert torch.equal(t_k[:, :2 * k], noise[:, :2 * k])  # the first k blocks of 2 coordinates: noise
        assert torch.equal(t_k[:, 2 * k:], z[:, 2 * k:])  # the others: z's
        assert_standard_gaussian(t_k, d // t)


def test_radial_bridges_preserve_the_gaussian_and_end_in_pure_noise():
    generator = torch.Generator().manual_seed(1)
    n, d, t = 20_000, 8, 4
    z = torch.randn(n, d, generator=generator)
    noise = torch.randn(n, d, generator=generator)
    for k in range(t + 1):
        t_k = radial_substitution(z, k, t, noise)
        angle = k * math.pi / (2 * t)
        torch.testing.assert_close(t_k, z * math.cos(angle) + noise * math.sin(angle))
        assert_standard_gaussian(t_k, d // t)
    assert torch.equal(radial_substitution(z, 0, t, noise), z)
    # T_t is the noise exactly, whatever x: independent of x
    assert torch.equal(radial_substitution(z, t, t, noise), noise)
    assert torch.equal(radial_substitution(5 * z + 3, t, t, noise), noise)
    with pytest.raises(ValueError, match="0 <= k <= t"):
        radial_substitution(z, t + 1, t, noise)


def test_svgd_step_is_eq_2_with_the_rbf_kernel():
    z = torch.tensor([[0.0, 1.0], [2.0, -1.0], [1.0, 1.0]])
    h, eps = 3.0, 0.5
    rows = z.tolist()
    expected = []
    for zi in rows:
        phi = [0.0, 0.0]
        for zj in rows:
            k = math.exp(-sum((a - b) ** 2 for a, b in zip(zj, zi)) / h)
            for c in range(2):  # k(z_j, z_i) grad log p(z_j) + grad_{z_j} k(z_j, z_i), p = N(0, I)
                phi[c] += k * (-zj[c]) + k * (-2.0 / h) * (zj[c] - zi[c])
        expected.append([zi[c] + eps / 3 * phi[c] for c in range(2)])
    torch.testing.assert_close(svgd_step(z, h, eps), torch.tensor(expected))
    with torch.autocast("cpu", dtype=torch.bfloat16):  # computed in float32 whatever the autocast
        torch.testing.assert_close(svgd_step(z, h, eps), torch.tensor(expected), atol=1e-6, rtol=1e-6)


def test_svgd_bandwidth_is_100_median_squared_over_log_n():
    z = torch.tensor([[0.0], [1.0], [3.0], [7.0]])  # pairwise distances 1, 3, 7, 2, 6, 4: lower median 3
    assert svgd_bandwidth(z).item() == pytest.approx(100 * 3.0 ** 2 / math.log(4), rel=1e-6)
    assert svgd_bandwidth(z, scale=1.0).item() == pytest.approx(9 / math.log(4), rel=1e-6)
    assert svgd_bandwidth(torch.ones(5, 3)).item() > 0  # a collapsed batch stays finite
    with pytest.raises(ValueError, match="n >= 2"):
        svgd_bandwidth(torch.zeros(1, 3))


def svgd_family(z: torch.Tensor, t: int = 4, seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    prior = torch.randn(z.shape, generator=generator)
    step_noise = 0.1 * torch.randn(2 * (t - 1), *z.shape, generator=generator)
    return svgd_bridges(z, t, prior, step_noise)


def test_svgd_bridges_keep_a_gaussian_batch_gaussian():
    """§4's SVGD (h = 100 h_0, step 1, noise 0.1) nearly preserves N(0, I): it re-centres the batch and
    widens it by ~1.5% per update (the noise), so the moments stay close; the last bridge is the prior."""
    torch.manual_seed(0)
    z = torch.randn(512, 4)
    bridges = svgd_family(z)
    assert len(bridges) == 5 and bridges[0] is z
    for particles in bridges[1:4]:
        assert particles.mean(0).abs().max() < 0.05
        assert (torch.cov(particles.T) - torch.eye(4)).abs().max() < 0.15
    generator = torch.Generator().manual_seed(0)
    assert torch.equal(bridges[4], torch.randn(z.shape, generator=generator))  # z^t ~ N(0, I), the given draw


def test_svgd_moves_a_shifted_gaussian_batch_towards_the_prior():
    torch.manual_seed(0)
    z = torch.randn(256, 4) + torch.tensor([3.0, -2.0, 0.0, 1.0])

    def moment_distance(x: torch.Tensor) -> float:
        return x.mean(0).norm().item() + (torch.cov(x.T) - torch.eye(4)).norm().item()

    distances = [moment_distance(particles) for particles in svgd_family(z)[:4]]
    assert distances[0] > 3.5 and all(d < 0.4 for d in distances[1:])


def test_svgd_gradients_flow_back_through_the_particles():
    z = torch.randn(16, 4, requires_grad=True)
    bridges = svgd_family(z)
    for k in (1, 2, 3):
        (gradient,) = torch.autograd.grad(bridges[k].pow(2).sum(), z, retain_graph=True)
        assert gradient.abs().sum() > 0
    assert not bridges[4].requires_grad  # the prior bridge does not depend on z


@pytest.mark.parametrize("bridge", ["blockwise", "radial", "svgd"])
def test_the_model_builds_t_plus_1_bridges_from_one_prior_draw(bridge):
    torch.manual_seed(0)
    model = IVAAE(image_shape=(2,), latent_dim=4, bridge=bridge, **TINY)
    z_hat = torch.randn(6, 4)
    prior, step_noise = model.draw_bridge_noise(6)
    assert (step_noise is None) == (bridge != "svgd")
    if bridge == "svgd":
        assert step_noise.shape == (6, 6, 4) and step_noise.std().item() == pytest.approx(0.1, rel=0.35)
    bridges = model.intervene(z_hat, prior, step_noise)
    assert len(bridges) == 5 and torch.equal(bridges[0], z_hat) and torch.equal(bridges[4], prior)
    codes, labels = model.bridge_batch(bridges)
    assert codes.shape == (30, 4) and labels.tolist() == [k for k in range(5) for _ in range(6)]


# ---------------------------------------------------------------- losses on hand-made tensors
def log_softmax(row: list[float], j: int) -> float:
    return row[j] - math.log(sum(math.exp(v) for v in row))


def test_intervention_loss_is_eq_1_averaged_over_k_and_the_batch():
    model = IVAAE(image_shape=(2,), latent_dim=4, t=2, encoder_loss="minimax", **TINY)
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5], [0.0, 3.0, 1.0], [1.0, -1.0, 0.0],
                           [0.2, 0.1, 2.0], [-1.0, 0.0, 1.5]])
    labels = torch.tensor([0, 0, 1, 1, 2, 2])  # two codes per bridge k = 0, 1, 2
    rows = logits.tolist()
    l_iv = -sum(log_softmax(rows[i], labels[i].item()) for i in range(6)) / 6  # -E_k E_x log D_k(T_k(E(x)))
    assert model.intervention_loss(logits, labels).item() == pytest.approx(l_iv, rel=1e-6)
    # E's terms: minimax = -L_IV; non-saturating = cross entropy against the prior's class t = 2
    assert model.encoder_adversarial_loss(logits, labels).item() == pytest.approx(-l_iv, rel=1e-6)
    model.encoder_loss = "non_saturating"
    expected = -sum(log_softmax(row, 2) for row in rows) / 6
    assert model.encoder_adversarial_loss(logits, labels).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("t", [1, 4])
def test_at_the_optimum_of_eq_1_the_loss_is_log_t_plus_1(t):
    """Theorem 2: identical bridges make D* uniform and L_IV = log(t + 1); any other D on identical
    inputs does worse (Gibbs' inequality)."""
    model = IVAAE(image_shape=(2,), latent_dim=4, t=t, bridge="radial", **TINY)
    labels = torch.arange(t + 1).repeat_interleave(3)
    assert model.intervention_loss(torch.zeros(3 * (t + 1), t + 1), labels).item() == pytest.approx(math.log(t + 1))
    logits = torch.randn(3, t + 1).repeat(t + 1, 1)  # the same prediction for every copy of an input
    assert model.intervention_loss(logits, labels).item() > math.log(t + 1)
    # a D trained on identical bridges (T_k = identity for every k) reaches log(t + 1) and no lower
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.discriminator.parameters(), lr=1e-2)
    for _ in range(150):
        z = torch.randn(64, 4)
        identical = z.repeat(t + 1, 1)  # T_k(z) = z for every k
        loss = model.intervention_loss(model.discriminator(identical), torch.arange(t + 1).repeat_interleave(64))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() == pytest.approx(math.log(t + 1), abs=0.02) and loss.item() >= math.log(t + 1) - 1e-5


def test_reconstruction_loss_is_waes_squared_l2_cost():
    x, x_hat = torch.tensor([[1.0, -1.0], [0.5, 0.0]]), torch.tensor([[0.0, -1.0], [1.0, 2.0]])
    expected = 0.05 * ((1.0 + 0.0) + (0.25 + 4.0)) / 2  # 0.05 * mean over the batch of ||x - x^||_2^2
    for model in (IVAAE(image_shape=(2,), **TINY), WAEMMD(image_shape=(2,), **TINY)):
        assert model.reconstruction_loss(x_hat, x).item() == pytest.approx(expected)


def imq_mmd_by_hand(z: list[list[float]], q: list[list[float]], c: float) -> float:
    k = lambda a, b: c / (c + sum((u - v) ** 2 for u, v in zip(a, b)))  # noqa: E731
    n, m = len(z), len(q)
    zz = sum(k(a, b) for i, a in enumerate(z) for j, b in enumerate(z) if i != j) / (n * (n - 1))
    qq = sum(k(a, b) for i, a in enumerate(q) for j, b in enumerate(q) if i != j) / (m * (m - 1))
    zq = sum(k(a, b) for a in z for b in q) / (n * m)
    return zz + qq - 2 * zq


def test_wae_mmd_penalty_is_the_unbiased_imq_estimate():
    z = [[0.0, 1.0], [1.0, -1.0], [0.5, 0.5]]
    q = [[2.0, 0.0], [1.0, 1.0], [-1.0, 0.0], [0.0, 0.0]]
    c = 2 * 2 * 1.0  # C = 2 d sigma^2
    value = losses.inverse_multiquadratic_mmd(torch.tensor(z), torch.tensor(q)).item()
    assert value == pytest.approx(imq_mmd_by_hand(z, q, c), rel=1e-5)
    multi = losses.inverse_multiquadratic_mmd(torch.tensor(z), torch.tensor(q), scales=(0.5, 2.0)).item()
    assert multi == pytest.approx(imq_mmd_by_hand(z, q, 0.5 * c) + imq_mmd_by_hand(z, q, 2 * c), rel=1e-5)
    model = WAEMMD(image_shape=(2,), **TINY)  # the WAE code's 7 scales, weight 10
    assert (model.kernel_scales, model.mmd_weight) == ((0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0), 10.0)
    seven = sum(imq_mmd_by_hand(z, q, s * c) for s in model.kernel_scales)
    assert model.mmd(torch.tensor(z), torch.tensor(q)).item() == pytest.approx(seven, rel=1e-5)
    torch.manual_seed(0)  # ~0 for two prior batches, large for a shifted one
    assert abs(losses.inverse_multiquadratic_mmd(torch.randn(500, 4), torch.randn(500, 4)).item()) < 0.01
    assert losses.inverse_multiquadratic_mmd(torch.randn(500, 4), torch.randn(500, 4) + 2).item() > 0.2
    with pytest.raises(ValueError, match="batch >= 2"):
        losses.inverse_multiquadratic_mmd(torch.zeros(1, 2), torch.zeros(3, 2))


# ---------------------------------------------------------------- hyper-parameters (§4)
def test_section_4_defaults():
    model = IVAAE(image_shape=(1, 64, 64))
    assert (model.t, model.lam, model.latent_dim) == (4, 1.0, 16)
    assert (model.bridge, model.encoder_loss) == ("blockwise", "non_saturating")
    assert (model.mu1, model.mu2) == pytest.approx((4 / 5, 2 / 5))  # mu1 = 4/(t+1), mu2 = 2/(t+1)
    hp = model.hparams
    assert (hp.lr_e, hp.lr_g, hp.lr_d, hp.mu1, hp.mu2) == pytest.approx((1e-3, 1e-3, 5e-4, 0.8, 0.4))
    assert hp.lr_milestones == [30, 50, 100] and hp.lr_decay_factors == [0.5, 0.2, 0.1]
    assert (hp.svgd_steps_per_bridge, hp.svgd_bandwidth_scale, hp.svgd_step_size, hp.svgd_noise_std) == (2, 100, 1, 0.1)
    assert IVAAE(image_shape=(2,), t=2, **TINY).mu1 == pytest.approx(4 / 3)
    assert ivaae_latent_dim((3, 64, 64)) == ivaae_latent_dim((3, 32, 32)) == 128  # CIFAR-10


@pytest.mark.parametrize("model_class", [WAEGAN, AAE])
def test_wae_gan_is_ivaae_with_t_1(model_class):
    model = model_class(image_shape=(1, 28, 28))
    assert isinstance(model, IVAAE) and model.t == 1 and model.latent_dim == 16
    assert (model.mu1, model.mu2, model.encoder_loss) == (2.0, 1.0, "non_saturating")
    assert model.discriminator(torch.zeros(2, 16)).shape == (2, 2)  # the 2-way latent discriminator
    assert "t" not in model.hparams and "bridge" not in model.hparams and "svgd_noise_std" not in model.hparams
    z_hat, prior = torch.randn(3, 16), torch.randn(3, 16)
    assert [torch.equal(a, b) for a, b in zip(model.intervene(z_hat, prior), (z_hat, prior))] == [True, True]


def test_t_must_divide_latent_dim_for_blockwise_bridges_naming_both():
    with pytest.raises(ValueError, match=r"t=3.*latent_dim=16"):
        IVAAE(image_shape=(1, 28, 28), t=3)
    with pytest.raises(ValueError, match=r"t=3.*latent_dim=8"):
        IVAAE(image_shape=(2,), latent_dim=8, t=3)
    assert IVAAE(image_shape=(2,), latent_dim=8, t=3, bridge="radial", **TINY).t == 3  # no block constraint


@pytest.mark.parametrize("kwargs, name", [
    ({"bridge": "polar"}, "bridge"), ({"t": 0}, "t"), ({"t": 2.5}, "t"), ({"lam": -1.0}, "lam"),
    ({"mu1": -0.1}, "mu1"), ({"mu2": -1.0}, "mu2"), ({"encoder_loss": "wasserstein"}, "encoder_loss"),
    ({"lr_e": 0.0}, "lr_e"), ({"lr_g": -1e-3}, "lr_g"), ({"lr_d": 0.0}, "lr_d"), ({"beta1": 1.0}, "beta1"),
    ({"beta2": -0.5}, "beta2"), ({"lr_milestones": [50, 30, 100]}, "lr_milestones"),
    ({"lr_decay_factors": [0.5, 0.2]}, "lr_decay_factors"), ({"lr_decay_factors": [0.5, 0.0, 0.1]}, "lr_decay_factors"),
    ({"svgd_steps_per_bridge": 0}, "svgd_steps_per_bridge"), ({"svgd_bandwidth_scale": 0.0}, "svgd_bandwidth_scale"),
    ({"svgd_step_size": -1.0}, "svgd_step_size"), ({"svgd_noise_std": -0.1}, "svgd_noise_std"),
    ({"hidden_dim": 0}, "hidden_dim"), ({"latent_dim": 0}, "latent_dim"), ({"image_shape": ()}, "image_shape")])
def test_bad_hyper_parameters_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        IVAAE(**{"image_shape": (2,), **kwargs})


@pytest.mark.parametrize("model_class, kwargs, name", [
    (WAEGAN, {"mu2": -1.0}, "mu2"), (WAEGAN, {"encoder_loss": "hinge"}, "encoder_loss"),
    (WAEMMD, {"mmd_weight": -1.0}, "mmd_weight"), (WAEMMD, {"kernel_scales": []}, "kernel_scales"),
    (WAEMMD, {"lr_e": 0.0}, "lr_e"), (WAEMMD, {"lam": -1.0}, "lam"), (WAEMMD, {"lr_milestones": [0]}, "lr_milestones")])
def test_baseline_bad_hyper_parameters_name_the_argument(model_class, kwargs, name):
    with pytest.raises(ValueError, match=name):
        model_class(**{"image_shape": (2,), **kwargs})


# ---------------------------------------------------------------- networks (Tables 3-4)
def linears(net: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in net.modules() if isinstance(m, nn.Linear)]


def test_table_3_mnist_networks():
    model = IVAAE(image_shape=(1, 64, 64))
    assert linears(model.encoder) == [(4096, 1024), (1024, 1024), (1024, 16)]
    assert linears(model.generator) == [(16, 1024), (1024, 1024), (1024, 4096)]
    assert linears(model.discriminator) == [(16, 1024), (1024, 1024), (1024, 5)]  # FC(t + 1)
    assert isinstance(model.generator[-2], nn.Tanh)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in model.modules())
    x = torch.rand(2, 1, 64, 64) * 2 - 1
    assert model.reconstruct(x).shape == (2, 1, 64, 64) and model.encoder_features(x).shape == (2, 1024)
    features = WAEMMD(image_shape=(1, 64, 64)).encoder_features(x)  # the WAE baseline probes the same layer
    assert features.shape == (2, 1024) and not features.requires_grad
    # ours: the same nets on MNIST's stored 28x28
    assert linears(IVAAE(image_shape=(1, 28, 28)).encoder)[0] == (784, 1024)


def test_table_4_conv_networks():
    model = IVAAE(image_shape=(3, 32, 32), latent_dim=64).eval()  # ours: Table 4 at half the side
    convs = [m for m in model.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (128, (5, 5), (2, 2)), (256, (5, 5), (2, 2)), (512, (5, 5), (2, 2)), (1024, (5, 5), (2, 2))]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.encoder.modules()) == 4
    assert linears(model.encoder) == [(1024 * 2 * 2, 64)]
    deconvs = [m for m in model.generator.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(c.out_channels, c.stride[0]) for c in deconvs] == [(512, 2), (256, 2), (128, 2), (3, 1)]
    assert linears(model.generator) == [(64, 1024 * 4 * 4)] and isinstance(model.generator[-1], nn.Tanh)
    assert linears(model.discriminator) == [(64, 512), (512, 512), (512, 512), (512, 512), (512, 5)]
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert model.reconstruct(x).shape == (2, 3, 32, 32) and model.encoder_features(x).shape == (2, 4096)
    # at 64x64 (the paper's size, built by the CIFAR-10 config below) E ends on 1024 x 4 x 4, G starts at 8 x 8


@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 28, 28), (3, 48, 48)])
def test_unsupported_shapes_say_what_is_supported(shape):
    with pytest.raises(UnsupportedShapeError, match=r"\(D,\).*\(1, 64, 64\).*\(C, 64, 64\).*--data.image_size 64"):
        IVAAE(image_shape=shape, latent_dim=16)


# ---------------------------------------------------------------- training: Algorithm 1
def toy_batches(n: int = 64, batch_size: int = 32, seed: int = 0) -> TensorBatches:
    """A 2-D Gaussian, N((1, 0), diag(1, 0.25)): the codes of a 2-D latent can match the prior."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=generator) * torch.tensor([1.0, 0.5]) + torch.tensor([1.0, 0.0])
    return TensorBatches((x, torch.zeros(n, dtype=torch.long)), batch_size, shuffle=True, drop_last=True)


@pytest.mark.parametrize("model_class, kwargs", [(IVAAE, {"bridge": "blockwise"}), (IVAAE, {"bridge": "radial"}),
                                                 (IVAAE, {"bridge": "svgd"}), (WAEGAN, {})])
def test_updates_follow_algorithm_1_and_move_only_their_own_network(model_class, kwargs, monkeypatch):
    """Lines 10-16: D, then G, then E. E's step reuses line 4's z^ = E(x) (E has not moved) and runs G
    and D frozen: no update leaves gradients in a network it does not own."""
    torch.manual_seed(0)
    model = model_class(image_shape=(2,), **kwargs, **TINY)
    records = record_updates(model, monkeypatch)
    trainer = quiet_trainer(max_steps=2)
    trainer.fit(model, train_dataloaders=toy_batches())
    order = ["discriminator", "generator", "encoder"] * 2
    assert [r["moved"] for r in records] == [{name} for name in order]
    assert [r["grads"] for r in records] == [{name} for name in order]
    ran = [r["ran"] for r in records[:3]]
    assert ran == [{"encoder", "discriminator"}, {"generator"}, {"generator", "discriminator"}]
    assert all(p.requires_grad for p in model.parameters())  # frozen networks are unfrozen again
    assert trainer.global_step == 2  # iterations, not the 6 optimizer steps
    assert {"loss/discriminator", "loss/generator", "loss/encoder", "loss/reconstruction",
            "loss/intervention"} <= set(trainer.callback_metrics)  # epoch means


def test_wae_mmd_updates_the_decoder_then_the_encoder(monkeypatch):
    torch.manual_seed(0)
    model = WAEMMD(image_shape=(2,), **TINY)
    records = record_updates(model, monkeypatch)
    trainer = quiet_trainer(max_steps=2)
    trainer.fit(model, train_dataloaders=toy_batches())
    assert [r["moved"] for r in records] == [{"generator"}, {"encoder"}] * 2
    assert [r["grads"] for r in records] == [{"generator"}, {"encoder"}] * 2
    assert trainer.global_step == 2 and "loss/mmd" in trainer.callback_metrics


def fit_only(model: IVAAE, steps: int, player: int) -> None:
    """Train with only the updates of optimizer ``player`` (0 D, 1 G, 2 E)."""
    original_update = type(model).update

    def update_only_player(self, optimizer, loss):
        if [o.optimizer for o in self.optimizers()].index(optimizer.optimizer) == player:
            original_update(self, optimizer, loss)

    model.update = update_only_player.__get__(model)
    quiet_trainer(max_steps=steps).fit(model, train_dataloaders=toy_batches(n=64 * steps, batch_size=64))


@pytest.mark.parametrize("player, encoder_loss, direction", [(0, "minimax", -1), (2, "minimax", +1),
                                                          (2, "non_saturating", -1)])
def test_signs_of_the_discriminator_and_encoder_steps(player, encoder_loss, direction):
    """Line 11 is ascent on sum log D_k, i.e. descent on L_IV; the minimax E ascends L_IV (Theorem 2: at D's
    optimum L_IV = log(t+1) - JS(p_0, ..., p_t)); the non-saturating E descends the cross entropy of the
    bridges against the prior's class t, i.e. makes D take them for prior samples."""
    torch.manual_seed(0)
    model = IVAAE(image_shape=(2,), bridge="radial", lam=0.0, lr_d=1e-2, lr_e=1e-2, hidden_dim=16,
                  encoder_loss=encoder_loss)
    x = toy_batches(n=512, batch_size=512).tensors[0]
    generator = torch.Generator().manual_seed(1)
    prior = torch.randn(512, model.latent_dim, generator=generator)

    def measured() -> float:  # L_IV (D, minimax E) or E's own non-saturating term
        with torch.no_grad():
            codes, labels = model.bridge_batch(model.intervene(model.encoder(x), prior))
            logits = model.discriminator(codes)
            if encoder_loss == "minimax":
                return model.intervention_loss(logits, labels).item()
            return model.encoder_adversarial_loss(logits, labels).item()

    before = measured()
    fit_only(model, 25, player)
    assert direction * (measured() - before) > 0.02


def test_lr_steps_after_30_50_and_100_epochs():
    """§4: x0.5 after 30 epochs, further x0.2 after 50 and x0.1 after 100: cumulative factors 0.5, 0.1,
    0.01 of each player's initial rate (GenerativeModule steps the schedulers at every epoch end)."""
    assert [step_decay((30, 50, 100), (0.5, 0.2, 0.1))(e) for e in (0, 29, 30, 49, 50, 99, 100, 300)] == \
        pytest.approx([1, 1, 0.5, 0.5, 0.1, 0.1, 0.01, 0.01])
    model = IVAAE(image_shape=(2,), hidden_dim=2)
    rates: dict[int, list[float]] = {}

    class RecordRates(L.Callback):
        def on_train_epoch_start(self, trainer, pl_module):
            rates[trainer.current_epoch] = [opt.param_groups[0]["lr"] for opt in trainer.optimizers]

    data = TensorBatches((torch.randn(2, 2), torch.zeros(2)), 2)  # one batch per epoch
    quiet_trainer(max_epochs=101, callbacks=[RecordRates()]).fit(model, train_dataloaders=data)
    initial = [5e-4, 1e-3, 1e-3]  # D, G, E
    for epoch, factor in ((0, 1.0), (29, 1.0), (30, 0.5), (49, 0.5), (50, 0.1), (99, 0.1), (100, 0.01)):
        assert rates[epoch] == pytest.approx([factor * lr for lr in initial]), epoch
    constant = IVAAE(image_shape=(2,), lr_milestones=[], lr_decay_factors=[], **TINY).configure_optimizers()
    assert isinstance(constant, list) and len(constant) == 3  # no schedulers


@pytest.mark.parametrize("model_class, kwargs", [
    (IVAAE, {"bridge": "blockwise", "t": 2}), (WAEMMD, {"mmd_weight": 1.0, "kernel_scales": [1.0]})])
def test_short_fit_reconstructs_and_pulls_the_codes_to_the_prior(model_class, kwargs):
    """150 iterations on a 2-D Gaussian: reconstructions improve >10x and the codes' FLD drops >4x (without
    the latent term, mu2 = 0, the IVAAE codes end at FLD ~3.2 from ~1.9 with this seed). lam = 10 makes
    WAE's cost 0.05 ||x - y||^2 of 2-D points an MSE, the scale it has for images relative to the latent term."""
    torch.manual_seed(0)
    rates = dict(lr_e=3e-3, lr_g=3e-3) if model_class is WAEMMD else dict(lr_e=3e-3, lr_g=3e-3, lr_d=3e-3)
    model = model_class(image_shape=(2,), hidden_dim=16, lam=10.0, **rates, **kwargs)
    x = toy_batches(n=2000, batch_size=2000, seed=1).tensors[0]

    def errors() -> tuple[float, float]:
        model.eval()
        result = (model.reconstruct(x) - x).pow(2).mean().item(), frechet_latent_distance(model.encode(x))
        model.train()
        return result

    (recon_before, fld_before) = errors()
    quiet_trainer(max_steps=150).fit(model, train_dataloaders=toy_batches(n=150 * 64, batch_size=64))
    recon_after, fld_after = errors()
    assert recon_after < 0.1 * recon_before and fld_after < 0.25 * fld_before, (recon_before, recon_after,
                                                                                fld_before, fld_after)


@pytest.mark.parametrize("model_class, kwargs", [(IVAAE, {"bridge": "svgd", "mu2": 0.3}), (WAEGAN, {}),
                                                 (WAEMMD, {"mmd_weight": 3.0})])
def test_checkpoint_round_trip_without_datamodule(model_class, kwargs, tmp_path):
    torch.manual_seed(0)
    model = model_class(image_shape=(2,), lr_milestones=[1], lr_decay_factors=[0.5], **kwargs, **TINY)
    trainer = quiet_trainer(max_epochs=2, default_root_dir=tmp_path)
    trainer.fit(model, train_dataloaders=toy_batches())
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    loaded = model_class.load_from_checkpoint(path, map_location="cpu").eval()
    model.eval()
    x = torch.randn(8, 2)
    assert type(loaded) is model_class and torch.equal(loaded.reconstruct(x), model.reconstruct(x))
    assert dict(loaded.hparams) == dict(model.hparams)
    for name, value in kwargs.items():
        assert getattr(loaded, name) == value
    schedulers = torch.load(path, weights_only=False)["lr_schedulers"]
    assert all(s["last_epoch"] == 2 and s["_last_lr"][0] == pytest.approx(0.5 * s["base_lrs"][0]) for s in schedulers)


@pytest.mark.parametrize("model_class, kwargs", [(IVAAE, {"bridge": "svgd"}), (WAEMMD, {})])
def test_resuming_mid_schedule_is_bit_identical(model_class, kwargs, tmp_path):
    """The step schedule and the SVGD noise survive a resume: 3 epochs in one go equal 1 + 2 resumed."""
    def new_model(seed: int):
        L.seed_everything(seed, verbose=False)
        return model_class(image_shape=(2,), lr_milestones=[1, 2], lr_decay_factors=[0.5, 0.2], **kwargs, **TINY)

    def data() -> Grid25:
        return Grid25(num_train=200, num_val=50, batch_size=50)

    uninterrupted = new_model(0)
    reliability_trainer(tmp_path / "a", max_epochs=3).fit(uninterrupted, datamodule=data())
    reliability_trainer(tmp_path / "b", max_epochs=1).fit(new_model(0), datamodule=data())
    resumed = new_model(123)
    run = reliability_trainer(tmp_path / "b", max_epochs=3)
    run.fit(resumed, datamodule=data(), ckpt_path=tmp_path / "b" / "checkpoints" / "last.ckpt")
    assert_same_weights(resumed, uninterrupted)
    initial = [group["initial_lr"] for opt in run.optimizers for group in opt.param_groups]
    assert [opt.param_groups[0]["lr"] for opt in run.optimizers] == pytest.approx([0.1 * lr for lr in initial])


def test_image_training_steps_run_and_bf16_mixed_keeps_losses_finite():
    torch.manual_seed(0)
    for shape, kwargs, precision in [((1, 28, 28), {"bridge": "svgd"}, "bf16-mixed"),
                                     ((3, 32, 32), {"bridge": "radial", "latent_dim": 32}, "32-true")]:
        model = IVAAE(image_shape=shape, **kwargs)
        x = torch.rand(8, *shape) * 2 - 1
        trainer = quiet_trainer(max_steps=2 if precision == "bf16-mixed" else 1, precision=precision)
        trainer.fit(model, train_dataloaders=TensorBatches((x, torch.zeros(8)), 4))
        assert trainer.global_step == trainer.max_steps
        loss_keys = [k for k in trainer.callback_metrics if k.startswith("loss/")]
        assert loss_keys and all(torch.isfinite(trainer.callback_metrics[k]) for k in loss_keys)
        assert all(torch.isfinite(p).all() and p.dtype == torch.float32 for p in model.parameters())


# ---------------------------------------------------------------- command line and paper configs
def cli_fit(tmp_path: Path, *args: str, steps: int = 2) -> dict:
    cli.main(["fit", *args, "--data.download", "false", "--data.batch_size", "4", "--trainer.max_steps", str(steps),
              "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(tmp_path / "runs")])
    return json.loads((tmp_path / "runs" / "lightning_logs" / "version_0" / "metrics.json").read_text())


def test_cli_fits_ivaae_on_64x64_mnist_files(mnist_root, tmp_path):  # noqa: F811
    root, _ = mnist_root
    metrics = cli_fit(tmp_path, "--model", "IVAAE", "--model.bridge", "radial", "--data", "MNIST",
                      "--data.image_size", "64", "--data.data_dir", str(root))
    assert metrics["model"] == "IVAAE" and metrics["status"] == "finished" and metrics["global_step"] == 2
    assert all(f"loss/{name}" in metrics for name in ("discriminator", "generator", "encoder", "intervention"))
    assert 0 < metrics["val/recon_mse"] < 1
    checkpoint = tmp_path / "runs" / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt"
    model = IVAAE.load_from_checkpoint(checkpoint, map_location="cpu")
    assert model.image_shape == (1, 64, 64) and model.latent_dim == 16 and model.bridge == "radial"


def test_cli_fits_wae_mmd_on_mnist_at_its_stored_size(mnist_root, tmp_path):  # noqa: F811
    root, _ = mnist_root
    metrics = cli_fit(tmp_path, "--model", "WAEMMD", "--data", "MNIST", "--data.data_dir", str(root), steps=1)
    assert metrics["model"] == "WAEMMD" and metrics["status"] == "finished" and "loss/mmd" in metrics


@pytest.mark.parametrize("config, model_class, shape, latent_dim, batch_size", [
    ("ivaae/mnist.yaml", IVAAE, (1, 64, 64), 16, 64), ("ivaae/cifar10.yaml", IVAAE, (3, 64, 64), 128, 128),
    ("baselines/wae_gan_mnist.yaml", WAEGAN, (1, 64, 64), 16, 64),
    ("baselines/wae_mmd_mnist.yaml", WAEMMD, (1, 64, 64), 16, 64)])
def test_paper_configs_build_the_papers_networks(config, model_class, shape, latent_dim, batch_size, tmp_path):
    the_cli = cli.main(["--config", str(ROOT / "configs" / config), "--data.init_args.data_dir", str(tmp_path)],
                       run=False)
    model, hp = the_cli.model, the_cli.model.hparams
    assert type(model) is model_class and model.image_shape == shape and model.latent_dim == latent_dim
    assert the_cli.datamodule.batch_size == batch_size and the_cli.trainer.max_epochs == 300  # §4: 300 epochs
    assert model.lam == 1.0
    if shape[0] == 1:  # §4 MNIST: Table 3, lr 1e-4 for G and D, 5e-5 for E, halved every 100 epochs
        assert linears(model.encoder)[0] == (4096, 1024)
        assert (hp.lr_g, hp.lr_e) == (1e-4, 5e-5) and hp.get("lr_d", 1e-4) == 1e-4
        assert hp.lr_milestones == [100, 200] and hp.lr_decay_factors == [0.5, 0.5]
    else:  # §4 CIFAR-10: Table 4 at 64x64, the general rates and steps
        assert linears(model.encoder) == [(1024 * 4 * 4, 128)] and linears(model.generator) == [(128, 1024 * 8 * 8)]
        assert (hp.lr_e, hp.lr_g, hp.lr_d) == (1e-3, 1e-3, 5e-4)
        assert hp.lr_milestones == [30, 50, 100] and hp.lr_decay_factors == [0.5, 0.2, 0.1]
    if model_class is IVAAE:
        assert model.t == 4 and (model.mu1, model.mu2) == pytest.approx((0.8, 0.4))
