"""ALI, ALICE, VEEGAN and AGE: losses against their papers' formulas on hand-made tensors, each
algorithm's update order and ownership, the networks they share with AIM / alpha-GAN, AGE's sphere,
training, checkpoints, bf16, the command line and the configs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

import cli
from datamodules.base import TensorBatches
from test_datamodules import mnist_root  # noqa: F401  (fixture writing genuine MNIST IDX files)
from helpers import quiet_trainer, record_updates, toy_batches
from zoo import AGE, AIM, ALI, ALICE, VEEGAN, AlphaGAN
from zoo import losses
from zoo.nets import JointDiscriminator, UnsupportedShapeError

ROOT = Path(__file__).resolve().parents[1]
JOINT_MODELS = (ALI, ALICE, VEEGAN)
ALL_MODELS = (ALI, ALICE, VEEGAN, AGE)


@pytest.fixture(autouse=True)
def one_intra_op_thread():
    """These networks are tiny: on 2 shared CPU cores a second intra-op thread only slows a step down."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def sigmoid(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def gaussian_kl_per_dimension(z: list[list[float]]) -> float:
    """alpha_gan.txt eq. (18) with the batch mean m_i and (biased) standard deviation s_i of each latent
    dimension, constant -1/2 per dimension (the Gaussian KL), averaged over the M dimensions."""
    batch, m_dims = len(z), len(z[0])
    total = 0.0
    for i in range(m_dims):
        column = [row[i] for row in z]
        m = sum(column) / batch
        s = math.sqrt(sum((v - m) ** 2 for v in column) / batch)
        total += (s ** 2 + m ** 2) / 2 - math.log(s) - 0.5
    return total / m_dims


# ---------------------------------------------------------------- losses on hand-made tensors
def test_ali_losses_are_the_joint_game_with_the_non_saturating_generator_loss():
    encoder_logits, generator_logits = [0.5, -1.0], [2.0, -0.25]
    expected_d = (sum(-math.log(sigmoid(t)) for t in encoder_logits) / 2  # encoder pairs (x, E(x)) real
                  + sum(-math.log(1 - sigmoid(t)) for t in generator_logits) / 2)  # generator pairs fake
    expected_ge = (sum(-math.log(1 - sigmoid(t)) for t in encoder_logits) / 2  # labels swapped (ALI code)
                   + sum(-math.log(sigmoid(t)) for t in generator_logits) / 2)
    e, g = torch.tensor(encoder_logits), torch.tensor(generator_logits)
    model = ALI(image_shape=(2,), hidden_dim=8)
    assert model.discriminator_loss(e, g).item() == pytest.approx(expected_d, rel=1e-6)
    assert losses.joint_generator_loss(e, g).item() == pytest.approx(expected_ge, rel=1e-6)
    loss, terms = model.generator_encoder_loss(e, g, torch.zeros(2, 2), torch.zeros(2, 2))
    assert loss.item() == pytest.approx(expected_ge, rel=1e-6) and set(terms) == {"generator_encoder"}


def test_alice_adds_lambda_times_the_cycle_reconstruction():
    x = torch.tensor([[1.0, -1.0], [0.5, 0.0]])
    x_rec = torch.tensor([[0.0, -1.0], [1.0, 2.0]])
    squared = (1.0 + 0.0 + 0.25 + 4.0) / 4  # per-element mean of (x - x')^2 (the ALICE code's cost_x)
    absolute = (1.0 + 0.0 + 0.5 + 2.0) / 4
    assert losses.l2_reconstruction(x_rec, x).item() == pytest.approx(squared, rel=1e-6)
    assert ALICE(image_shape=(2,), hidden_dim=8).reconstruction_loss(x_rec, x).item() == pytest.approx(squared)
    assert ALICE(image_shape=(2,), hidden_dim=8, reconstruction_norm="l1").reconstruction_loss(
        x_rec, x).item() == pytest.approx(absolute)

    torch.manual_seed(0)
    model = ALICE(image_shape=(2,), lam=3.0, hidden_dim=8)
    e, g, z_hat = torch.tensor([0.3, -0.7]), torch.tensor([1.1, 0.2]), torch.randn(2, 2)
    with torch.no_grad():
        loss, terms = model.generator_encoder_loss(e, g, x, z_hat)
        cycle = ((model.generator(z_hat) - x) ** 2).mean().item()  # ||x - G(z^)||^2, z^ ~ q(z|x)
    assert loss.item() == pytest.approx(losses.joint_generator_loss(e, g).item() + 3.0 * cycle, rel=1e-5)
    assert terms["reconstruction"].item() == pytest.approx(cycle, rel=1e-5)


def test_veegan_losses_are_algorithm_1():
    generator_logits, reconstructor_logits = [1.5, -0.5], [0.25, -2.0]
    # O_LR: -log sigmoid(D(z, G(z))) - log(1 - sigmoid(D(F(x), x)))
    expected_d = (sum(-math.log(sigmoid(t)) for t in generator_logits) / 2
                  + sum(-math.log(1 - sigmoid(t)) for t in reconstructor_logits) / 2)
    model = VEEGAN(image_shape=(2,), latent_dim=2, lam=2.0, hidden_dim=8)
    g, r = torch.tensor(generator_logits), torch.tensor(reconstructor_logits)
    assert model.discriminator_loss(g, r).item() == pytest.approx(expected_d, rel=1e-6)
    # O^ = mean D(z, G(z)) + lam * mean ||z - F(G(z))||_2^2
    z = torch.tensor([[1.0, 0.0], [0.5, -1.0]])
    z_rec = torch.tensor([[0.0, 2.0], [0.5, 0.0]])
    squared_norms = [1.0 + 4.0, 0.0 + 1.0]
    assert losses.squared_l2_reconstruction(z_rec, z).item() == pytest.approx(sum(squared_norms) / 2)
    expected_g = sum(generator_logits) / 2 + 2.0 * sum(squared_norms) / 2
    assert model.generator_loss(g, z, z_rec).item() == pytest.approx(expected_g, rel=1e-6)
    with pytest.raises(ValueError, match="shape"):
        losses.squared_l2_reconstruction(z_rec[:, :1], z)


def test_age_kl_is_the_per_dimension_mean_of_eq_18():
    z = [[0.6, 0.8, 0.0], [0.0, 0.6, -0.8], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    value = losses.empirical_kl(torch.tensor(z)).item()
    # the per-dimension mean (AGE code's KLN01Loss), not the sum over dimensions the AGE paper writes
    assert value == pytest.approx(gaussian_kl_per_dimension(z), rel=1e-5)


def test_cosine_distance_is_one_minus_cosine():
    a = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    b = torch.tensor([[2.0, 0.0], [-1.0, -1.0], [1.0, 0.0]])
    expected = ((1 - 1.0) + (1 - (-1.0)) + (1 - 0.0)) / 3
    assert losses.cosine_distance(a, b).item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="cosine_distance"):
        losses.cosine_distance(a, b[:2])


def test_age_encoder_and_generator_losses():
    model = AGE(image_shape=(2,), latent_dim=2, lambda_data=100.0, lambda_code=10.0, hidden_dim=8)
    real = [[0.6, 0.8], [1.0, 0.0], [0.0, -1.0]]
    fake = [[0.8, 0.6], [0.6, 0.8], [1.0, 0.0]]
    x, x_rec = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]), torch.tensor([[0.0, 0.0], [0.0, 1.5], [2.0, 1.0]])
    l1 = (1.0 + 0.0 + 0.0 + 0.5 + 0.0 + 1.0) / 6
    expected_e = gaussian_kl_per_dimension(real) - gaussian_kl_per_dimension(fake) + 100.0 * l1
    assert model.encoder_loss(x, x_rec, torch.tensor(real), torch.tensor(fake)).item() == pytest.approx(
        expected_e, rel=1e-5)
    z = [[1.0, 0.0], [0.0, 1.0], [0.6, -0.8]]
    cosines = [0.8, 0.8, 0.6 * 1.0 - 0.8 * 0.0]
    expected_g = gaussian_kl_per_dimension(fake) + 10.0 * sum(1 - c for c in cosines) / 3
    assert model.generator_loss(torch.tensor(z), torch.tensor(fake)).item() == pytest.approx(expected_g, rel=1e-5)


def test_losses_are_float32_under_bf16_inputs():
    t = torch.tensor([[30.0, -30.0], [1.0, 2.0]], dtype=torch.bfloat16)
    assert losses.joint_generator_loss(t, t).dtype == torch.float32
    assert losses.density_ratio_generator_loss(t).dtype == torch.float32
    assert losses.squared_l2_reconstruction(t, t.flip(0)).dtype == torch.float32
    assert losses.l2_reconstruction(t, t.flip(0)).dtype == torch.float32
    assert losses.cosine_distance(t, t.flip(0)).dtype == torch.float32


# ---------------------------------------------------------------- networks
def layer_shapes(net: nn.Module) -> list[tuple]:
    return [(type(m).__name__, tuple(p.shape for p in m.parameters(recurse=False)))
            for m in net.modules() if not list(m.children())]


@pytest.mark.parametrize("model_class", JOINT_MODELS)
@pytest.mark.parametrize("shape", [(2,), (1, 28, 28)])
def test_joint_models_use_aims_generator_and_discriminator_trunk(model_class, shape):
    aim = AIM(image_shape=shape, hidden_dim=128)
    model = model_class(image_shape=shape)
    assert model.latent_dim == aim.latent_dim == (2 if shape == (2,) else 32)  # aim.txt Table 3
    assert layer_shapes(model.generator) == layer_shapes(aim.generator)
    assert isinstance(model.discriminator, JointDiscriminator)
    assert layer_shapes(model.discriminator.features) == layer_shapes(aim.features)
    encoder = model.reconstructor if model_class is VEEGAN else model.encoder
    assert layer_shapes(encoder.trunk) == layer_shapes(aim.features)  # its own copy of the trunk layout ...
    trunk_params = {id(p) for p in model.discriminator.features.parameters()}
    assert not trunk_params & {id(p) for p in encoder.parameters()}  # ... sharing no parameter with D
    assert (encoder.head.head.log_variance is None) == (model_class is VEEGAN)  # VEEGAN's F is deterministic
    x, z = torch.rand(3, *shape) * 2 - 1, torch.randn(3, model.latent_dim)
    assert model.discriminator(x, z).shape == (3, 1)


def test_age_uses_alpha_gans_generator_and_a_discriminator_shaped_encoder_on_the_sphere():
    age, alpha = AGE(image_shape=(1, 28, 28)), AlphaGAN(image_shape=(1, 28, 28), latent_dim=50)
    assert age.latent_dim == 50 and AGE(image_shape=(3, 32, 32)).latent_dim == 100  # H.4, Figures 11-12
    assert AGE(image_shape=(2,)).latent_dim == 16  # ours for vectors (see zoo.baselines.age.age_latent_dim)
    assert layer_shapes(age.generator) == layer_shapes(alpha.generator)
    # H.4: the AGE encoder is DCGAN-discriminator-like with leaky units of slope 0.2: D_phi's layout ...
    assert layer_shapes(age.encoder[0])[:-1] == layer_shapes(alpha.discriminator)[:-1]
    assert isinstance(age.encoder[0][-1], nn.Linear) and age.encoder[0][-1].out_features == 50  # ... to M outputs
    assert all(m.negative_slope == 0.2 for m in age.encoder.modules() if isinstance(m, nn.LeakyReLU))
    assert not [m for m in age.encoder.modules() if type(m) is nn.ReLU]


@pytest.mark.parametrize("shape", [(2,), (1, 28, 28), (3, 32, 32)])
def test_age_codes_and_prior_samples_lie_on_the_unit_sphere(shape):
    torch.manual_seed(0)
    model = AGE(image_shape=shape)
    codes = model.encode(torch.rand(4, *shape) * 2 - 1)
    assert codes.shape == (4, model.latent_dim)
    torch.testing.assert_close(codes.norm(dim=1), torch.ones(4))
    assert model.reconstruct(torch.rand(4, *shape)).shape == (4, *shape)


def test_age_prior_is_uniform_on_the_sphere():
    model = AGE(image_shape=(2,), latent_dim=4, hidden_dim=8)
    torch.manual_seed(0)
    z = model.sample_prior(40_000)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(40_000))
    # uniform on S^{M-1}: mean 0, covariance I / M; and a direction's first coordinate has the density of
    # U(S^3)'s, for which P(|z_1| <= 1/2) = (2/pi)(asin(1/2) + (1/2) sqrt(3/4)) ...
    assert z.mean(0).abs().max() < 0.02
    assert (torch.cov(z.T) - torch.eye(4) / 4).abs().max() < 0.01
    expected = 2 / math.pi * (math.asin(0.5) + 0.5 * math.sqrt(0.75))
    assert (z[:, 0].abs() <= 0.5).float().mean().item() == pytest.approx(expected, abs=0.01)
    assert model.sample(5).shape == (5, 2)


@pytest.mark.parametrize("model_class", ALL_MODELS)
def test_unsupported_shape_lists_supported_shapes(model_class):
    with pytest.raises(UnsupportedShapeError, match=r"\(D,\).*\(C, 28, 28\).*\(C, 32, 32\).*\(C, 64, 64\)"):
        model_class(image_shape=(3, 48, 48))


@pytest.mark.parametrize("model_class, kwargs, name", [
    (ALI, {"lr": 0.0}, "lr"), (ALI, {"beta1": 1.0}, "beta1"), (ALI, {"lr_decay": "cosine"}, "lr_decay"),
    (ALI, {"hidden_dim": 0}, "hidden_dim"), (ALI, {"latent_dim": 0}, "latent_dim"),
    (ALICE, {"lam": -1.0}, "lam"), (ALICE, {"reconstruction_norm": "l3"}, "reconstruction_norm"),
    (VEEGAN, {"lam": -0.5}, "lam"), (VEEGAN, {"beta2": -0.1}, "beta2"), (VEEGAN, {"image_shape": ()}, "image_shape"),
    (AGE, {"lambda_data": -1.0}, "lambda_data"), (AGE, {"lambda_code": -1.0}, "lambda_code"),
    (AGE, {"generator_updates": 0}, "generator_updates"), (AGE, {"generator_updates": 1.5}, "generator_updates"),
    (AGE, {"latent_dim": 1}, "latent_dim"), (AGE, {"lr": -1e-4}, "lr")])
def test_bad_hyper_parameters_name_the_argument(model_class, kwargs, name):
    with pytest.raises(ValueError, match=name):
        model_class(**{"image_shape": (2,), **kwargs})


# ---------------------------------------------------------------- training
@pytest.mark.parametrize("model_class, player", [(ALI, "encoder"), (ALICE, "encoder"), (VEEGAN, "reconstructor")])
def test_joint_models_update_the_discriminator_then_generator_and_encoder(model_class, player, monkeypatch):
    """D first (its own parameters only), then G with E / F on one optimiser; D is frozen for that step."""
    torch.manual_seed(0)
    model = model_class(image_shape=(2,), hidden_dim=8)
    records = record_updates(model, monkeypatch)
    trainer = quiet_trainer(max_steps=2)
    trainer.fit(model, train_dataloaders=toy_batches())
    assert len(trainer.optimizers) == 2
    assert [r["moved"] for r in records] == [{"discriminator"}, {"generator", player}] * 2
    assert [r["grads"] for r in records] == [{"discriminator"}, {"generator", player}] * 2
    assert records[0]["ran"] == {"discriminator", "generator", player}
    assert all(p.requires_grad for p in model.parameters())  # D is unfrozen again


def test_veegan_reconstructor_learns_only_from_the_code_reconstruction(monkeypatch):
    torch.manual_seed(0)
    model = VEEGAN(image_shape=(2,), lam=0.0, hidden_dim=8)
    records = record_updates(model, monkeypatch)
    quiet_trainer(max_steps=1).fit(model, train_dataloaders=toy_batches())
    # lam = 0 leaves only D(z, G(z)) in O^: F gets a zero gradient and Adam leaves it where it was.
    assert records[1]["moved"] == {"generator"}


@pytest.mark.parametrize("generator_updates", [2, 3])
def test_age_update_plan_is_one_encoder_step_then_the_generator_steps(generator_updates, monkeypatch):
    torch.manual_seed(0)
    model = AGE(image_shape=(2,), generator_updates=generator_updates, hidden_dim=8)
    records = record_updates(model, monkeypatch)
    trainer = quiet_trainer(max_steps=2)
    trainer.fit(model, train_dataloaders=toy_batches())
    plan = [{"encoder"}] + [{"generator"}] * generator_updates
    assert [r["moved"] for r in records] == plan * 2
    assert [r["grads"] for r in records] == plan * 2  # the frozen player collects no gradient
    assert all(r["ran"] == {"encoder", "generator"} for r in records)  # no discriminator anywhere
    assert trainer.global_step == 2 and len(trainer.optimizers) == 2
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("model_class", ALL_MODELS)
def test_global_step_counts_training_iterations_not_optimizer_steps(model_class):
    model = model_class(image_shape=(2,), hidden_dim=8)
    trainer = quiet_trainer(max_steps=4)
    trainer.fit(model, train_dataloaders=toy_batches(n=256))
    assert trainer.global_step == 4
    assert any(k.startswith("loss/") for k in trainer.callback_metrics)


def test_lr_decays_as_alpha_over_sqrt_epoch_like_aim():
    model = VEEGAN(image_shape=(2,), hidden_dim=8, lr=1e-3)
    trainer = quiet_trainer(max_epochs=3)
    trainer.fit(model, train_dataloaders=toy_batches())
    assert all(opt.param_groups[0]["lr"] == pytest.approx(1e-3 / 2) for opt in trainer.optimizers)


def distance_to_modes(model) -> float:
    model.eval()
    distance = torch.cdist(model.sample(1000), torch.tensor([[-2.0, 0.0], [2.0, 0.0]])).min(1).values.mean().item()
    model.train()
    return distance


@pytest.mark.parametrize("model_class", JOINT_MODELS)
def test_short_fit_improves_samples_and_reconstruction(model_class):
    torch.manual_seed(0)
    model = model_class(image_shape=(2,), hidden_dim=32, lr=2e-3, lr_decay="none")
    x = torch.cat([batch[0] for batch in toy_batches(n=500, batch_size=500)])

    def reconstruction_error() -> float:
        if model_class is VEEGAN:  # VEEGAN autoencodes the noise: ||z - F(G(z))||^2
            with torch.no_grad():
                z = model.sample_prior(1000)
                return losses.squared_l2_reconstruction(model.encode(model.generate(z)), z).item()
        return losses.l2_reconstruction(model.reconstruct(x), x).item()

    before_distance, before_reconstruction = distance_to_modes(model), reconstruction_error()
    quiet_trainer(max_steps=300).fit(model, train_dataloaders=toy_batches(n=2000, batch_size=200))
    assert distance_to_modes(model) < 0.5 * before_distance
    if model_class is not ALI:  # ALI has no reconstruction term (aim.txt §5.2: its reconstructions are unfaithful)
        assert reconstruction_error() < 0.5 * before_reconstruction


def test_age_short_fit_improves_reconstruction_with_codes_on_the_sphere():
    """AGE's E learns the l1 autoencoder through the adversarial KL game; its codes stay unit vectors.
    (Sample quality on 2-D data is not asserted: AGE is a weak mode coverer there, see age_grid25.yaml.)"""
    torch.manual_seed(0)
    model = AGE(image_shape=(2,), hidden_dim=32, lr=2e-3)
    x = torch.cat([batch[0] for batch in toy_batches(n=500, batch_size=500)])

    def reconstruction_error() -> float:
        return losses.l1_reconstruction(model.reconstruct(x), x).item()

    before = reconstruction_error()
    quiet_trainer(max_steps=300).fit(model, train_dataloaders=toy_batches(n=2000, batch_size=200))
    assert reconstruction_error() < 0.25 * before
    torch.testing.assert_close(model.encode(x).norm(dim=1), torch.ones(len(x)))


@pytest.mark.parametrize("model_class", ALL_MODELS)
def test_checkpoint_round_trip_without_datamodule(model_class, tmp_path):
    torch.manual_seed(0)
    model = model_class(image_shape=(2,), latent_dim=3, hidden_dim=8, lr=5e-4)
    trainer = quiet_trainer(max_steps=2, default_root_dir=tmp_path)
    trainer.fit(model, train_dataloaders=toy_batches())
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    loaded = model_class.load_from_checkpoint(path, map_location="cpu").eval()
    model.eval()
    x = torch.randn(8, 2)
    assert type(loaded) is model_class and loaded.latent_dim == 3 and loaded.hparams.lr == 5e-4
    assert dict(loaded.hparams) == dict(model.hparams)  # resolved defaults included (lam, lambda_data, ...)
    assert torch.equal(loaded.encode(x), model.encode(x))
    assert torch.equal(loaded.reconstruct(x), model.reconstruct(x))


@pytest.mark.parametrize("model_class", ALL_MODELS)
def test_bf16_mixed_keeps_losses_finite_on_images(model_class):
    torch.manual_seed(0)
    model = model_class(image_shape=(1, 28, 28))
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    trainer = quiet_trainer(max_steps=2, precision="bf16-mixed")
    trainer.fit(model, train_dataloaders=TensorBatches((x, torch.zeros(4)), 2))
    assert trainer.global_step == 2
    metrics = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("loss/")}
    assert metrics and all(torch.isfinite(v) for v in metrics.values())
    assert all(torch.isfinite(p).all() and p.dtype == torch.float32 for p in model.parameters())
    if model_class is AGE:
        torch.testing.assert_close(model.encode(x).norm(dim=1), torch.ones(4))


def test_a_training_step_runs_on_32x32_images():
    torch.manual_seed(0)
    for model_class in (ALICE, AGE):
        model = model_class(image_shape=(3, 32, 32))
        x = torch.rand(4, 3, 32, 32) * 2 - 1
        trainer = quiet_trainer(max_steps=1)
        trainer.fit(model, train_dataloaders=TensorBatches((x, torch.zeros(4)), 2))
        assert trainer.global_step == 1 and all(torch.isfinite(p).all() for p in model.parameters())


# ---------------------------------------------------------------- command line and configs
def cli_fit(tmp_path: Path, *args: str, steps: int = 2) -> dict:
    cli.main(["fit", *args, "--data.batch_size", "4", "--trainer.max_steps", str(steps),
              "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(tmp_path / "runs")])
    return json.loads((tmp_path / "runs" / "lightning_logs" / "version_0" / "metrics.json").read_text())


def test_cli_fits_veegan_on_grid25(tmp_path):
    metrics = cli_fit(tmp_path, "--model", "VEEGAN", "--model.hidden_dim", "8", "--data", "Grid25",
                      "--data.num_train", "64", "--data.num_val", "32")
    assert metrics["model"] == "VEEGAN" and metrics["status"] == "finished" and metrics["global_step"] == 2
    assert "modes/captured" in metrics and "loss/code_reconstruction" in metrics


def test_cli_fits_alice_on_mnist_files(mnist_root, tmp_path):  # noqa: F811
    root, _ = mnist_root
    metrics = cli_fit(tmp_path, "--model", "ALICE", "--data", "MNIST", "--data.data_dir", str(root),
                      "--data.download", "false")
    assert metrics["model"] == "ALICE" and metrics["status"] == "finished" and metrics["global_step"] == 2
    assert "loss/reconstruction" in metrics and 0 < metrics["val/recon_mse"]
    checkpoint = tmp_path / "runs" / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt"
    model = ALICE.load_from_checkpoint(checkpoint, map_location="cpu")
    assert model.image_shape == (1, 28, 28) and model.latent_dim == 32


@pytest.mark.parametrize("config, model_class, latent_dim", [
    ("ali_grid25.yaml", ALI, 2), ("alice_grid25.yaml", ALICE, 2), ("veegan_grid25.yaml", VEEGAN, 2),
    ("age_grid25.yaml", AGE, 16)])
def test_grid25_configs_are_the_aim_config_schedule(config, model_class, latent_dim, tmp_path):
    aim = cli.main(["--config", str(ROOT / "configs" / "aim" / "grid25.yaml")], run=False)
    the_cli = cli.main(["--config", str(ROOT / "configs" / "baselines" / config)], run=False)
    model = the_cli.model
    assert type(model) is model_class and model.image_shape == (2,) and model.latent_dim == latent_dim
    assert type(the_cli.datamodule).__name__ == "Grid25"
    assert the_cli.datamodule.batch_size == aim.datamodule.batch_size == 500
    assert the_cli.datamodule.num_train == aim.datamodule.num_train
    assert the_cli.trainer.max_epochs == aim.trainer.max_epochs == 10
    assert model.hparams.lr == aim.model.hparams.lr == 1e-3
    if model_class is not AGE:  # AIM's networks and learning-rate decay
        assert model.hparams.lr_decay == aim.model.hparams.lr_decay
        assert layer_shapes(model.generator) == layer_shapes(aim.model.generator)
        assert layer_shapes(model.discriminator.features) == layer_shapes(aim.model.features)


@pytest.mark.parametrize("config, model_class", [("ali_mnist.yaml", ALI), ("alice_mnist.yaml", ALICE),
                                                 ("veegan_mnist.yaml", VEEGAN)])
def test_mnist_configs_are_aims_table_1_setting(config, model_class, tmp_path):
    the_cli = cli.main(["--config", str(ROOT / "configs" / "baselines" / config), "--data.data_dir", str(tmp_path)],
                       run=False)
    model = the_cli.model
    assert type(model) is model_class and model.image_shape == (1, 28, 28) and model.latent_dim == 32  # Table 3
    assert the_cli.datamodule.batch_size == 100 and the_cli.trainer.max_epochs == 400
    hp = model.hparams
    assert (hp.lr, hp.beta1, hp.lr_decay) == (2e-4, 0.5, "inverse_sqrt")
    aim = AIM(image_shape=(1, 28, 28))
    assert layer_shapes(model.generator) == layer_shapes(aim.generator)
    assert layer_shapes(model.discriminator.features) == layer_shapes(aim.features)


def test_age_cifar10_config_is_alpha_gans_setting(tmp_path):
    the_cli = cli.main(["--config", str(ROOT / "configs" / "baselines" / "age_cifar10.yaml"),
                        "--data.data_dir", str(tmp_path)], run=False)
    model = the_cli.model
    assert type(model) is AGE and model.image_shape == (3, 32, 32) and model.latent_dim == 100  # H.4
    assert the_cli.datamodule.batch_size == 64 and the_cli.trainer.max_steps == 200_000  # H
    hp = model.hparams
    assert (hp.beta1, hp.beta2) == (0.5, 0.9) and hp.lr in (1e-4, 2e-4, 5e-4)  # H, Table 2
    assert model.generator_updates == 2 and model.lambda_code == 10.0  # §6, H.1
    assert layer_shapes(model.generator) == layer_shapes(AlphaGAN(image_shape=(3, 32, 32)).generator)
