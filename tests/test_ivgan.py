"""IVGAN (IVDCGAN, IVLSGAN): interventions, losses against ivgan.txt's formulas, Algorithm 1's update
order and ownership, Table 4 networks, training, checkpoints, CLI and the paper configs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

import cli
from datamodules.base import TensorBatches
from test_datamodules import cifar_root, mnist_root  # noqa: F401  (fixtures writing genuine MNIST / CIFAR files)
from helpers import quiet_trainer, record_updates, toy_batches
from zoo import IVDCGAN, IVGAN, IVLSGAN
from zoo import losses
from zoo.interventions import block_substitution
from zoo.nets import UnsupportedShapeError, count_parameters, ivgan_nets

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- interventions (§3)
def ks_statistic(samples: torch.Tensor) -> float:
    """Kolmogorov-Smirnov distance between the empirical CDF of 1-D ``samples`` and N(0, 1)'s."""
    x, _ = torch.sort(samples.double())
    n = x.numel()
    cdf = torch.special.ndtr(x)
    ranks = torch.arange(1, n + 1, dtype=torch.float64)
    return max((ranks / n - cdf).max().item(), (cdf - (ranks - 1) / n).max().item())


def assert_standard_gaussian(samples: torch.Tensor, block_size: int) -> None:
    """Mean 0, covariance I, and every coordinate (and every block's normalised sum) passes a KS
    test against N(0, 1) at level 0.001 (critical value 1.95 / sqrt(n))."""
    n, d = samples.shape
    critical = 1.95 / math.sqrt(n)
    assert samples.mean(0).abs().max() < 4 / math.sqrt(n)
    assert (torch.cov(samples.T) - torch.eye(d)).abs().max() < 0.04
    for j in range(d):
        assert ks_statistic(samples[:, j]) < critical, f"coordinate {j}"
    for start in range(0, d, block_size):
        block_sum = samples[:, start:start + block_size].sum(1) / math.sqrt(block_size)
        assert ks_statistic(block_sum) < critical, f"block at {start}"


def test_every_block_substitution_preserves_the_standard_gaussian():
    generator = torch.Generator().manual_seed(0)
    n, d, k = 20_000, 8, 4
    z = torch.randn(n, d, generator=generator)
    noise = torch.randn(n, d, generator=generator)
    assert_standard_gaussian(z, d // k)
    for i in range(k):
        o_i = block_substitution(z, torch.full((n,), i), k, noise)
        assert_standard_gaussian(o_i, d // k)
        block = slice(2 * i, 2 * i + 2)
        assert torch.equal(o_i[:, block], noise[:, block])  # block i is the new noise ...
        kept = torch.ones(d, dtype=torch.bool)
        kept[block] = False
        assert torch.equal(o_i[:, kept], z[:, kept])  # ... the other blocks are z's
    mixed = block_substitution(z, torch.randint(k, (n,), generator=generator), k, noise)  # i_j ~ U([k])
    assert_standard_gaussian(mixed, d // k)


def test_the_gaussian_check_rejects_a_non_preserving_intervention():
    """Power of the statistical check: shrinking a block (not an intervention) is caught."""
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(20_000, 8, generator=generator)
    shrunk = z.clone()
    shrunk[:, :2] *= 0.9
    with pytest.raises(AssertionError):
        assert_standard_gaussian(shrunk, 2)


def test_intervene_keeps_gradients_of_the_kept_blocks():
    model = IVLSGAN(image_shape=(2,), latent_dim=4, num_blocks=2, hidden_dim=8)
    w = torch.randn(3, 4, requires_grad=True)
    model.intervene(w, torch.tensor([0, 1, 0])).sum().backward()
    assert torch.equal(w.grad, torch.tensor([[0.0, 0, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1]]))


def test_num_blocks_must_divide_latent_dim_naming_both():
    with pytest.raises(ValueError, match=r"num_blocks=3.*latent_dim=8"):
        IVLSGAN(image_shape=(2,), latent_dim=8, num_blocks=3)
    with pytest.raises(ValueError, match=r"num_blocks=3.*latent_dim=100"):
        IVDCGAN(image_shape=(1, 28, 28), num_blocks=3)  # the paper's d = 100
    with pytest.raises(ValueError, match=r"num_blocks=3.*latent_dim=4"):
        block_substitution(torch.zeros(2, 4), torch.zeros(2, dtype=torch.long), 3)


# ---------------------------------------------------------------- losses on hand-made tensors
def test_intervention_losses_are_eq_3():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5], [0.0, 3.0, 1.0]])
    labels = torch.tensor([0, 2, 2])

    def log_softmax(row, j):
        return row[j] - math.log(sum(math.exp(v) for v in row))

    rows = logits.tolist()
    v_class = -sum(log_softmax(rows[j], labels[j].item()) for j in range(3)) / 3  # -e_i^T log f(x'), batch mean
    assert losses.intervention_cross_entropy(logits, labels).item() == pytest.approx(v_class, rel=1e-6)
    # L_IV(G, E) = -min V_class: the negative cross entropy, which G and E minimise
    assert losses.intervention_loss(logits, labels).item() == pytest.approx(-v_class, rel=1e-6)
    assert losses.intervention_cross_entropy(logits.bfloat16(), labels).dtype == torch.float32


def test_least_squares_losses_are_mao_et_al():
    real, fake = torch.tensor([0.5, 2.0]), torch.tensor([0.0, -1.0])
    loss_d = 0.5 * ((0.5 - 1) ** 2 + (2.0 - 1) ** 2) / 2 + 0.5 * (0.0 ** 2 + (-1.0) ** 2) / 2  # a = 0, b = 1
    loss_g = 0.5 * ((0.0 - 1) ** 2 + (-1.0 - 1) ** 2) / 2  # c = 1
    assert losses.least_squares_discriminator_loss(real, fake).item() == pytest.approx(loss_d, rel=1e-6)
    assert losses.least_squares_generator_loss(fake).item() == pytest.approx(loss_g, rel=1e-6)
    model = IVLSGAN(image_shape=(2,), hidden_dim=8)
    assert model.discriminator_loss(real, fake).item() == pytest.approx(loss_d, rel=1e-6)
    assert model.generator_loss(fake).item() == pytest.approx(loss_g, rel=1e-6)


def test_ivdcgan_uses_the_binary_cross_entropy():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 0.0])
    sigmoid = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
    loss_d = -(math.log(sigmoid(0.0)) + math.log(sigmoid(2.0))) / 2 - (
        math.log(1 - sigmoid(-1.0)) + math.log(1 - sigmoid(0.0))) / 2
    model = IVDCGAN(image_shape=(2,), hidden_dim=8)
    assert model.discriminator_loss(real, fake).item() == pytest.approx(loss_d, rel=1e-6)
    assert model.generator_loss(fake).item() == pytest.approx(
        -(math.log(sigmoid(-1.0)) + math.log(sigmoid(0.0))) / 2, rel=1e-6)


def test_reconstruction_loss_is_eq_5():
    x, x_rec = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[1.5, 2.0], [2.0, 4.0]])
    code, code_rec = torch.tensor([[0.0, 1.0], [1.0, 1.0]]), torch.tensor([[0.0, 0.0], [1.0, 3.0]])
    image_term = (0.5 + 0.0 + 1.0 + 0.0) / 4  # ||G(E(x)) - x||_1 per element, batch mean
    code_term = (0.0 + 1.0 + 0.0 + 2.0) / 4  # ||E(G(O_i(w))) - O_i(w)||_1 per element
    assert losses.l1_reconstruction(x_rec, x).item() == pytest.approx(image_term)
    model = IVLSGAN(image_shape=(2,), hidden_dim=8)
    assert model.reconstruction_loss(x, x_rec, code, code_rec).item() == pytest.approx(image_term + code_term)


# ---------------------------------------------------------------- networks (Table 4)
def test_table_4_networks_are_the_papers():
    model = IVLSGAN(image_shape=(3, 64, 64)).eval()
    assert model.latent_dim == 100 and model.num_blocks == 4  # §4 prior, Table 5 k
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    assert model.trunk(x).shape == (2, 512, 4, 4)
    assert model.encode(x).shape == (2, 100)
    assert model.sample(2).shape == (2, 3, 64, 64)
    assert model.discriminator(x).shape == (2, 1) and model.classifier(x).shape == (2, 4)

    trunk_convs = [m for m in model.trunk if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in trunk_convs] == [
        (64, (4, 4), (2, 2)), (128, (4, 4), (2, 2)), (256, (4, 4), (2, 2)), (512, (4, 4), (2, 2))]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.trunk) == 4  # BN on D's first layer too
    assert isinstance(model.trunk[1], nn.BatchNorm2d)
    assert all(m.negative_slope == 0.2 for m in model.trunk if isinstance(m, nn.LeakyReLU))

    g_convs = [m for m in model.generator if isinstance(m, nn.ConvTranspose2d)]
    assert [(c.out_channels, c.stride[0]) for c in g_convs] == [(512, 1), (256, 2), (128, 2), (64, 2), (3, 2)]
    assert isinstance(model.generator[-1], nn.Tanh)

    e_convs = [m for m in model.encoder if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in e_convs] == [
        (64, (4, 4), (2, 2)), (128, (4, 4), (2, 2)), (256, (4, 4), (2, 2)), (512, (4, 4), (2, 2)),
        (100, (4, 4), (2, 2))]
    assert isinstance(model.encoder[1], nn.LeakyReLU)  # E's first layer has no BN
    assert isinstance(model.encoder[-2], nn.BatchNorm2d)  # CONV(K4, S2, O100) + BN


@pytest.mark.parametrize("shape, trunk_out", [((1, 64, 64), (512, 4, 4)), ((3, 32, 32), (512, 4, 4)),
                                              ((1, 28, 28), (128, 7, 7)), ((2,), (128,))])
def test_every_supported_shape_round_trips(shape, trunk_out):
    model = IVDCGAN(image_shape=shape).eval()
    x = torch.rand(3, *shape) * 2 - 1
    assert model.trunk(x).shape == (3, *trunk_out)
    assert model.reconstruct(x).shape == (3, *shape)
    assert model.encode(x).shape == (3, model.latent_dim)


def test_unsupported_shapes_list_the_supported_ones():
    with pytest.raises(UnsupportedShapeError, match=r"\(D,\).*\(C, 64, 64\).*\(C, 32, 32\).*\(C, 28, 28\)"):
        IVLSGAN(image_shape=(3, 48, 48))


def test_the_builder_serves_baselines_without_a_classifier():
    nets = ivgan_nets((3, 64, 64), 100)
    assert nets.classifier_head is None and nets.generator(torch.randn(2, 100)).shape == (2, 3, 64, 64)


def test_classifier_shares_the_discriminator_trunk_except_the_output_layer():
    """§4: f shares D's parameters except the output layer. Ownership: the D optimiser holds trunk +
    adversarial head, the f optimiser trunk + classifier head; G and E optimisers hold their nets."""
    model = IVLSGAN(image_shape=(3, 64, 64)).eval()
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    features = model.trunk(x)
    assert torch.equal(model.discriminator(x), model.adversarial_head(features))
    assert torch.equal(model.classifier(x), model.classifier_head(features))
    # the two output layers: FC(1) and FC(k) on the same 512 x 4 x 4 features
    assert count_parameters(model.adversarial_head) == 512 * 4 * 4 + 1
    assert count_parameters(model.classifier_head) == (512 * 4 * 4 + 1) * 4
    assert count_parameters(model) == sum(count_parameters(net) for net in (
        model.generator, model.encoder, model.trunk, model.adversarial_head, model.classifier_head))

    opt_d, opt_f, opt_g, opt_e = model.configure_optimizers()
    ids = lambda params: {id(p) for p in params}  # noqa: E731
    held = lambda opt: ids(p for group in opt.param_groups for p in group["params"])  # noqa: E731
    assert held(opt_d) == ids(model.trunk.parameters()) | ids(model.adversarial_head.parameters())
    assert held(opt_f) == ids(model.trunk.parameters()) | ids(model.classifier_head.parameters())
    assert held(opt_d) & held(opt_f) == ids(model.trunk.parameters())
    assert held(opt_g) == ids(model.generator.parameters()) and held(opt_e) == ids(model.encoder.parameters())
    assert [opt.defaults["lr"] for opt in (opt_d, opt_f, opt_g, opt_e)] == [2e-4, 2e-4, 2e-4, 5e-3]  # Table 5
    assert all(opt.defaults["betas"] == (0.5, 0.999) for opt in (opt_d, opt_f, opt_g, opt_e))


@pytest.mark.parametrize("kwargs, name", [
    ({"mu": -1.0}, "mu"), ({"lam": -0.1}, "lam"), ({"lr_d": 0.0}, "lr_d"), ({"lr_g": -1.0}, "lr_g"),
    ({"lr_e": 0.0}, "lr_e"), ({"lr_f": 0.0}, "lr_f"), ({"beta1": 1.0}, "beta1"), ({"beta2": -0.1}, "beta2"),
    ({"num_blocks": 1}, "num_blocks"), ({"latent_dim": 0}, "latent_dim"), ({"instance_noise_std": -0.1},
    "instance_noise_std"), ({"instance_noise_decay_steps": 0}, "instance_noise_decay_steps"),
    ({"hidden_dim": 0}, "hidden_dim"), ({"image_shape": ()}, "image_shape")])
def test_bad_hyper_parameters_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        IVLSGAN(**{"image_shape": (2,), **kwargs})


def test_the_shared_base_is_not_a_model():
    with pytest.raises(TypeError, match="--model IVDCGAN or --model IVLSGAN"):
        IVGAN(image_shape=(2,))


def test_table_5_defaults_and_latent_sizes():
    model = IVDCGAN(image_shape=(2,))
    assert (model.mu, model.lam, model.num_blocks, model.latent_dim) == (0.5, 0.25, 4, 4)
    hp = model.hparams
    assert (hp.lr_d, hp.lr_g, hp.lr_e, hp.lr_f, hp.beta1, hp.beta2) == (2e-4, 2e-4, 5e-3, 2e-4, 0.5, 0.999)
    assert IVDCGAN(image_shape=(2,), num_blocks=2).latent_dim == 2  # vectors: one coordinate per block


# ---------------------------------------------------------------- training: Algorithm 1
def parts_of(model: IVGAN) -> dict[str, nn.Module]:
    return {"generator": model.generator, "encoder": model.encoder, "trunk": model.trunk,
            "adversarial_head": model.adversarial_head, "classifier_head": model.classifier_head}


@pytest.mark.parametrize("model_class", [IVDCGAN, IVLSGAN])
def test_each_update_moves_only_its_own_networks_in_algorithm_1_order(model_class, monkeypatch):
    """Algorithm 1: D (trunk + D head), then f (trunk + classifier head), then G, then E. No update
    leaves gradients in networks it does not own (frozen)."""
    torch.manual_seed(0)
    model = model_class(image_shape=(2,), hidden_dim=16)
    records = record_updates(model, monkeypatch, parts_of(model))
    quiet_trainer(max_steps=2).fit(model, train_dataloaders=toy_batches())
    assert [r["moved"] for r in records] == [{"trunk", "adversarial_head"}, {"trunk", "classifier_head"},
                                             {"generator"}, {"encoder"}] * 2
    assert [r["stray"] for r in records] == [set()] * len(records)
    assert all(p.requires_grad for p in model.parameters())  # everything unfrozen again


def fit_only(model: IVGAN, steps: int, *players: int) -> None:
    """Train with only the updates of the optimisers numbered ``players`` (0 D, 1 f, 2 G, 3 E)."""
    original_update = type(model).update

    def update_only_players(self, optimizer, loss):
        if [o.optimizer for o in self.optimizers()].index(optimizer.optimizer) in players:
            original_update(self, optimizer, loss)

    model.update = update_only_players.__get__(model)
    quiet_trainer(max_steps=steps).fit(model, train_dataloaders=toy_batches(n=1024, batch_size=64))


@pytest.mark.parametrize("players, direction", [((1,), -1), ((2, 3), +1)])
def test_classifier_minimises_and_generator_encoder_maximise_the_cross_entropy(players, direction, monkeypatch):
    """Sign convention of eq. (3): the f step descends V_class (the cross entropy); the G and E steps
    descend mu * L_IV = -mu * V_class, i.e. they raise the classifier's cross entropy."""
    torch.manual_seed(0)
    model = IVLSGAN(image_shape=(2,), hidden_dim=16, lam=0.0, mu=1.0, lr_f=3e-2, lr_g=1e-2, lr_e=1e-2,
                    instance_noise_std=0.0)
    monkeypatch.setattr(model, "generator_loss", lambda scores: scores.sum() * 0.0)  # only mu L_IV drives G
    generator = torch.Generator().manual_seed(1)
    x = toy_batches(n=512, batch_size=512).tensors[0]
    i = torch.randint(4, (512,), generator=generator)
    noise = torch.randn(512, 4, generator=generator)

    def cross_entropy() -> float:
        with torch.no_grad():
            x_intervened = model.generator(model.intervene(model.encoder(x), i, noise))
            return losses.intervention_cross_entropy(model.classifier(x_intervened), i).item()

    before = cross_entropy()
    fit_only(model, 30, *players)
    assert direction * (cross_entropy() - before) > 0.05  # from log 4 = 1.39: f reaches ~1.28, (G, E) > 2


def test_instance_noise_decays_linearly_from_the_iteration_count(monkeypatch):
    model = IVLSGAN(image_shape=(2,), hidden_dim=8, instance_noise_std=0.2, instance_noise_decay_steps=4)
    assert [model.instance_noise_std_at(t) for t in (0, 1, 2, 4, 10)] == pytest.approx([0.2, 0.15, 0.1, 0.0, 0.0])
    assert isinstance(model.instance_noise_std_at(1), float)  # computed on the host: no device sync
    assert IVLSGAN(image_shape=(2,), instance_noise_std=0.3, instance_noise_decay_steps=None
                   ).instance_noise_std_at(10**6) == 0.3
    seen: list[tuple[int, float]] = []
    original = IVGAN.with_instance_noise

    def recording(x, std):
        seen.append((model.global_step, std))
        return original(x, std)

    monkeypatch.setattr(model, "with_instance_noise", recording)
    quiet_trainer(max_steps=3).fit(model, train_dataloaders=toy_batches())
    # every D input (real and fake in the D step, fake in the G step) gets the step's sigma
    expected = [(0, 0.2)] * 2 + [(1, 0.2)] + [(1, 0.15)] * 2 + [(2, 0.15)] + [(2, 0.1)] * 2 + [(3, 0.1)]
    assert [(s, pytest.approx(v)) for s, v in seen] == expected
    x = torch.zeros(1000, 2)
    assert IVGAN.with_instance_noise(x, 0.0) is x
    assert IVGAN.with_instance_noise(x, 0.5).std().item() == pytest.approx(0.5, rel=0.1)


def test_global_step_counts_training_iterations_not_optimizer_steps():
    model = IVLSGAN(image_shape=(2,), hidden_dim=16)
    calls = []
    model.training_step = lambda batch, batch_idx, f=model.training_step: (calls.append(batch_idx), f(batch, batch_idx))[1]
    trainer = quiet_trainer(max_steps=5)
    trainer.fit(model, train_dataloaders=toy_batches(n=256))
    assert trainer.global_step == 5 and len(calls) == 5


def test_short_fit_on_toy_data_improves_reconstruction():
    torch.manual_seed(0)
    data = toy_batches(n=1000, batch_size=100)
    model = IVLSGAN(image_shape=(2,), hidden_dim=32, lr_d=3e-3, lr_g=3e-3, lr_e=3e-3)
    x = data.tensors[0][:1000]

    def reconstruction_error() -> float:
        model.eval()
        error = (model.reconstruct(x) - x).abs().mean().item()
        model.train()
        return error

    before = reconstruction_error()
    quiet_trainer(max_epochs=6).fit(model, train_dataloaders=data)
    assert reconstruction_error() < 0.5 * before  # ~1.07 -> ~0.14


def test_checkpoint_round_trip_without_datamodule(tmp_path):
    torch.manual_seed(0)
    model = IVLSGAN(image_shape=(2,), hidden_dim=16, mu=0.3)
    trainer = quiet_trainer(max_steps=3, default_root_dir=tmp_path)
    trainer.fit(model, train_dataloaders=toy_batches())
    path = tmp_path / "ivlsgan.ckpt"
    trainer.save_checkpoint(path)
    loaded = IVLSGAN.load_from_checkpoint(path, map_location="cpu").eval()
    model.eval()
    x = torch.randn(8, 2)
    assert torch.equal(loaded.reconstruct(x), model.reconstruct(x))
    assert loaded.mu == 0.3 and loaded.hparams.latent_dim == 4 and loaded.hparams.lr_f == pytest.approx(2e-4)


def test_bf16_mixed_precision_keeps_losses_finite():
    torch.manual_seed(0)
    model = IVDCGAN(image_shape=(1, 28, 28))  # the losses are float32 whatever the base GAN
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    trainer = quiet_trainer(max_steps=2, precision="bf16-mixed")
    trainer.fit(model, train_dataloaders=TensorBatches((x, torch.zeros(4)), 2))
    metrics = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("loss/")}
    assert {"loss/discriminator", "loss/classifier", "loss/generator", "loss/encoder"} <= set(metrics)
    assert all(torch.isfinite(v) for v in metrics.values())
    assert all(torch.isfinite(p).all() and p.dtype == torch.float32 for p in model.parameters())


# ---------------------------------------------------------------- command line and paper configs
def cli_fit(tmp_path: Path, *args: str, steps: int = 2) -> dict:
    cli.main(["fit", *args, "--data.download", "false", "--data.batch_size", "4", "--trainer.max_steps", str(steps),
              "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(tmp_path / "runs")])
    return json.loads((tmp_path / "runs" / "lightning_logs" / "version_0" / "metrics.json").read_text())


def test_cli_fits_ivlsgan_on_mnist_at_its_stored_size(mnist_root, tmp_path):  # noqa: F811
    root, _ = mnist_root
    metrics = cli_fit(tmp_path, "--model", "IVLSGAN", "--data", "MNIST", "--data.data_dir", str(root))
    assert metrics["model"] == "IVLSGAN" and metrics["status"] == "finished" and metrics["global_step"] == 2
    assert all(f"loss/{name}" in metrics for name in ("discriminator", "classifier", "generator", "encoder"))
    assert 0 < metrics["val/recon_mse"] < 1


def test_cli_fits_ivdcgan_on_cifar10(cifar_root, tmp_path):  # noqa: F811
    root, _ = cifar_root  # 32x32 keeps this test short; the 64x64 paper configs are built below
    metrics = cli_fit(tmp_path, "--model", "IVDCGAN", "--data", "CIFAR10", "--data.data_dir", str(root), steps=1)
    assert metrics["model"] == "IVDCGAN" and metrics["status"] == "finished" and metrics["global_step"] == 1


@pytest.mark.parametrize("config, shape", [("ivgan/mnist.yaml", (1, 64, 64)), ("ivgan/cifar10.yaml", (3, 64, 64))])
def test_paper_configs_build_the_papers_networks(config, shape, tmp_path):
    the_cli = cli.main(["--config", str(ROOT / "configs" / config), "--data.init_args.data_dir", str(tmp_path)],
                       run=False)
    model = the_cli.model
    assert type(model) is IVLSGAN and model.image_shape == shape and model.latent_dim == 100
    assert (model.mu, model.lam, model.num_blocks) == (0.5, 0.25, 4)  # Table 5
    assert (model.hparams.lr_d, model.hparams.lr_g, model.hparams.lr_e) == (2e-4, 2e-4, 5e-3)
    assert the_cli.datamodule.batch_size == 64
    assert model.trunk(torch.zeros(2, *shape)).shape == (2, 512, 4, 4)  # Table 4
    assert model.generator(torch.zeros(2, 100)).shape == (2, *shape)
    switched = cli.main(["--config", str(ROOT / "configs" / config), "--model", "IVDCGAN",
                         "--data.init_args.data_dir", str(tmp_path)], run=False)
    assert type(switched.model) is IVDCGAN and switched.model.lam == 0.25
