"""bf16 mixed precision (``--trainer.precision bf16-mixed``) for every model of the zoo (issue 9).

Three layers: every model fits a few steps under bf16 autocast on 2-D toy data and on 28x28 images
(finite float32 losses, every network moved, float32 master weights and optimiser state); every loss
of :mod:`zoo.losses` (and the SVGD kernel, the gradient penalty, ALI's reparameterisation) upcasts its
bf16 inputs itself, i.e. under autocast it returns float32 and equals its formula evaluated in float64
on the same (bf16-rounded) inputs; the evaluation callbacks run on a bf16-mixed fit and write float32
images in [0, 1]. bf16 autocast works on the CPU, so all of it runs without a GPU.
"""

from __future__ import annotations

import copy
import inspect
import json
import math
from pathlib import Path

import lightning as L
import pytest
import torch
from torch import Tensor, nn

import cli
import zoo
from callbacks import images as image_callbacks
from callbacks.fidelity import to_uint8_rgb
from callbacks.mode_counting import mode_metrics
from callbacks.reconstruction import reconstruction_mse
from datamodules.base import TensorBatches
from test_datamodules import mnist_root  # noqa: F401  (fixture writing genuine MNIST IDX files)
from zoo import losses
from zoo.interventions import (
    block_substitution,
    prefix_block_substitution,
    radial_substitution,
    svgd_bandwidth,
    svgd_bridges,
    svgd_step,
)

MODELS = [name for name in zoo.__all__
          if isinstance(getattr(zoo, name), type) and getattr(zoo, name) is not zoo.GenerativeModule]
IMAGE_SHAPE = (1, 28, 28)  # the smallest image shape every model's networks support
BF16 = torch.bfloat16


def autocast():
    return torch.autocast("cpu", dtype=BF16)


# ---------------------------------------------------------------- every model fits under bf16-mixed
def small_model(name: str, shape: tuple[int, ...]) -> zoo.GenerativeModule:
    cls = getattr(zoo, name)
    accepted = inspect.signature(cls.__init__).parameters
    wanted = {"hidden_dim": 16, "code_hidden_dim": 32, "critic_steps": 2}
    return cls(image_shape=shape, **{k: v for k, v in wanted.items() if k in accepted})


def children_parameters(model: nn.Module) -> dict[str, list[Tensor]]:
    return {name: [p.detach().clone() for p in child.parameters()] for name, child in model.named_children()
            if any(True for _ in child.parameters())}


@pytest.mark.parametrize("shape", [(2,), IMAGE_SHAPE], ids=["toy", "28x28"])
@pytest.mark.parametrize("name", MODELS)
def test_every_model_fits_under_bf16_mixed(name, shape):
    torch.manual_seed(0)
    model = small_model(name, shape)
    before = children_parameters(model)
    output_dtypes: set[torch.dtype] = set()

    def record(module, inputs, output):
        for out in output if isinstance(output, tuple) else (output,):
            if isinstance(out, Tensor):
                output_dtypes.add(out.dtype)

    hooks = [module.register_forward_hook(record) for module in model.modules() if not list(module.children())]
    x = torch.rand(8, *shape) * 2 - 1
    trainer = L.Trainer(precision="bf16-mixed", accelerator="cpu", max_steps=2, log_every_n_steps=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, train_dataloaders=TensorBatches((x, torch.zeros(8)), 4))
    for hook in hooks:
        hook.remove()

    assert trainer.global_step == 2
    assert BF16 in output_dtypes, "the networks never ran in bf16: autocast was not active"
    metrics = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("loss/")}
    assert metrics
    for key, value in metrics.items():
        assert value.dtype == torch.float32 and torch.isfinite(value), f"{key} = {value!r}"
    after = children_parameters(model)
    unmoved = [net for net, params in before.items() if all(torch.equal(a, b) for a, b in zip(params, after[net]))]
    assert not unmoved, f"networks not trained under bf16-mixed: {unmoved}"
    for tensor_name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if tensor.is_floating_point():  # master weights and BatchNorm statistics stay float32
            assert tensor.dtype == torch.float32 and torch.isfinite(tensor).all(), tensor_name
    for optimizer in trainer.optimizers:
        for state in optimizer.state.values():
            assert all(v.dtype == torch.float32 for v in state.values() if torch.is_tensor(v) and v.ndim > 0)
    with torch.no_grad():
        assert model.sample(3).dtype == torch.float32  # and inference outside autocast is plain float32


# ---------------------------------------------------------------- every loss upcasts its inputs itself
def bf16(*shape: int, scale: float = 1.0, shift: float = 0.0) -> Tensor:
    return (shift + scale * torch.randn(*shape)).to(BF16)


def softplus64(t: Tensor) -> Tensor:
    return torch.log1p(torch.exp(-t.abs())) + t.clamp_min(0)


def imq_mmd64(z: Tensor, q: Tensor, scales=(1.0,)) -> Tensor:
    n, m, d = z.size(0), q.size(0), z.size(1)
    total = torch.zeros((), dtype=torch.float64)
    for scale in scales:
        c = 2.0 * d * scale

        def k(a, b):
            return c / (c + ((a[:, None] - b[None]) ** 2).sum(-1))
        off = lambda kk: kk.sum() - kk.diagonal().sum()  # noqa: E731
        total = total + off(k(z, z)) / (n * (n - 1)) + off(k(q, q)) / (m * (m - 1)) - 2 * k(z, q).mean()
    return total


def gaussian_nll64(z, mean, log_variance):
    normal = torch.distributions.Normal(mean, torch.exp(0.5 * log_variance))
    return -normal.log_prob(z).sum(1).mean()


def empirical_kl64(z):
    mean, variance = z.mean(0), z.var(0, unbiased=False)
    return (0.5 * (variance + mean**2) - 0.5 * torch.log(variance) - 0.5).mean()


def cross_entropy64(logits, labels):
    return -torch.log_softmax(logits, 1)[torch.arange(len(labels)), labels].mean()


N, D = 64, 32
# name -> (bf16 inputs, the formula in float64). Scales are chosen so that a bf16 evaluation would be off
# by far more than the tolerance: sums over 32 dimensions, large log-variances, logits of magnitude ~10.
LOSS_CASES = {
    "gan_discriminator_loss": ((bf16(N, 1, scale=8), bf16(N, 1, scale=8)),
                               lambda r, f: softplus64(-r).mean() + softplus64(f).mean()),
    "gan_generator_loss": ((bf16(N, 1, scale=8),), lambda f: softplus64(-f).mean()),
    "reverse_kl_generator_loss": ((bf16(N, 1, scale=8),), lambda t: -t.mean()),
    "alpha_gan_discriminator_loss": ((bf16(N, 1, scale=8), bf16(N, 1, scale=8), bf16(N, 1, scale=8)),
                                     lambda r, x, s: softplus64(-r).mean() + softplus64(x).mean()
                                     + softplus64(s).mean()),
    "empirical_kl": ((bf16(N, D, scale=0.05, shift=0.3),), empirical_kl64),
    "wasserstein_critic_loss": ((bf16(N, 1, scale=8, shift=100), bf16(N, 1, scale=8, shift=101)),
                                lambda r, f: f.mean() - r.mean()),
    "wasserstein_generator_loss": ((bf16(N, 1, scale=8, shift=100),), lambda f: -f.mean()),
    "fgan_kl_discriminator_loss": ((bf16(N, 1, scale=2), bf16(N, 1, scale=2, shift=3)),
                                   lambda r, f: -(r.mean() - torch.exp(f - 1).mean())),
    "fgan_kl_generator_loss": ((bf16(N, 1, scale=8),), lambda f: -f.mean()),
    "fgan_kl_minimax_generator_loss": ((bf16(N, 1, scale=2),), lambda f: -torch.exp(f - 1).mean()),
    "joint_generator_loss": ((bf16(N, 1, scale=8), bf16(N, 1, scale=8)),
                             lambda e, g: softplus64(e).mean() + softplus64(-g).mean()),
    "density_ratio_generator_loss": ((bf16(N, 1, scale=8),), lambda g: g.mean()),
    "squared_l2_reconstruction": ((bf16(N, 3, 8, 8), bf16(N, 3, 8, 8)),
                                  lambda a, b: ((a - b) ** 2).flatten(1).sum(1).mean()),
    "l2_reconstruction": ((bf16(N, 3, 8, 8), bf16(N, 3, 8, 8)), lambda a, b: ((a - b) ** 2).mean()),
    "l1_reconstruction": ((bf16(N, 3, 8, 8), bf16(N, 3, 8, 8)), lambda a, b: (a - b).abs().mean()),
    "wae_squared_l2_cost": ((bf16(N, 3, 8, 8), bf16(N, 3, 8, 8)),
                            lambda a, b: 0.05 * ((a - b) ** 2).flatten(1).sum(1).mean()),
    "cosine_distance": ((bf16(N, D, shift=3), bf16(N, D, shift=3)),
                        lambda a, b: (1 - (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))).mean()),
    "gaussian_nll": ((bf16(N, D, scale=3), bf16(N, D, scale=3), bf16(N, D, scale=4)), gaussian_nll64),
    "standard_normal_kl": ((bf16(N, D, scale=3), bf16(N, D, scale=4)),
                           lambda m, v: 0.5 * (m**2 + torch.exp(v) - v - 1).sum(1).mean()),
    "feature_gaussian_nll": ((bf16(N, 3, 8, 8), bf16(N, 3, 8, 8)),
                             lambda a, b: 0.5 * ((a - b) ** 2).flatten(1).sum(1).mean()),
    "unit_gaussian_nll": ((bf16(N, D, scale=3), bf16(N, D, scale=3)),
                          lambda z, m: -torch.distributions.Normal(m, 1.0).log_prob(z).sum(1).mean()),
    "hinge_discriminator_loss": ((bf16(N, 1, scale=2, shift=0.5), bf16(N, 1, scale=2, shift=-0.5)),
                                 lambda r, f: (1 - r).clamp_min(0).mean() + (1 + f).clamp_min(0).mean()),
    "least_squares_discriminator_loss": ((bf16(N, 1, scale=8), bf16(N, 1, scale=8)),
                                         lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f**2).mean()),
    "least_squares_generator_loss": ((bf16(N, 1, scale=8),), lambda f: 0.5 * ((f - 1) ** 2).mean()),
    "intervention_cross_entropy": ((bf16(N, 5, scale=8), torch.randint(5, (N,))), cross_entropy64),
    "intervention_loss": ((bf16(N, 5, scale=8), torch.randint(5, (N,))), lambda t, y: -cross_entropy64(t, y)),
    "inverse_multiquadratic_mmd": ((bf16(N, D), bf16(N, D, scale=1.1, shift=0.05)), imq_mmd64),
}


def to64(value):
    return value.double() if torch.is_tensor(value) and value.is_floating_point() else value


def test_every_loss_of_zoo_losses_is_checked_here():
    public = {name for name, f in inspect.getmembers(losses, inspect.isfunction)
              if f.__module__ == losses.__name__ and not name.startswith("_")}
    assert public - set(LOSS_CASES) == {"gradient_penalty"}  # tested below, it takes a critic


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_loss_upcasts_bf16_inputs_and_equals_its_float64_formula(name):
    inputs, formula = LOSS_CASES[name]
    with autocast():
        value = getattr(losses, name)(*inputs)
    assert value.dtype == torch.float32
    expected = formula(*(to64(v) for v in inputs))  # the same bf16-rounded numbers, exactly represented
    assert value.item() == pytest.approx(expected.item(), rel=1e-5, abs=1e-5)


def test_a_loss_evaluated_in_bf16_would_fail_that_check():
    """The check above has teeth: the Gaussian NLL's formula in bf16 misses the float64 value."""
    z, mean, log_variance = LOSS_CASES["gaussian_nll"][0]
    with autocast():
        naive = (0.5 * ((z - mean).pow(2) * torch.exp(-log_variance) + log_variance + losses.LOG_2PI)
                 .sum(1).mean())
    expected = gaussian_nll64(*(to64(v) for v in (z, mean, log_variance)))
    assert naive.dtype == BF16 and naive.item() != pytest.approx(expected.item(), rel=1e-5, abs=1e-5)


def test_gradient_penalty_runs_the_critic_in_float32_under_autocast():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(48, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
    real, fake, epsilon = bf16(16, 3, 4, 4), bf16(16, 3, 4, 4), torch.rand(16)
    with autocast():
        penalty = losses.gradient_penalty(critic, real, fake, epsilon)
    assert penalty.dtype == torch.float32
    # float64 reference: the same critic and the same bf16-rounded inputs
    critic64 = copy.deepcopy(critic).double()
    eps = epsilon.double().view(-1, 1, 1, 1)
    interpolates = (eps * real.double() + (1 - eps) * fake.double()).requires_grad_(True)
    (gradients,) = torch.autograd.grad(critic64(interpolates).sum(), interpolates)
    expected = ((gradients.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-5)
    penalty.backward()  # create_graph: the penalty reaches the critic's float32 weights (not the last bias)
    weights = [layer.weight for layer in critic if isinstance(layer, nn.Linear)]
    assert all(w.grad is not None and w.grad.dtype == torch.float32 and torch.isfinite(w.grad).all() for w in weights)


def svgd_step64(z: Tensor, h: float, step_size: float = 1.0) -> Tensor:
    m = z.size(0)
    out = z.clone()
    for i in range(m):
        total = torch.zeros_like(z[i])
        for j in range(m):
            k = torch.exp(-((z[j] - z[i]) ** 2).sum() / h)
            total += k * (-z[j]) + (2.0 / h) * (z[i] - z[j]) * k
        out[i] = z[i] + step_size / m * total
    return out


def test_svgd_kernel_and_bandwidth_are_float32_under_autocast():
    torch.manual_seed(0)
    particles = bf16(12, 6, scale=2)
    with autocast():
        bandwidth = svgd_bandwidth(particles, scale=1.0)
        updated = svgd_step(particles, bandwidth)
    assert bandwidth.dtype == updated.dtype == torch.float32
    p64 = particles.double()
    distances = ((p64[:, None] - p64[None]) ** 2).sum(-1)
    rows, cols = torch.triu_indices(12, 12, offset=1)
    h64 = distances[rows, cols].median() / math.log(12)
    assert bandwidth.item() == pytest.approx(h64.item(), rel=1e-5)
    torch.testing.assert_close(updated.double(), svgd_step64(p64, bandwidth.item()), rtol=1e-5, atol=1e-5)


def test_svgd_bridges_and_substitutions_accept_bf16_codes_with_float32_noise():
    torch.manual_seed(0)
    z = bf16(8, 4).requires_grad_(True)
    prior, step_noise = torch.randn(8, 4), 0.1 * torch.randn(2, 8, 4)
    with autocast():
        bridges = svgd_bridges(z, t=2, prior=prior, step_noise=step_noise, steps_per_bridge=2)
        blockwise = prefix_block_substitution(z, 1, 2, prior)
        radial = radial_substitution(z, 1, 2, prior)
        blocks = block_substitution(z, torch.tensor([0, 1] * 4), 2, prior)
    assert [b.dtype for b in bridges] == [BF16, torch.float32, torch.float32]
    assert blockwise.dtype == radial.dtype == blocks.dtype == BF16  # the codes' own dtype, no mixed-dtype errors
    torch.testing.assert_close(blockwise[:, 2:], z[:, 2:])
    sum(b.float().sum() for b in (*bridges[:2], blockwise, radial, blocks)).backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()


def test_ali_reparameterisation_and_aim_posterior_samples_are_float32_under_autocast():
    mean, log_variance = bf16(16, 4), bf16(16, 4, scale=3)
    torch.manual_seed(1)
    with autocast():
        z_hat = zoo.ALI.reparameterise(mean, log_variance)
    torch.manual_seed(1)
    eps = torch.randn(16, 4)
    assert z_hat.dtype == torch.float32
    torch.testing.assert_close(z_hat, mean.float() + torch.exp(0.5 * log_variance.float()) * eps)
    model = zoo.AIM(image_shape=(2,), hidden_dim=16).eval()
    with autocast():
        neighbours = model.sample_posterior(torch.randn(3, 2), 5)
    assert neighbours.shape == (3, 5, 2) and torch.isfinite(neighbours).all()


# ---------------------------------------------------------------- evaluation callbacks under bf16-mixed
def test_callback_metrics_are_float32_for_bf16_model_outputs():
    torch.manual_seed(0)
    x = torch.rand(16, 1, 8, 8) * 2 - 1
    x_rec = (x + 0.01 * torch.randn_like(x)).to(BF16)
    mse = reconstruction_mse(x, x_rec)
    assert mse.dtype == torch.float32
    assert mse.item() == pytest.approx((((x.double() - x_rec.double()) / 2) ** 2).mean().item(), rel=1e-6)
    centers = torch.tensor([[x, y] for x in (-4.0, 0.0, 4.0) for y in (-4.0, 0.0, 4.0)])
    samples = (centers.repeat(20, 1) + 0.05 * torch.randn(180, 2)).to(BF16)
    # cdist in bf16 (|a|^2 + |b|^2 - 2ab) is off by up to ~0.3 here, twice the 3-std threshold of 0.15
    assert mode_metrics(samples, centers, 0.05) == mode_metrics(samples.float(), centers, 0.05)
    images = bf16(4, 3, 8, 8, scale=2)
    unit = image_callbacks.to_unit_range(images)
    assert unit.dtype == torch.float32 and 0 <= unit.min() and unit.max() <= 1
    assert torch.equal(to_uint8_rgb(images), to_uint8_rgb(images.float()))


@pytest.fixture
def saved_images(monkeypatch) -> list[Tensor]:
    """Every tensor the image callbacks pass to ``save_image``, in order."""
    saved: list[Tensor] = []
    original = image_callbacks.save_image

    def recording_save_image(tensor, path, **kwargs):
        saved.append(tensor)
        return original(tensor, path, **kwargs)

    monkeypatch.setattr(image_callbacks, "save_image", recording_save_image)
    return saved


def test_image_panels_made_under_autocast_are_float32_in_unit_range(tmp_path, saved_images):
    torch.manual_seed(0)
    model = zoo.AIM(image_shape=IMAGE_SHAPE).eval()
    with autocast():  # the panels' own forward passes in bf16
        written = image_callbacks.write_demo(model, torch.rand(4, *IMAGE_SHAPE) * 2 - 1, tmp_path, num_samples=4,
                                             posterior_samples=2)
    assert {p.name for p in written} == {"samples.png", "reconstructions.png", "interpolations.png",
                                         "posterior_samples.png"}
    assert len(saved_images) == 4
    assert all(t.dtype == torch.float32 and 0 <= t.min() and t.max() <= 1 for t in saved_images)


def cli_fit(tmp_path: Path, *args: str) -> dict:
    cli.main(["fit", *args, "--trainer.precision", "bf16-mixed", "--trainer.accelerator", "cpu",
              "--trainer.max_steps", "2", "--trainer.enable_progress_bar", "false",
              "--trainer.default_root_dir", str(tmp_path / "runs")])
    return json.loads((tmp_path / "runs" / "lightning_logs" / "version_0" / "metrics.json").read_text())


def assert_finished_with_finite_metrics(metrics: dict, expected: set[str]) -> None:
    assert metrics["status"] == "finished" and metrics["global_step"] == 2
    assert expected <= set(metrics)
    numbers = {k: v for k, v in metrics.items() if k not in ("model", "data", "status")}
    # MetricsSummary writes a non-finite value as null
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in numbers.values()), numbers


def test_cli_default_callbacks_on_a_bf16_toy_fit(tmp_path):
    metrics = cli_fit(tmp_path, "--model", "AIM", "--model.hidden_dim", "16", "--data", "Grid25",
                      "--data.num_train", "200", "--data.num_val", "100", "--data.batch_size", "50")
    assert_finished_with_finite_metrics(metrics, {"loss/generator", "loss/encoder", "val/recon_mse",
                                                  "modes/captured", "modes/high_quality"})
    images = tmp_path / "runs" / "lightning_logs" / "version_0" / "images"
    assert {"scatter_samples_last.png", "scatter_reconstructions_last.png"} <= {p.name for p in images.iterdir()}


def test_cli_default_callbacks_on_a_bf16_image_fit(mnist_root, tmp_path, saved_images):  # noqa: F811
    root, _ = mnist_root
    metrics = cli_fit(tmp_path, "--model", "AlphaGAN", "--model.code_hidden_dim", "32", "--data", "MNIST",
                      "--data.download", "false", "--data.batch_size", "4", "--data.data_dir", str(root))
    assert_finished_with_finite_metrics(metrics, {"loss/encoder", "loss/generator", "val/recon_mse"})
    assert len(saved_images) == 3  # samples, reconstructions, interpolations on the final weights
    assert all(t.dtype == torch.float32 and 0 <= t.min() and t.max() <= 1 for t in saved_images)
