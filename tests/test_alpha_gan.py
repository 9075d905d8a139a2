"""alpha-GAN: losses against alpha_gan.txt's formulas, Algorithm 1's update order and ownership,
the H.4 networks, inference API, checkpoints, bf16, paper configs and a CLI smoke run."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest
import torch
from torch import nn

import cli
from datamodules.base import TensorBatches
from helpers import quiet_trainer, record_updates, toy_batches
from zoo import AlphaGAN, AlphaGANEmpiricalKL
from zoo import losses
from zoo.nets import UnsupportedShapeError

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(hidden_dim=8, code_hidden_dim=8)  # fast toy networks


@pytest.fixture(autouse=True)
def one_intra_op_thread():
    """These networks are tiny: on 2 shared CPU cores a second intra-op thread makes a step ~8x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def sigmoid(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def R(t: float) -> float:
    """Algorithm 1 lines 3-4: R(x) = -log D(x) + log(1 - D(x)), D = sigmoid(logit)."""
    return -math.log(sigmoid(t)) + math.log(1 - sigmoid(t))


# ---------------------------------------------------------------- losses on hand-made tensors
def test_l1_reconstruction_is_the_mean_absolute_error():
    x = torch.tensor([[1.0, -1.0, 0.5], [0.0, 0.25, -0.5]])
    x_hat = torch.tensor([[0.5, -1.0, 1.0], [1.0, 0.0, -0.5]])
    per_sample_l1 = [0.5 + 0.0 + 0.5, 1.0 + 0.25 + 0.0]  # ||x - x^||_1 of each sample
    expected = sum(per_sample_l1) / 2 / 3  # batch mean, divided by the data size D = 3
    assert losses.l1_reconstruction(x_hat, x).item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="shape"):
        losses.l1_reconstruction(x_hat[:, :2], x)


def test_reverse_kl_loss_is_R_of_algorithm_1():
    logits = torch.tensor([-2.0, 0.0, 0.5, 3.0])
    expected = sum(R(t) for t in logits.tolist()) / 4
    assert losses.reverse_kl_generator_loss(logits).item() == pytest.approx(expected, rel=1e-5)


def test_discriminator_loss_is_eq_15():
    real, reconstructed, sampled = torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 0.5]), torch.tensor([1.0, -3.0])
    expected = (sum(-math.log(sigmoid(r)) - math.log(1 - sigmoid(h)) for r, h in zip([0.0, 2.0], [-1.0, 0.5])) / 2
                + sum(-math.log(1 - sigmoid(s)) for s in [1.0, -3.0]) / 2)
    assert losses.alpha_gan_discriminator_loss(real, reconstructed, sampled).item() == pytest.approx(expected, rel=1e-6)
    model = AlphaGAN(image_shape=(2,), **TINY)
    assert model.discriminator_loss(real, reconstructed, sampled).item() == pytest.approx(expected, rel=1e-6)


def test_code_discriminator_loss_is_eq_17():
    prior_logits, code_logits = torch.tensor([1.5, -0.5]), torch.tensor([0.25, -2.0])
    expected = (sum(-math.log(1 - sigmoid(c)) for c in [0.25, -2.0]) / 2
                + sum(-math.log(sigmoid(p)) for p in [1.5, -0.5]) / 2)
    model = AlphaGAN(image_shape=(2,), **TINY)
    assert model.code_discriminator_loss(prior_logits, code_logits).item() == pytest.approx(expected, rel=1e-6)


def test_encoder_loss_is_eq_11_and_generator_loss_is_eq_13():
    torch.manual_seed(0)
    model = AlphaGAN(image_shape=(2,), latent_dim=2, lambda_encoder=5.0, lambda_generator=50.0, **TINY)
    x = torch.tensor([[1.0, -1.0], [0.5, 0.0]])
    x_hat = torch.tensor([[0.0, -1.0], [1.0, 1.0]])
    z_hat = torch.tensor([[0.3, -0.2], [1.0, 2.0]])
    l1 = (1.0 + 0.0 + 0.5 + 1.0) / 4
    code_logits = model.code_discriminator(z_hat).flatten().tolist()
    expected_e = 5.0 * l1 + sum(R(t) for t in code_logits) / 2  # (11): no data-discriminator term
    assert model.encoder_loss(x, x_hat, z_hat).item() == pytest.approx(expected_e, rel=1e-5)
    reconstruction_logits, sample_logits = torch.tensor([0.5, -1.0]), torch.tensor([2.0, 0.0])
    expected_g = 50.0 * l1 + (R(0.5) + R(-1.0)) / 2 + (R(2.0) + R(0.0)) / 2  # (13)
    assert model.generator_loss(x, x_hat, reconstruction_logits, sample_logits).item() == pytest.approx(
        expected_g, rel=1e-5)


def empirical_kl_by_hand(z: list[list[float]]) -> float:
    """Appendix D eq. (18) with m_i, s_i the batch mean and (biased) standard deviation of dimension i,
    the constant taken as -n/2 (the Gaussian KL), then divided by the latent size n."""
    batch, n = len(z), len(z[0])
    total = 0.0
    for i in range(n):
        column = [row[i] for row in z]
        m = sum(column) / batch
        s = math.sqrt(sum((v - m) ** 2 for v in column) / batch)
        total += (s ** 2 + m ** 2) / 2 - math.log(s)
    return (total - n / 2) / n


def test_empirical_kl_is_eq_18_divided_by_the_latent_size():
    z = [[1.0, 0.5, -2.0], [3.0, 0.0, 1.0], [-1.0, 2.0, 0.5], [0.0, 1.5, 0.0]]
    value = losses.empirical_kl(torch.tensor(z)).item()
    assert value == pytest.approx(empirical_kl_by_hand(z), rel=1e-5)
    # a batch whose moments are the prior's (mean 0, std 1 per dimension) has zero KL
    assert losses.empirical_kl(torch.tensor([[1.0, -1.0], [-1.0, 1.0]])).item() == pytest.approx(0.0, abs=1e-6)
    assert math.isfinite(losses.empirical_kl(torch.ones(4, 3)).item())  # a collapsed batch stays finite
    with pytest.raises(ValueError, match="batch >= 2"):
        losses.empirical_kl(torch.zeros(1, 3))


def test_empirical_kl_variant_encoder_loss():
    model = AlphaGANEmpiricalKL(image_shape=(2,), latent_dim=2, lambda_encoder=1.0, hidden_dim=8)
    x, x_hat = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    z_hat = [[0.5, -1.0], [1.5, 2.0], [0.0, 0.0]]
    expected = (1.0 + 1.0) / 4 + empirical_kl_by_hand(z_hat)
    assert model.encoder_loss(x, x_hat, torch.tensor(z_hat)).item() == pytest.approx(expected, rel=1e-5)
    assert not hasattr(model, "code_discriminator")
    assert "lr_code_discriminator" not in model.hparams and "code_hidden_dim" not in model.hparams


def test_losses_are_float32_under_bf16_inputs():
    logits = torch.tensor([30.0, -30.0], dtype=torch.bfloat16)
    assert losses.reverse_kl_generator_loss(logits).dtype == torch.float32
    assert losses.alpha_gan_discriminator_loss(logits, logits, logits).dtype == torch.float32
    assert losses.empirical_kl(torch.randn(4, 3).bfloat16()).dtype == torch.float32
    assert losses.l1_reconstruction(logits.flip(0), logits).dtype == torch.float32


# ---------------------------------------------------------------- networks of H.4
def layers(net: nn.Module, kind: type[nn.Module]) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, kind)]


def test_colormnist_networks_are_tables_3_and_4():
    model = AlphaGAN(image_shape=(3, 28, 28), latent_dim=10)
    d_convs = layers(model.discriminator, nn.Conv2d)  # Table 3
    assert [(c.kernel_size, c.stride, c.out_channels) for c in d_convs] == [
        ((5, 5), (2, 2), 8), ((5, 5), (1, 1), 16), ((5, 5), (2, 2), 32), ((5, 5), (1, 1), 64), ((5, 5), (2, 2), 64)]
    assert model.discriminator(torch.zeros(2, 3, 28, 28)).shape == (2, 1)
    assert all(m.negative_slope == 0.2 for m in layers(model.discriminator, nn.LeakyReLU))
    g_linear = layers(model.generator, nn.Linear)  # Table 4
    assert [(m.in_features, m.out_features) for m in g_linear] == [(10, 3136)]
    g_convs = layers(model.generator, nn.ConvTranspose2d)
    assert [(c.kernel_size, c.stride, c.out_channels) for c in g_convs] == [
        ((5, 5), (2, 2), 64), ((5, 5), (1, 1), 32), ((5, 5), (2, 2), 3)]
    assert layers(model.generator, nn.ReLU) and isinstance(model.generator[-1], nn.Tanh)
    # the encoder is the generator transposed, with no output activation (H.4)
    e_convs = layers(model.encoder, nn.Conv2d)
    assert [(c.kernel_size, c.stride, c.out_channels) for c in e_convs] == [
        ((5, 5), (2, 2), 32), ((5, 5), (1, 1), 64), ((5, 5), (2, 2), 64)]
    assert isinstance(model.encoder[-1], nn.Linear) and model.encoder[-1].in_features == 3136
    # BatchNorm in every network but the code discriminator (H: 'batch normalization for all our experiments')
    assert all(layers(net, nn.BatchNorm2d) for net in (model.generator, model.encoder, model.discriminator))


def test_code_discriminator_is_a_3_layer_mlp_of_750_units():
    model = AlphaGAN(image_shape=(1, 28, 28), latent_dim=75)
    linears = layers(model.code_discriminator, nn.Linear)
    assert [(m.in_features, m.out_features) for m in linears] == [(75, 750), (750, 750), (750, 750), (750, 1)]
    assert not layers(model.code_discriminator, nn.BatchNorm1d)
    assert all(m.negative_slope == 0.2 for m in layers(model.code_discriminator, nn.LeakyReLU))


@pytest.mark.parametrize("size, g_widths, d_widths", [(32, [256, 128, 3], [128, 256, 512]),  # gan_cifar.py
                                                      (64, [256, 128, 64, 3], [64, 128, 256, 512])])  # gan_64x64.py
def test_cifar_and_celeba_networks_are_gulrajanis_dcgan(size, g_widths, d_widths):
    model = AlphaGAN(image_shape=(3, size, size))
    assert model.latent_dim == 100  # Figures 11-12
    assert [(m.in_features, m.out_features) for m in layers(model.generator, nn.Linear)] == [(100, 512 * 16)]
    g_convs = layers(model.generator, nn.ConvTranspose2d)
    assert [c.out_channels for c in g_convs] == g_widths and all(c.kernel_size == (5, 5) for c in g_convs)
    d_convs = layers(model.discriminator, nn.Conv2d)
    assert [c.out_channels for c in d_convs] == d_widths and all(c.stride == (2, 2) for c in d_convs)
    assert len(layers(model.discriminator, nn.BatchNorm2d)) == len(d_convs) - 1  # none on the first layer
    assert [c.out_channels for c in layers(model.encoder, nn.Conv2d)] == d_widths


@pytest.mark.parametrize("model_class, shape", [(AlphaGAN, (2,)), (AlphaGAN, (1, 28, 28)), (AlphaGAN, (3, 32, 32)),
                                                (AlphaGANEmpiricalKL, (3, 64, 64))])
def test_inference_api_shapes(model_class, shape):
    model = model_class(image_shape=shape).eval()
    x = torch.rand(3, *shape) * 2 - 1
    assert model.sample(5).shape == (5, *shape)
    assert model.encode(x).shape == (3, model.latent_dim)
    assert model.reconstruct(x).shape == (3, *shape)
    assert model.has_encoder and not model.training  # encode/generate leave the mode alone
    if len(shape) == 3:
        samples = model.sample(2)
        assert samples.min() >= -1 and samples.max() <= 1  # tanh output: the data range


def test_unsupported_shape_lists_supported_shapes():
    with pytest.raises(UnsupportedShapeError, match=r"\(D,\).*\(C, 28, 28\).*\(C, 32, 32\).*\(C, 64, 64\)"):
        AlphaGAN(image_shape=(3, 48, 48))


@pytest.mark.parametrize("kwargs, name", [
    ({"lambda_encoder": -1.0}, "lambda_encoder"), ({"lambda_generator": -0.5}, "lambda_generator"),
    ({"lr_generator_encoder": 0.0}, "lr_generator_encoder"), ({"lr_discriminator": -1e-4}, "lr_discriminator"),
    ({"lr_code_discriminator": 0.0}, "lr_code_discriminator"), ({"beta2": 1.0}, "beta2"), ({"beta1": -0.1}, "beta1"),
    ({"generator_updates": 0}, "generator_updates"), ({"generator_updates": 1.5}, "generator_updates"),
    ({"code_hidden_dim": 0}, "code_hidden_dim"), ({"latent_dim": 0}, "latent_dim"), ({"image_shape": ()}, "image_shape")])
def test_bad_hyper_parameters_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        AlphaGAN(**{"image_shape": (2,), **kwargs})


# ---------------------------------------------------------------- training
def test_update_order_is_algorithm_1_with_two_encoder_generator_rounds(monkeypatch):
    """Per iteration: E, G, E, G (§6: twice), then D, then C; each update moves only its own network,
    frozen networks collect no gradient, and the encoder's loss (11) never runs the data discriminator."""
    torch.manual_seed(0)
    model = AlphaGAN(image_shape=(2,), **TINY)
    records = record_updates(model, monkeypatch)
    quiet_trainer(max_steps=2).fit(model, train_dataloaders=toy_batches())
    order = ["encoder", "generator", "encoder", "generator", "discriminator", "code_discriminator"] * 2
    assert [r["moved"] for r in records] == [{name} for name in order]
    assert [r["grads"] for r in records] == [{name} for name in order]
    encoder_steps = [r for r, name in zip(records, order) if name == "encoder"]
    assert all(r["ran"] == {"encoder", "generator", "code_discriminator"} for r in encoder_steps)
    generator_steps = [r for r, name in zip(records, order) if name == "generator"]
    assert all(r["ran"] == {"encoder", "generator", "discriminator"} for r in generator_steps)
    assert records[5]["ran"] == {"code_discriminator"}  # z^ of the D step is reused: E and G did not move
    assert all(p.requires_grad for p in model.parameters())  # frozen networks are unfrozen again


def test_generator_updates_sets_the_number_of_encoder_generator_rounds(monkeypatch):
    torch.manual_seed(0)
    model = AlphaGAN(image_shape=(2,), generator_updates=1, **TINY)
    records = record_updates(model, monkeypatch)
    quiet_trainer(max_steps=1).fit(model, train_dataloaders=toy_batches())
    assert [r["moved"] for r in records] == [{"encoder"}, {"generator"}, {"discriminator"}, {"code_discriminator"}]


def test_empirical_kl_variant_has_no_code_discriminator_update(monkeypatch):
    torch.manual_seed(0)
    model = AlphaGANEmpiricalKL(image_shape=(2,), hidden_dim=8)
    records = record_updates(model, monkeypatch)
    trainer = quiet_trainer(max_steps=1)
    trainer.fit(model, train_dataloaders=toy_batches())
    assert [r["moved"] for r in records] == [{"encoder"}, {"generator"}] * 2 + [{"discriminator"}]
    assert records[0]["ran"] == {"encoder", "generator"}
    assert len(trainer.optimizers) == 3


def test_global_step_counts_training_iterations_not_optimizer_steps():
    model = AlphaGAN(image_shape=(2,), **TINY)
    trainer = quiet_trainer(max_steps=5)
    trainer.fit(model, train_dataloaders=toy_batches(n=256))
    assert trainer.global_step == 5  # 6 optimizer steps per iteration
    assert all(f"loss/{k}" in trainer.callback_metrics  # epoch means
               for k in ("encoder", "generator", "discriminator", "code_discriminator", "reconstruction_l1"))


@pytest.mark.parametrize("model_class", [AlphaGAN, AlphaGANEmpiricalKL])
def test_short_fit_improves_reconstruction(model_class):
    """100 iterations with the paper's default hyper-parameters on two 2-D Gaussians."""
    torch.manual_seed(0)
    kwargs = dict(hidden_dim=32, code_hidden_dim=32) if model_class is AlphaGAN else dict(hidden_dim=32)
    model = model_class(image_shape=(2,), **kwargs)
    x = torch.cat([batch[0] for batch in toy_batches(n=512, batch_size=512)])

    def reconstruction_error() -> float:
        return losses.l1_reconstruction(model.reconstruct(x), x).item()

    before = reconstruction_error()
    quiet_trainer(max_steps=100).fit(model, train_dataloaders=toy_batches(n=6400, batch_size=64))
    after = reconstruction_error()
    assert after < 0.25 * before, (before, after)


@pytest.mark.parametrize("model_class", [AlphaGAN, AlphaGANEmpiricalKL])
def test_checkpoint_round_trip_without_datamodule(model_class, tmp_path):
    torch.manual_seed(0)
    model = model_class(image_shape=(2,), latent_dim=3, lambda_encoder=5.0, hidden_dim=8)
    trainer = quiet_trainer(max_steps=2, default_root_dir=tmp_path)
    trainer.fit(model, train_dataloaders=toy_batches())
    path = tmp_path / "alpha_gan.ckpt"
    trainer.save_checkpoint(path)
    loaded = model_class.load_from_checkpoint(path, map_location="cpu").eval()
    model.eval()
    x = torch.randn(8, 2)
    assert torch.equal(loaded.reconstruct(x), model.reconstruct(x))
    assert loaded.latent_dim == 3 and loaded.lambda_encoder == 5.0 and loaded.generator_updates == 2


def test_image_training_steps_run_and_bf16_mixed_keeps_losses_finite():
    torch.manual_seed(0)
    for shape, precision in [((1, 28, 28), "bf16-mixed"), ((3, 32, 32), "32-true")]:
        model = AlphaGAN(image_shape=shape, code_hidden_dim=64)
        x = torch.rand(8, *shape) * 2 - 1
        trainer = quiet_trainer(max_steps=2 if precision == "bf16-mixed" else 1, precision=precision)
        trainer.fit(model, train_dataloaders=TensorBatches((x, torch.zeros(8)), 4))
        assert trainer.global_step == trainer.max_steps
        loss_keys = [k for k in trainer.callback_metrics if k.startswith("loss/")]
        assert loss_keys and all(torch.isfinite(trainer.callback_metrics[k]) for k in loss_keys)
        assert all(torch.isfinite(p).all() and p.dtype == torch.float32 for p in model.parameters())


# ---------------------------------------------------------------- configs and the command line
@pytest.mark.parametrize("config, shape, latent_dim, max_steps", [("alpha_gan/mnist.yaml", (1, 28, 28), 50, 100_000),
                                                                  ("alpha_gan/cifar10.yaml", (3, 32, 32), 100, 200_000)])
def test_paper_configs_build_the_papers_networks(config, shape, latent_dim, max_steps, tmp_path):
    the_cli = cli.main(["--config", str(ROOT / "configs" / config), "--data.data_dir", str(tmp_path)], run=False)
    model = the_cli.model
    assert type(model) is AlphaGAN and model.image_shape == shape and model.latent_dim == latent_dim
    assert the_cli.datamodule.batch_size == 64 and the_cli.trainer.max_steps == max_steps  # H
    hp = model.hparams
    assert (hp.beta1, hp.beta2) == (0.5, 0.9) and hp.generator_updates == 2  # H, §6
    assert hp.lr_generator_encoder in (1e-4, 5e-4) and hp.lr_discriminator == hp.lr_code_discriminator == 5e-4  # Table 2
    assert model.lambda_encoder in (1, 5, 10, 50) and model.lambda_generator in (1, 5, 10, 50)  # H.1
    assert all(c.kernel_size == (5, 5) for c in layers(model.discriminator, nn.Conv2d))
    assert layers(model.code_discriminator, nn.Linear)[0].out_features == 750


def write_mnist_idx(root: Path) -> None:
    """20 train + 10 test random 28x28 'digits' as genuine IDX files (as tests/test_datamodules.py)."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, count, seed in (("train", 20, 0), ("t10k", 10, 1)):
        images = torch.randint(0, 256, (count, 28, 28), generator=torch.Generator().manual_seed(seed)).to(torch.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, count, 28, 28)
                                                          + images.numpy().tobytes())
        labels = (torch.arange(count) % 10).to(torch.uint8)
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, count) + labels.numpy().tobytes())


def test_cli_fits_alpha_gan_on_mnist_files(tmp_path):
    write_mnist_idx(tmp_path / "data")
    cli.main(["fit", "--model", "AlphaGAN", "--model.code_hidden_dim", "64", "--data", "MNIST",
              "--data.data_dir", str(tmp_path / "data"), "--data.download", "false", "--data.batch_size", "4",
              "--trainer.max_steps", "2", "--trainer.enable_progress_bar", "false",
              "--trainer.default_root_dir", str(tmp_path)])
    run_dir = tmp_path / "lightning_logs" / "version_0"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["model"] == "AlphaGAN" and metrics["status"] == "finished" and metrics["global_step"] == 2
    assert "loss/code_discriminator" in metrics and 0.0 < metrics["val/recon_mse"]
    model = AlphaGAN.load_from_checkpoint(run_dir / "checkpoints" / "last.ckpt", map_location="cpu")
    assert model.image_shape == (1, 28, 28) and model.latent_dim == 50
