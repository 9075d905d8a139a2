"""Every paper config under configs/ (found by glob, so a new file is covered at once) parses, builds its
model and datamodule in-process without training, links the data's shape into the model, writes to a
``default_root_dir`` of its own, opens with a comment citing the paper's table or section, and carries
the hyper-parameters its header attributes to the paper (the EXPECTED table below, which a new config
must join)."""

from __future__ import annotations

import inspect
import os
import re
import sys
from pathlib import Path

import pytest
import yaml

import cli
from cli import import_class

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "configs"
CONFIGS = sorted(p.relative_to(CONFIG_DIR).as_posix() for p in CONFIG_DIR.rglob("*.yaml"))
PAPERS = r"(aim|dali|alpha_gan|ivgan|ivaae)\.txt"

# ------------------------------------------------------------------ the papers' settings
# aim.txt Appendix B-C, Tables 3-4 (= dali.txt's preprint settings): Adam(2e-4, beta1 0.5), alpha / sqrt(epoch).
AIM_OPT = {"lr": 2e-4, "beta1": 0.5, "lr_decay": "inverse_sqrt"}
MNIST_T3 = ("MNIST", (1, 28, 28), 32, 100, ("epochs", 400))  # Table 3: 28x28, d = 32, batch 100, 400 epochs
CIFAR_T4 = ("CIFAR10", (3, 64, 64), 64, 100, ("epochs", 300))  # Table 4: 64x64, d = 64, batch 100, 300 epochs
# Toy grid: the papers give no settings; ours (configs/aim/grid25.yaml): d = 2, batch 500, 10 epochs, lr 1e-3.
GRID = ("Grid25", (2,), 2, 500, ("epochs", 10))
GRID_LR = {"lr": 1e-3, "lr_decay": "inverse_sqrt"}
GRID_GAN_LR = {"lr_d": 1e-3, "lr_g": 1e-3, "lr_decay": "inverse_sqrt"}
# The authors' grid scripts (github.com/alexanderhanboli/AIM): README batch 100, 200 epochs, beta1 0.8; main.py lr.
GRID_OFFICIAL = ("Grid25", (2,), 2, 100, ("epochs", 200))
GRID_OFFICIAL_OPT = {"lr": 1e-4, "beta1": 0.8, "beta2": 0.999, "lr_decay": "inverse_sqrt", "toy_arch": "official"}

# ivgan.txt §4 and Table 5: 64x64, 100-d prior, batch 64, Adam betas (0.5, 0.999) (WGAN-GP: 0.9).
IVGAN_T5 = {
    "DCGAN": {"lr_d": 1e-4, "lr_g": 1e-4, "beta1": 0.5, "beta2": 0.999, "norm": "batch"},
    "LSGAN": {"lr_d": 2e-4, "lr_g": 2e-4, "beta1": 0.5, "beta2": 0.999, "norm": "batch"},
    "WGANGP": {"lr_d": 1e-4, "lr_g": 1e-4, "beta1": 0.5, "beta2": 0.9, "gp_weight": 10.0, "critic_steps": 5},
    "MRGAN": {"lr_d": 2e-4, "lr_g": 2e-4, "beta1": 0.5, "beta2": 0.999, "lam1": 0.01, "lam2": 0.01},
    "IV": {"lr_d": 2e-4, "lr_g": 2e-4, "lr_e": 5e-3, "beta1": 0.5, "beta2": 0.999, "mu": 0.5, "lam": 0.25,
           "num_blocks": 4},
}
IVGAN_DATA = {"mnist": ("MNIST", (1, 64, 64)), "cifar10": ("CIFAR10", (3, 64, 64)), "stl10": ("STL10", (3, 64, 64)),
              "lsun": ("LSUN", (3, 64, 64))}
STACKED = ("StackedMNIST", (3, 64, 64), 100, 64, ("steps", 100_000))  # Table 2: 100K iterations

# ivaae.txt §4: 'for all datasets and models' and the MNIST exceptions; t = 4, mu1 = 4/(t+1), mu2 = 2/(t+1).
IVAAE_ALL = {"lam": 1.0, "lr_e": 1e-3, "lr_g": 1e-3, "lr_milestones": [30, 50, 100],
             "lr_decay_factors": [0.5, 0.2, 0.1]}
IVAAE_MNIST = {"lam": 1.0, "lr_e": 5e-5, "lr_g": 1e-4, "lr_milestones": [100, 200], "lr_decay_factors": [0.5, 0.5]}
IVAAE_D = {"all": {"lr_d": 5e-4}, "mnist": {"lr_d": 1e-4}}
IVAAE_T4 = {"t": 4, "mu1": 0.8, "mu2": 0.4}
WAE_T1 = {"t": 1, "mu1": 2.0, "mu2": 1.0}
WAE_MMD = {"mmd_weight": 10.0, "kernel_scales": [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]}
IVAAE_DATA = {"mnist": ("MNIST", (1, 64, 64), 16, 64), "celeba": ("CelebA", (3, 64, 64), 64, 100),
              "cifar10": ("CIFAR10", (3, 64, 64), 128, 128)}

# alpha_gan.txt Appendix H: Adam(beta1 0.5, beta2 0.9), batch 64, Table 2 rates, 2 G/E updates per D update.
ALPHA_H = {"beta1": 0.5, "beta2": 0.9, "generator_updates": 2, "lr_generator_encoder": 5e-4,
           "lr_discriminator": 5e-4, "lr_code_discriminator": 5e-4, "lambda_encoder": 10.0,
           "lambda_generator": 10.0, "code_hidden_dim": 750}
AGE_H = {"beta1": 0.5, "beta2": 0.9, "generator_updates": 2, "lr": 2e-4, "lambda_data": 10.0, "lambda_code": 10.0}
# alpha-GAN's DCGAN / WGAN-GP baselines on its H.4 networks: H's Adam betas; Table 2's sweep {1e-4, 2e-4, 3e-4}
# (2e-4 / 1e-4 ours); DCGAN's 2 G updates per D update and WGAN-GP's 5 critic updates (§6), lambda = 10 (H.1).
ALPHA_DCGAN = {"networks": "alpha_gan", "lr_d": 2e-4, "lr_g": 2e-4, "beta1": 0.5, "beta2": 0.9, "norm": "batch",
               "generator_updates": 2, "discriminator_dropout": 0.0}
ALPHA_WGANGP = {"networks": "alpha_gan", "lr_d": 1e-4, "lr_g": 1e-4, "beta1": 0.5, "beta2": 0.9, "gp_weight": 10.0,
                "critic_steps": 5, "norm": "layer"}


def entry(model, data, shape, latent_dim, batch_size, length, hparams=None):
    return {"model": model, "data": data, "shape": tuple(shape), "latent_dim": latent_dim,
            "batch_size": batch_size, "length": length, "hparams": dict(hparams or {})}


def aim_entry(model, setting, **hparams):
    data, shape, latent_dim, batch_size, length = setting
    return entry(model, data, shape, latent_dim, batch_size, length, {**AIM_OPT, **hparams})


EXPECTED = {
    # aim.txt Tables 1-2, dali.txt Tables 1-2
    "aim/mnist.yaml": aim_entry("AIM", MNIST_T3, lam=1 / 32),
    "aim/cifar10.yaml": aim_entry("AIM", CIFAR_T4, lam=1 / 64),
    "aim/aim_minus_mnist.yaml": aim_entry("AIMMinus", MNIST_T3, lam=1 / 32),
    "aim/aim_minus_cifar10.yaml": aim_entry("AIMMinus", CIFAR_T4, lam=1 / 64),
    "aim/grid25.yaml": entry("AIM", *GRID, {**GRID_LR, "lam": 1 / 2}),
    "aim/gan_grid25.yaml": entry("AIMMinus", *GRID, {**GRID_LR, "lam": 0.0}),  # the papers' GAN: AIM's G and D
    "dali/mnist.yaml": aim_entry("DALI", MNIST_T3, lam=1 / 32),
    "dali/cifar10.yaml": aim_entry("DALI", CIFAR_T4, lam=1 / 64),
    "dali/grid25.yaml": entry("DALI", *GRID, {**GRID_LR, "lam": 1 / 2}),
    "dali/dali_f_grid25.yaml": entry("DALIF", *GRID, {**GRID_LR, "lam": 1 / 2, "generator_loss_form": "paper",
                                                      "max_score": 3.0}),  # dali.txt §4: lambda = 1/d, §3.4
    # the authors' code (alexanderhanboli/AIM): their toy nets, README batch 100 x 200 epochs, beta1 0.8, lr 1e-4
    "aim/grid25_official.yaml": entry("AIM", *GRID_OFFICIAL, {**GRID_OFFICIAL_OPT, "lam": 1 / 2}),
    "dali/dali_f_grid25_official.yaml": entry("DALIF", *GRID_OFFICIAL, {**GRID_OFFICIAL_OPT, "lam": 1.0,
                                                                        "generator_loss_form": "minimax"}),
    "baselines/gan_mnist.yaml": aim_entry("AIMMinus", MNIST_T3, lam=0.0),  # AIM's G and D, no encoder term
    "baselines/gan_cifar10.yaml": aim_entry("AIMMinus", CIFAR_T4, lam=0.0),
    "baselines/ali_mnist.yaml": aim_entry("ALI", MNIST_T3),
    "baselines/ali_cifar10.yaml": aim_entry("ALI", CIFAR_T4),
    "baselines/alice_mnist.yaml": aim_entry("ALICE", MNIST_T3, lam=1.0, reconstruction_norm="l2"),
    "baselines/alice_cifar10.yaml": aim_entry("ALICE", CIFAR_T4, lam=1.0, reconstruction_norm="l2"),
    "baselines/veegan_mnist.yaml": aim_entry("VEEGAN", MNIST_T3, lam=1.0),
    "baselines/dcgan_grid25.yaml": entry("DCGAN", *GRID, GRID_GAN_LR),
    "baselines/ali_grid25.yaml": entry("ALI", *GRID, GRID_LR),
    "baselines/alice_grid25.yaml": entry("ALICE", *GRID, {**GRID_LR, "lam": 1.0}),
    "baselines/veegan_grid25.yaml": entry("VEEGAN", *GRID, {**GRID_LR, "lam": 1.0}),
    "baselines/lsgan_grid25.yaml": entry("LSGAN", *GRID, GRID_GAN_LR),
    "baselines/mrgan_grid25.yaml": entry("MRGAN", *GRID, {**GRID_GAN_LR, "lam1": 0.01, "lam2": 0.01}),
    "baselines/wgangp_grid25.yaml": entry("WGANGP", *GRID, {**GRID_GAN_LR, "gp_weight": 10.0, "critic_steps": 5}),
    "baselines/age_grid25.yaml": entry("AGE", "Grid25", (2,), 16, 500, ("epochs", 10), {"lr": 1e-3}),
    "baselines/pacgan_grid25.yaml": entry("PacGAN", *GRID, {**GRID_GAN_LR, "packing": 2}),
    "baselines/sngan_grid25.yaml": entry("SNGAN", *GRID, {**GRID_GAN_LR, "beta1": 0.5, "beta2": 0.999, "norm": "none"}),
    "baselines/unrolledgan_grid25.yaml": entry("UnrolledGAN", *GRID, {**GRID_GAN_LR, "unroll_steps": 5}),
    "baselines/vaegan_grid25.yaml": entry("VAEGAN", *GRID, {**GRID_GAN_LR, "lr_e": 1e-3, "gamma": 1.0, "beta1": 0.5,
                                                            "beta2": 0.999}),
    # ivgan.txt Table 2 (stacked MNIST, 100K iterations)
    "ivgan/stacked_mnist.yaml": entry("IVLSGAN", *STACKED, IVGAN_T5["IV"]),
    "ivgan/ivdcgan_stacked_mnist.yaml": entry("IVDCGAN", *STACKED, IVGAN_T5["IV"]),
    "baselines/lsgan_stacked_mnist.yaml": entry("LSGAN", *STACKED, IVGAN_T5["LSGAN"]),
    "baselines/dcgan_stacked_mnist.yaml": entry("DCGAN", *STACKED, IVGAN_T5["DCGAN"]),
    "baselines/pacgan_stacked_mnist.yaml": entry("PacGAN", *STACKED, {**IVGAN_T5["DCGAN"], "packing": 4}),
    "baselines/unrolledgan_stacked_mnist.yaml": entry("UnrolledGAN", *STACKED, {**IVGAN_T5["DCGAN"], "unroll_steps": 5}),
    "baselines/veegan_stacked_mnist.yaml": entry("VEEGAN", *STACKED, {"lam": 1.0, "lr_decay": "none"}),
    # ivaae.txt Tables 1-2
    "ivaae/mnist.yaml": entry("IVAAE", *IVAAE_DATA["mnist"], ("epochs", 300),
                              {**IVAAE_MNIST, **IVAAE_D["mnist"], **IVAAE_T4, "bridge": "blockwise"}),
    "ivaae/ivaae_rad_mnist.yaml": entry("IVAAE", *IVAAE_DATA["mnist"], ("epochs", 300),
                                        {**IVAAE_MNIST, **IVAAE_D["mnist"], **IVAAE_T4, "bridge": "radial"}),
    "ivaae/ivaae_svgd_mnist.yaml": entry("IVAAE", *IVAAE_DATA["mnist"], ("epochs", 300),
                                         {**IVAAE_MNIST, **IVAAE_D["mnist"], **IVAAE_T4, "bridge": "svgd",
                                          "svgd_step_size": 1.0, "svgd_bandwidth_scale": 100.0,
                                          "svgd_noise_std": 0.1, "svgd_steps_per_bridge": 2}),
    "ivaae/cifar10.yaml": entry("IVAAE", *IVAAE_DATA["cifar10"], ("epochs", 300),
                                {**IVAAE_ALL, **IVAAE_D["all"], **IVAAE_T4, "bridge": "radial"}),
    "ivaae/ivaae_bw_cifar10.yaml": entry("IVAAE", *IVAAE_DATA["cifar10"], ("epochs", 300),
                                         {**IVAAE_ALL, **IVAAE_D["all"], **IVAAE_T4, "bridge": "blockwise"}),
    "ivaae/celeba.yaml": entry("IVAAE", *IVAAE_DATA["celeba"], ("epochs", 300),
                               {**IVAAE_ALL, **IVAAE_D["all"], **IVAAE_T4, "bridge": "radial"}),
    "ivaae/ivaae_bw_celeba.yaml": entry("IVAAE", *IVAAE_DATA["celeba"], ("epochs", 300),
                                        {**IVAAE_ALL, **IVAAE_D["all"], **IVAAE_T4, "bridge": "blockwise"}),
    "baselines/wae_gan_mnist.yaml": entry("WAEGAN", *IVAAE_DATA["mnist"], ("epochs", 300),
                                          {**IVAAE_MNIST, **IVAAE_D["mnist"], **WAE_T1}),
    "baselines/wae_mmd_mnist.yaml": entry("WAEMMD", *IVAAE_DATA["mnist"], ("epochs", 300), {**IVAAE_MNIST, **WAE_MMD}),
    # alpha_gan.txt §6 / Appendix H
    "alpha_gan/mnist.yaml": entry("AlphaGAN", "MNIST", (1, 28, 28), 50, 64, ("steps", 100_000), ALPHA_H),
    "alpha_gan/colormnist.yaml": entry("AlphaGAN", "ColorMNIST", (3, 28, 28), 50, 64, ("steps", 100_000), ALPHA_H),
    "alpha_gan/cifar10.yaml": entry("AlphaGAN", "CIFAR10", (3, 32, 32), 100, 64, ("steps", 200_000), ALPHA_H),
    "alpha_gan/celeba.yaml": entry("AlphaGAN", "CelebA", (3, 64, 64), 100, 64, ("steps", 200_000), ALPHA_H),
    "baselines/age_colormnist.yaml": entry("AGE", "ColorMNIST", (3, 28, 28), 50, 64, ("steps", 100_000), AGE_H),
    "baselines/age_cifar10.yaml": entry("AGE", "CIFAR10", (3, 32, 32), 100, 64, ("steps", 200_000), AGE_H),
    "baselines/age_celeba.yaml": entry("AGE", "CelebA", (3, 64, 64), 100, 64, ("steps", 200_000), AGE_H),
    "baselines/dcgan_alpha_colormnist.yaml": entry("DCGAN", "ColorMNIST", (3, 28, 28), 50, 64, ("steps", 100_000),
                                                   {**ALPHA_DCGAN, "discriminator_dropout": 0.2}),  # Table 3
    "baselines/dcgan_alpha_cifar10.yaml": entry("DCGAN", "CIFAR10", (3, 32, 32), 100, 64, ("steps", 200_000),
                                                ALPHA_DCGAN),
    "baselines/dcgan_alpha_celeba.yaml": entry("DCGAN", "CelebA", (3, 64, 64), 100, 64, ("steps", 200_000),
                                               ALPHA_DCGAN),
    "baselines/wgangp_alpha_colormnist.yaml": entry("WGANGP", "ColorMNIST", (3, 28, 28), 50, 64, ("steps", 100_000),
                                                    ALPHA_WGANGP),
    # gan_cifar.py's WGAN-GP critic has no normalisation, gan_64x64.py's layer norm
    "baselines/wgangp_alpha_cifar10.yaml": entry("WGANGP", "CIFAR10", (3, 32, 32), 100, 64, ("steps", 200_000),
                                                 {**ALPHA_WGANGP, "norm": "none"}),
    "baselines/wgangp_alpha_celeba.yaml": entry("WGANGP", "CelebA", (3, 64, 64), 100, 64, ("steps", 200_000),
                                                ALPHA_WGANGP),
}
# ivgan.txt Table 1: six models on four datasets (300 epochs: Figure 5's x-axis).
for _key, _data in IVGAN_DATA.items():
    for _name, _file in (("DCGAN", "dcgan"), ("LSGAN", "lsgan"), ("WGANGP", "wgangp"), ("MRGAN", "mrgan")):
        EXPECTED[f"baselines/{_file}_{_key}.yaml"] = entry(_name, *_data, 100, 64, ("epochs", 300), IVGAN_T5[_name])
    EXPECTED[f"ivgan/{_key}.yaml"] = entry("IVLSGAN", *_data, 100, 64, ("epochs", 300), IVGAN_T5["IV"])
    EXPECTED[f"ivgan/ivdcgan_{_key}.yaml"] = entry("IVDCGAN", *_data, 100, 64, ("epochs", 300), IVGAN_T5["IV"])
# ivgan.txt Table 3: the IVLSGAN ablation on CIFAR-10 (mu = 0.5, k = 4 is ivgan/cifar10.yaml).
for _mu, _k in ((0.5, 2), (0.5, 10), (0.5, 20), (0, 4), (0.25, 4), (1, 4)):
    EXPECTED[f"ivgan/ablation_mu{_mu}_k{_k}.yaml"] = entry(
        "IVLSGAN", *IVGAN_DATA["cifar10"], 100, 64, ("epochs", 300), {**IVGAN_T5["IV"], "mu": float(_mu), "num_blocks": _k})
# ivaae.txt Tables 1-2: WAE-GAN and WAE-MMD on CelebA and CIFAR-10.
for _key in ("celeba", "cifar10"):
    EXPECTED[f"baselines/wae_gan_{_key}.yaml"] = entry("WAEGAN", *IVAAE_DATA[_key], ("epochs", 300),
                                                       {**IVAAE_ALL, **IVAAE_D["all"], **WAE_T1})
    EXPECTED[f"baselines/wae_mmd_{_key}.yaml"] = entry("WAEMMD", *IVAAE_DATA[_key], ("epochs", 300),
                                                       {**IVAAE_ALL, **WAE_MMD})


def read_config(name: str) -> dict:
    return yaml.safe_load((CONFIG_DIR / name).read_text())


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("configs")


def build(name: str, scratch: Path):
    """The config's CLI objects, built in-process without training (no data is read at build time)."""
    config = read_config(name)
    args = ["--config", str(CONFIG_DIR / name)]
    data_class = import_class(config["data"]["class_path"])
    if "data_dir" in inspect.signature(data_class.__init__).parameters:
        args += ["--data.data_dir", str(scratch)]  # empty: nothing is downloaded or read while building
    cwd, argv = os.getcwd(), sys.argv
    os.chdir(scratch)  # the trainer's relative default_root_dir lands here, not in the repository
    sys.argv = argv[:1]  # LightningCLI warns when it also sees pytest's own arguments
    try:
        return cli.main(args, run=False)
    finally:
        os.chdir(cwd)
        sys.argv = argv


def test_configs_are_found():
    assert len(CONFIGS) >= 70 and "aim/grid25.yaml" in CONFIGS


def test_every_config_states_its_paper_values():
    missing = sorted(set(CONFIGS) - set(EXPECTED))
    assert not missing, f"add the paper's values for {missing} to EXPECTED in tests/test_configs.py"
    stale = sorted(set(EXPECTED) - set(CONFIGS))
    assert not stale, f"EXPECTED lists configs that do not exist: {stale}"


@pytest.mark.parametrize("name", CONFIGS)
def test_config_opens_with_a_comment_citing_the_paper(name):
    lines = (CONFIG_DIR / name).read_text().splitlines()
    assert lines and lines[0].startswith("# "), f"{name} must open with a comment line"
    assert re.search(r"Table|§", lines[0]), f"{name}: the first line must cite a paper table or section"
    header = " ".join(line for line in lines if line.startswith("#"))
    assert re.search(PAPERS, header), f"{name}: the header must name the paper file it follows"


def test_default_root_dirs_are_unique():
    roots = {name: read_config(name)["trainer"]["default_root_dir"] for name in CONFIGS}
    assert all(str(root).startswith("runs/") for root in roots.values()), roots
    seen: dict[str, str] = {}
    for name, root in roots.items():
        assert root not in seen, f"{name} and {seen[root]} both write to {root}"
        seen[root] = name


@pytest.mark.parametrize("name", CONFIGS)
def test_config_builds_the_papers_model(name, scratch):
    the_cli = build(name, scratch)
    model, data, trainer = the_cli.model, the_cli.datamodule, the_cli.trainer
    assert tuple(model.image_shape) == tuple(data.image_shape)  # the data's shape is linked into the model
    expected = EXPECTED.get(name)
    if expected is None:
        pytest.skip(f"{name} has no EXPECTED entry (test_every_config_states_its_paper_values fails)")
    assert type(model).__name__ == expected["model"]
    assert type(data).__name__ == expected["data"]
    assert tuple(model.image_shape) == expected["shape"]
    assert model.latent_dim == expected["latent_dim"]
    assert data.batch_size == expected["batch_size"]
    unit, length = expected["length"]
    if unit == "epochs":
        assert trainer.max_epochs == length and trainer.max_steps == -1
    else:
        assert trainer.max_steps == length
    hparams = model.hparams
    for key, value in expected["hparams"].items():
        actual = hparams.get(key)
        if actual is None:  # a default resolved in __init__ (e.g. WAEGAN's t = 1) lives on the model
            actual = getattr(model, key, None)
        assert actual is not None, f"{name}: the model has no hyper-parameter {key}"
        if isinstance(value, float):
            assert actual == pytest.approx(value), f"{name}: {key} = {actual}, the paper's is {value}"
        elif isinstance(value, list):
            assert list(actual) == pytest.approx(value), f"{name}: {key} = {actual}, the paper's is {value}"
        else:
            assert actual == value, f"{name}: {key} = {actual}, the paper's is {value}"
