"""Each paper its own room: zoo/nets/ holds one networks module per paper family plus shared blocks,
``zoo.nets`` still offers every name the single-file zoo/nets.py had, and checkpoints written before the
split still load. Also: zoo.checkpoint (the file format) never imports zoo.base (the models)."""

from __future__ import annotations

import ast
from pathlib import Path

import torch

import zoo
import zoo.nets
from zoo import AIM

ROOT = Path(__file__).resolve().parents[1]
PRESPLIT_EXPORT = ROOT / "tests" / "fixtures" / "aim_grid25_presplit.pt"

# Every public name of zoo/nets.py before the split (commit 77f6a8e).
NAMES_BEFORE_THE_SPLIT = """
    SUPPORTED_SHAPES_HELP UnsupportedShapeError init_normal Reshape GaussianHead FeatureEncoder
    AdversarialInferenceNets mnist_nets dcgan_nets JointDiscriminator TrunkEncoder JointInferenceNets
    JOINT_WIDTH_IMAGES joint_inference_nets SphereProjection AGENets age_nets ALPHA_GAN_SHAPES_HELP AlphaGANNets
    code_discriminator_mlp colormnist_nets wgan_gp_dcgan_nets alpha_gan_toy_nets alpha_gan_nets alpha_gan_latent_dim
    DISCRIMINATOR_NORMS GANBaselineNets baseline_discriminator gan_baseline_nets mlp toy_nets Maxout
    OFFICIAL_TOY_WIDTHS official_toy_nets TOY_ARCHS check_toy_arch adversarial_inference_nets count_parameters
    paper_latent_dim IVGAN_SUPPORTED_SHAPES_HELP IVGAN_CONV_WIDTHS IVGANNets ivgan_conv_nets ivgan_toy_nets
    ivgan_nets IVAAE_SUPPORTED_SHAPES_HELP IVAAE_CONV_WIDTHS DeterministicEncoder IVAAENets ivaae_fc_nets
    ivaae_conv_nets ivaae_toy_nets ivaae_nets ivaae_latent_dim
""".split()

# zoo.nets.<module> -> the other zoo.nets modules it may import. A paper's networks import only the shared
# blocks; the baselines' import the paper whose networks they reuse.
ALLOWED_IMPORTS = {
    "blocks": set(),
    "aim": {"blocks"},
    "alpha_gan": {"blocks"},
    "ivgan": {"blocks"},
    "ivaae": {"blocks"},
    "gan_baselines": {"blocks", "ivgan"},
    "inference_baselines": {"blocks", "aim", "alpha_gan"},
}


def zoo_imports(path: Path) -> set[str]:
    """The zoo, datamodules and callbacks modules that ``path`` imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names if node.module == "zoo"}
    return {name for name in found if name.split(".")[0] in ("zoo", "datamodules", "callbacks")}


def test_a_checkpoint_written_before_the_split_still_loads():
    """tests/fixtures/aim_grid25_presplit.pt: a 5-step AIM on Grid25 (hidden_dim 8), exported with
    ``cli.py export`` by the zoo of commit 77f6a8e, whose networks were all in zoo/nets.py."""
    checkpoint = torch.load(PRESPLIT_EXPORT, weights_only=True)
    assert checkpoint["zoo"]["model_class"] == "zoo.aim.AIM"
    model = zoo.load_checkpoint(PRESPLIT_EXPORT)
    assert type(model) is AIM and not model.training
    assert model.sample(16).shape == (16, 2)
    assert model.hparams.hidden_dim == 8


def test_zoo_nets_still_offers_every_name_it_had():
    missing = [name for name in NAMES_BEFORE_THE_SPLIT if not hasattr(zoo.nets, name)]
    assert not missing, f"zoo/nets/__init__.py no longer re-exports {missing}"
    assert set(NAMES_BEFORE_THE_SPLIT) <= set(zoo.nets.__all__)
    for name in zoo.nets.__all__:
        assert getattr(zoo.nets, name) is not None


def test_each_networks_module_imports_only_the_blocks_and_the_paper_it_builds_on():
    modules = {path.stem for path in (ROOT / "zoo" / "nets").glob("*.py")} - {"__init__"}
    assert modules == set(ALLOWED_IMPORTS), "a new zoo/nets module: add it to ALLOWED_IMPORTS (and the docstring)"
    for module in sorted(modules):
        imported = zoo_imports(ROOT / "zoo" / "nets" / f"{module}.py")
        allowed = {f"zoo.nets.{name}" for name in ALLOWED_IMPORTS[module]}
        assert imported <= allowed, f"zoo/nets/{module}.py imports {sorted(imported - allowed)}"


def test_models_import_their_papers_networks_module_not_the_whole_package():
    """So that the imports of zoo/ivgan.py name the one networks module IVGAN's work touches."""
    for path in sorted((ROOT / "zoo").rglob("*.py")):
        if "nets" in path.relative_to(ROOT / "zoo").parts:
            continue
        assert "zoo.nets" not in zoo_imports(path), f"{path.relative_to(ROOT)}: import from zoo.nets.<paper>"


def test_the_checkpoint_format_does_not_import_the_models():
    """zoo.base imports zoo.checkpoint; the reverse would be an import circle."""
    assert zoo_imports(ROOT / "zoo" / "checkpoint.py") <= {"zoo.version"}
    assert "zoo.checkpoint" in zoo_imports(ROOT / "zoo" / "base.py")
