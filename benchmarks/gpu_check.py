"""The GPU runbook: every speed number BENCHMARKS.md asks of a GPU, in one time-boxed run.

    python benchmarks/gpu_check.py --data_dir DIR --out results.json   # on a GPU machine, < 8 min
    python benchmarks/gpu_check.py --smoke --out /tmp/smoke.json       # the same plumbing on a CPU, seconds

Sections, each with its own time budget (shares of ``--budget_s``, default 360 s on a GPU), each
failure-isolated (a section that fails records its error and the next one runs):

``overhead``       ``benchmarks/overhead.py``: toy GAN, DCGAN-32, DCGAN-64, the zoo's iteration against a
                   hand-written loop and the Lightning floor, fp32 and bf16-mixed, CLI trainer settings.
``models``         ``benchmarks/models.py``: it/s and images/s of every paper config (``models.IMAGE_CONFIGS``),
                   fp32 and bf16-mixed; the six of BENCHMARKS.md's CPU table first, so a spent budget skips
                   the others (each named, with the reason).
``fid``            FID-50k end to end, as ``cli.py evaluate --metrics fid --num_samples 50000`` runs it
                   (50,000 generated images of a paper generator, the real statistics of 10,000 images,
                   the Frechet distance), with the functions of ``callbacks.fidelity``; the Inception
                   weights cannot be had on an offline machine, so the network is a **randomly initialised
                   Inception-v3 of the same shape** (torch-fidelity's FeatureExtractorInceptionV3 without its
                   weights): timing only, not a FID. Past its budget it stops between chunks of 5,000 images
                   and extrapolates, and says so.
``stacked_mnist``  ``cli.py fit --config configs/ivgan/stacked_mnist.yaml --compile all`` stopped by
                   ``--trainer.max_time``, then ``cli.py evaluate --metrics stacked_modes`` (26,000 samples):
                   modes of 1000 and KL to uniform at the step count it reached. Needs the MNIST IDX files
                   under ``--data_dir`` (default ``$ZOO_DATA_DIR``, else ``data``): ``MNIST/raw/*-ubyte`` or
                   their ``.gz``; without them the section says what is missing, where it looked and how
                   to get it, and the others still run.

Writes ``--out`` (JSON: device, torch / CUDA / lightning versions, commit, and each section's numbers,
status and any error or reason; rewritten after every section, so an interrupted run keeps what it
measured) and the same report as Markdown tables beside it (``.md``), and prints the tables.

``--smoke``: the CPU, tiny sizes (a few iterations, image batches of 4, 8 FID images, a 2-step stacked-MNIST
fit on synthetic digits written as genuine IDX files, no ``--compile``: torch.compile's first compile would
outlast the whole check): checks the plumbing in seconds; its numbers mean nothing.

A bare machine without a package index: the packages this needs beyond torch, torchvision, lightning,
PyYAML, numpy, matplotlib and pillow are pure-Python wheels (:data:`WHEELS`). Download them where pip
works (``pip download --no-deps -d .whl`` + the names of :data:`WHEELS`), take ``.whl/`` along, and this
script installs them from there into a temporary folder when they are missing (``--wheels``, default
``.whl`` of the repository).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime
import gzip
import importlib
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from reproduction import campaign  # noqa: E402  (the commit, as reproduce records it)

DEFAULT_BUDGET_S = 360.0  # GPU: sections + their grace + start-up stay well inside 8 minutes
SMOKE_BUDGET_S = 300.0  # CPU smoke: a safety net only, the sizes take seconds
SECTION_SHARES = {"overhead": 0.15, "models": 0.375, "fid": 0.14, "stacked_mnist": 0.335}
SECTIONS = tuple(SECTION_SHARES)

# Importable module -> distribution, for the environment report; those in WHEELS are not on the lent GPU
# machine's image and travel as wheels (pure Python, any platform), at the versions the zoo is tested with.
REQUIRED_MODULES = {"lightning": "lightning", "torchvision": "torchvision", "torchmetrics": "torchmetrics",
                    "yaml": "PyYAML", "numpy": "numpy", "matplotlib": "matplotlib", "PIL": "pillow",
                    "jsonargparse": "jsonargparse", "docstring_parser": "docstring-parser",
                    "typeshed_client": "typeshed-client", "torch_fidelity": "torch-fidelity"}
WHEELS = ("jsonargparse==4.53.0", "docstring-parser==0.18.0", "typeshed-client==2.15.0", "torch-fidelity==0.4.0")

# The configs of BENCHMARKS.md's CPU table, timed first.
FIRST_CONFIGS = ("configs/aim/mnist.yaml", "configs/aim/cifar10.yaml", "configs/alpha_gan/cifar10.yaml",
                 "configs/ivgan/cifar10.yaml", "configs/ivaae/mnist.yaml", "configs/baselines/wgangp_cifar10.yaml")
SMOKE_CONFIGS = ("configs/aim/mnist.yaml", "configs/ivgan/cifar10.yaml")
FID_GENERATOR_CONFIG = "configs/ivgan/cifar10.yaml"  # IVLSGAN's CIFAR-10 generator, 3 x 64 x 64
STACKED_CONFIG = "configs/ivgan/stacked_mnist.yaml"
RANDOM_INCEPTION_LABEL = "random-weight Inception (timing only, not a FID)"


class SectionTimeout(Exception):
    """A section ran past its budget and its grace; raised in the main thread by SIGALRM."""


class Skip(Exception):
    """A section that cannot run here (missing data, ...); its message is the reason."""


# ------------------------------------------------------------------------------------------ helpers
def now() -> float:
    return time.perf_counter()


@contextlib.contextmanager
def hard_deadline(seconds: float | None, name: str) -> Iterator[None]:
    """Raise :class:`SectionTimeout` in this (main) thread after ``seconds``; a no-op where SIGALRM is not."""
    if (seconds is None or not hasattr(signal, "SIGALRM")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return

    def expire(signum, frame):
        raise SectionTimeout(f"section {name} ran past its hard limit of {seconds:.0f} s (budget + grace)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def grace(budget: float) -> float:
    return max(10.0, 0.15 * budget)


def version_of(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def missing_modules() -> list[str]:
    return [module for module in REQUIRED_MODULES if importlib.util.find_spec(module) is None]


def wheel_recipe() -> str:
    return ("on a machine with pip and an index: `python -m pip download --no-deps --only-binary=:all: -d .whl "
            + " ".join(WHEELS) + "`, then take .whl/ along (it is git-ignored; on the lent device machine "
            "name it in carry); this script installs it from there (--wheels)")


def install_wheels(folder: Path | None) -> dict[str, Any]:
    """Install the wheels of ``folder`` into a temporary target on sys.path when a required module is missing."""
    missing = missing_modules()
    report: dict[str, Any] = {"missing_before": missing}
    if not missing:
        return report
    wheels = sorted(folder.glob("*.whl")) if folder is not None and folder.is_dir() else []
    if not wheels:
        report["wheels"] = f"none found in {folder}" if folder is not None else "no --wheels folder"
        return report
    target = Path(tempfile.mkdtemp(prefix="gpu_check_site_"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
               "--no-cache-dir", "--target", str(target), *map(str, wheels)]
    done = subprocess.run(command, capture_output=True, text=True)
    report["wheels"] = [wheel.name for wheel in wheels]
    if done.returncode != 0:
        report["install_error"] = (done.stderr or done.stdout).strip()[-2000:]
        return report
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    report["installed_into"] = str(target)
    return report


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} torch threads"


def scaled(value: float, scale: float, minimum: int, multiple: int = 1) -> int:
    return max(minimum, int(round(value * scale / multiple)) * multiple)


def error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".strip()


# ------------------------------------------------------------------------------------------ context
class Context:
    def __init__(self, args: argparse.Namespace, device: torch.device, workdir: Path) -> None:
        self.args, self.device, self.workdir, self.smoke = args, device, workdir, args.smoke
        self.scale = args.budget_s / DEFAULT_BUDGET_S  # step counts follow the budget (GPU sizes only)
        # What the running section has measured so far: kept in the report if it fails or times out later.
        self.partial: dict[str, Any] = {}

    def folder(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ------------------------------------------------------------------------------------------ overhead
def section_overhead(ctx: Context, budget: float) -> dict[str, Any]:
    import overhead

    deadline = now() + budget
    rows, skipped = ctx.partial.setdefault("rows", []), ctx.partial.setdefault("skipped", [])
    if ctx.smoke:  # (steps, warmup, block, batch size)
        plan = {"toy": (4, 2, 2, 64), "dcgan32": (1, 1, 1, 4)}
        skipped.append({"case": "dcgan64", "precision": "32 bf16",
                        "reason": "--smoke: the same code as dcgan32 at 64 px, and the CLI trainer's end-of-fit "
                                  "panels cost seconds per case on a CPU"})
    else:  # overhead.py's own blocks and batches; fewer toy steps than its default 2000
        plan = {"toy": (scaled(1000, ctx.scale, 100, 25), 0, 25, None),
                "dcgan32": (scaled(60, ctx.scale, 20), 0, 1, None), "dcgan64": (scaled(60, ctx.scale, 20), 0, 1, None)}
    for precision in ("32", "bf16"):
        for case, (steps, warmup, block, batch_size) in plan.items():
            warmup = warmup or max(5, steps // 10)
            if now() > deadline:
                skipped.append({"case": case, "precision": precision, "reason": "section budget spent"})
                continue
            started = now()
            r = overhead.measure(case, steps, warmup, block, ctx.device, precision == "bf16", True, "cli",
                                 ctx.folder(f"overhead-{case}-{precision}"), batch_size)
            row = {"case": case, "precision": precision, "batch": r["batch"], "timed_iterations": steps,
                   "block": block, "raw_it_s": r["raw_it_s"], "zoo_it_s": r["zoo_it_s"],
                   "zoo_images_s": r["zoo_it_s"] * r["batch"], "zoo_over_raw_median": r["median"],
                   "zoo_over_raw_total": r["total"], "floor_over_raw_median": r["floor_median"],
                   "floor_over_raw_total": r["floor_total"], "wall_s": now() - started}
            rows.append(row)
            print(f"  overhead {case} {precision}: zoo {row['zoo_it_s']:.1f} it/s, raw {row['raw_it_s']:.1f} it/s, "
                  f"zoo/raw {row['zoo_over_raw_median']:.3f}", flush=True)
    return {"rows": rows, "skipped": skipped, "trainer": "CLI settings (callbacks, CSV logger, progress bar)",
            "channels_last": True}


# ------------------------------------------------------------------------------------------ models
def section_models(ctx: Context, budget: float) -> dict[str, Any]:
    import models

    deadline = now() + budget
    every = list(models.IMAGE_CONFIGS)
    if ctx.smoke:
        configs, steps, warmup, batch_size = list(SMOKE_CONFIGS), 1, 1, 4
    else:
        configs = [c for c in FIRST_CONFIGS if c in every] + [c for c in every if c not in FIRST_CONFIGS]
        steps, warmup, batch_size = scaled(10, ctx.scale, 5), 3, None
    rows, skipped = ctx.partial.setdefault("rows", []), ctx.partial.setdefault("skipped", [])
    root = str(ctx.folder("models"))
    for config in configs:
        for precision in ("32", "bf16"):
            if now() > deadline:
                skipped.append({"config": config, "precision": precision, "reason": "section budget spent"})
                continue
            try:
                r = models.time_config(config, precision, "auto", steps, warmup, ctx.device, root, batch_size)
            except SectionTimeout:
                raise
            except Exception as error:  # one config's failure is its row's, not the section's
                rows.append({"config": config, "precision": precision, "error": error_text(error)})
                print(f"  models {config} {precision}: FAILED {error_text(error)}", flush=True)
                continue
            rows.append({"config": config, "model": r["model"], "data": r["shape"], "batch": r["batch"],
                         "precision": precision, "it_s": r["it_s"], "images_s": r["images_s"], "wall_s": r["wall"]})
            print(f"  models {config} {precision}: {r['it_s']:.2f} it/s, {r['images_s']:.0f} images/s", flush=True)
    result = {"rows": rows, "skipped": skipped, "configs_known": len(every), "timed_iterations": steps,
              "warmup": warmup, "channels_last": "auto (on for conv nets on a GPU)"}
    if ctx.smoke:
        result["note"] = f"--smoke: {len(configs)} of the {len(every)} configs, batches of {batch_size}"
    return result


# ------------------------------------------------------------------------------------------ FID
def random_weight_inception(seed: int = 0):
    """torch-fidelity's FID Inception-v3 (same layers, 2048-d features, 1008 logits, same TF1 resize) with
    random weights instead of the downloaded ones: the FID path's cost without its weights file.

    Conv weights are He-normal (activations keep their scale through the 94 layers, as with trained
    weights; PyTorch's default init shrinks them towards denormal floats, which CPUs compute slowly)."""
    from unittest import mock

    from torch import nn
    from torch_fidelity import feature_extractor_inceptionv3 as inception

    from callbacks import fidelity

    no_weights = object()

    class RandomInceptionV3(inception.FeatureExtractorInceptionV3):
        def load_state_dict(self, state_dict, *args, **kwargs):
            if state_dict is no_weights:
                return None  # keep the random initialisation
            return super().load_state_dict(state_dict, *args, **kwargs)

    class RandomWeightInception(fidelity.InceptionExtractor):
        name = "inception-v3-compat, RANDOM weights (timing only)"

        def __init__(self) -> None:
            nn.Module.__init__(self)
            with torch.random.fork_rng(devices=[]), \
                    mock.patch.object(inception, "load_state_dict_from_url", lambda *a, **k: no_weights):
                torch.manual_seed(seed)
                self.net = RandomInceptionV3(fidelity.InceptionExtractor.name, ["2048", "logits_unbiased"])
                for module in self.net.modules():
                    if isinstance(module, nn.Conv2d):
                        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            self.net.eval().requires_grad_(False)

    return RandomWeightInception()


def extract_within(extractor, make_batches: Callable[[int], Iterator[torch.Tensor]], total: int, chunk: int,
                   deadline: float) -> tuple[dict[str, torch.Tensor], int, float]:
    """``fidelity.extract`` of ``total`` images in chunks, stopping between chunks once past ``deadline``:
    (features, images done, seconds)."""
    from callbacks import fidelity

    parts: list[dict[str, torch.Tensor]] = []
    done, started = 0, now()
    while done < total:
        count = min(chunk, total - done)
        parts.append(fidelity.extract(extractor, make_batches(count), count))
        done += count
        if now() > deadline and done < total:
            break
    features = {key: torch.cat([part[key] for part in parts]) for key in parts[0]}
    return features, done, now() - started


def section_fid(ctx: Context, budget: float) -> dict[str, Any]:
    import models

    from callbacks import fidelity

    deadline = now() + budget
    if ctx.smoke:
        num_fake, num_real, batch_size, chunk = 8, 8, 4, 4
    else:  # `cli.py evaluate --metrics fid --num_samples 50000`: its default --num_real 10000 and --batch_size 250
        num_fake, num_real, batch_size, chunk = 50_000, 10_000, 250, 5_000
    started = now()
    extractor = random_weight_inception().to(ctx.device)
    model, _, shape = models.build(FID_GENERATOR_CONFIG, str(ctx.folder("fid")))
    model.to(ctx.device).eval()
    synchronize(ctx.device)
    setup_s = now() - started

    # The real side is cached by `evaluate` after its first run; here it is computed (a cache miss).
    generator = torch.Generator(device=ctx.device).manual_seed(1)

    def real_batches(count: int) -> Iterator[torch.Tensor]:
        for start in range(0, count, batch_size):
            n = min(batch_size, count - start)
            yield torch.rand((n, *shape), device=ctx.device, generator=generator) * 2 - 1

    real_deadline = now() + 0.25 * (deadline - now())
    real, real_done, real_s = extract_within(extractor, real_batches, num_real, chunk, real_deadline)

    def fake_batches(count: int) -> Iterator[torch.Tensor]:
        return fidelity.generated_batches(model, count, batch_size)  # model.sample: no autograd

    fake_deadline = now() + 0.9 * (deadline - now())
    with torch.random.fork_rng(devices=[]):  # as callbacks.evaluation.samples
        torch.manual_seed(0)
        fake, fake_done, fake_s = extract_within(extractor, fake_batches, num_fake, chunk, fake_deadline)

    started = now()
    value = fidelity.fid(real, fake)
    frechet_s = now() - started
    complete = fake_done == num_fake and real_done == num_real
    fake_full_s = fake_s * num_fake / fake_done
    real_full_s = real_s * num_real / real_done
    result = {
        "label": RANDOM_INCEPTION_LABEL,
        "extractor": extractor.name, "generator": f"{type(model).__name__} of {FID_GENERATOR_CONFIG}, random init",
        "image_shape": "x".join(map(str, shape)), "batch_size": batch_size,
        "num_fake": num_fake, "num_real": num_real, "fake_done": fake_done, "real_done": real_done,
        "complete": complete,
        "setup_s": setup_s,  # building the Inception and the generator, moving them to the device
        "fake_s": fake_s,  # generate + uint8 + resize to 299 + Inception, for fake_done images
        "real_s": real_s,  # uint8 + resize + Inception of real_done images (evaluate caches this side)
        "frechet_s": frechet_s,  # Gaussian fits (float64) + Frechet distance of the 2048-d features
        "fake_images_s": fake_done / fake_s, "real_images_s": real_done / real_s,
        "end_to_end_s": fake_full_s + real_full_s + frechet_s,
        "end_to_end_cached_real_s": fake_full_s + frechet_s,
        "value_meaningless": float(value),
        "device_of_features": str(ctx.device), "device_of_frechet": "cpu (float64, as callbacks.fidelity)",
    }
    notes = [f"--smoke: {num_fake} generated and {num_real} real images, not 50,000"] if ctx.smoke else []
    if not complete:
        notes.append(f"time-boxed: {fake_done} of {num_fake} generated and {real_done} of {num_real} real images "
                     "extracted; end_to_end_s extrapolates their rates to the full counts")
    if notes:
        result["note"] = "; ".join(notes)
    return result


# ------------------------------------------------------------------------------------------ stacked MNIST
def find_mnist(data_dir: Path, workdir: Path) -> tuple[Path | None, str]:
    """A data_dir holding ``MNIST/raw`` with the four IDX files (``.gz`` ones decompressed into ``workdir``),
    or (None, what is missing, where it looked and how to get it)."""
    from datamodules.mnist import MNIST, MNIST_FILES, idx_file_problem

    raw = data_dir.expanduser().absolute() / "MNIST" / "raw"
    missing, problems, gzipped = [], [], []
    for name in MNIST_FILES:
        if (raw / name).is_file():
            problem = idx_file_problem(raw / name)
            if problem:
                problems.append(problem)
        elif (raw / f"{name}.gz").is_file():
            gzipped.append(name)
        else:
            missing.append(name)
    how = (MNIST(data_dir=str(data_dir), download=False).how_to_get_files()
           + f" (or their .gz files as they are), then pass --data_dir {data_dir} or set ZOO_DATA_DIR; "
           "on a machine with internet access `python cli.py fit --config configs/ivgan/stacked_mnist.yaml "
           "--trainer.max_steps 1` downloads them into data/")
    if missing or problems:
        what = (f"missing {', '.join(missing)}" if missing else "") + ("; " if missing and problems else "") \
            + "; ".join(problems)
        return None, f"MNIST not usable: {what} (looked in {raw}); {how}"
    if not gzipped:
        return data_dir.expanduser().absolute(), ""
    unpacked = workdir / "mnist" / "MNIST" / "raw"
    unpacked.mkdir(parents=True, exist_ok=True)
    for name in MNIST_FILES:
        source = raw / (f"{name}.gz" if name in gzipped else name)
        opener = gzip.open if name in gzipped else open
        with opener(source, "rb") as src, open(unpacked / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
        problem = idx_file_problem(unpacked / name)
        if problem:
            return None, f"MNIST not usable: {problem} (unpacked from {source}); {how}"
    return workdir / "mnist", ""


def synthetic_mnist(folder: Path, count: int = 200) -> Path:
    """Random uint8 'digits' in the genuine IDX files (``data_loading.write_idx``)."""
    from data_loading import write_idx

    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (count, 28, 28), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (count,), generator=generator)
    write_idx(folder, images, labels)
    return folder


def clock_text(seconds: float) -> str:
    seconds = max(1, int(seconds))
    return f"00:{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def section_stacked_mnist(ctx: Context, budget: float) -> dict[str, Any]:
    started = now()
    if ctx.smoke:
        data_dir, data_note = synthetic_mnist(ctx.folder("synthetic-mnist")), "synthetic IDX files (--smoke)"
    else:
        data_dir, reason = find_mnist(Path(ctx.args.data_dir), ctx.workdir)
        if data_dir is None:
            raise Skip(reason)
        data_note = str(data_dir)
    import cli
    from zoo.checkpoint import read_checkpoint

    root = ctx.folder("stacked-mnist")
    args = ["fit", "--config", str(ROOT / STACKED_CONFIG), "--data.init_args.data_dir", str(data_dir),
            "--data.init_args.download", "false", "--trainer.default_root_dir", str(root),
            "--trainer.enable_progress_bar", "false", "--best_checkpoint", "none"]
    if ctx.smoke:
        compile_names, num_samples, eval_batch = None, 64, 32
        args += ["--trainer.max_steps", "2", "--data.init_args.num_train", "32", "--data.init_args.num_val", "32",
                 "--data.init_args.batch_size", "8"]
        max_time_s = None
    else:
        compile_names, num_samples, eval_batch = "all", 26_000, 250  # evaluate's stacked_modes protocol
        # The rest of the budget: start-up, the end-of-fit callbacks (panels, val reconstruction: compiled
        # networks recompile for their batch sizes), the checkpoint, and evaluating 26,000 samples.
        max_time_s = max(30.0, budget - 50.0)
        args += ["--trainer.max_time", clock_text(max_time_s)]
    if compile_names:
        args += ["--compile", compile_names]
    if ctx.device.type == "cpu":
        args += ["--trainer.accelerator", "cpu", "--data.init_args.device", "cpu"]
    fit_started = now()
    the_cli = cli.main(args)
    fit_s = now() - fit_started
    trainer = the_cli.trainer
    steps = int(trainer.global_step)
    checkpoints = sorted(root.rglob("last.ckpt"), key=lambda p: p.stat().st_mtime)
    if not checkpoints:
        raise RuntimeError(f"the fit wrote no last.ckpt under {root}")
    checkpoint = checkpoints[-1]
    ckpt_step = int(read_checkpoint(checkpoint).get("global_step", -1))
    timer = next((cb for cb in trainer.callbacks if type(cb).__name__ == "Timer"), None)
    train_s = timer.time_elapsed("train") if timer is not None else fit_s  # no --trainer.max_time: the whole fit
    ctx.partial.update(steps=steps, checkpoint_step=ckpt_step, train_s=train_s, fit_s=fit_s)
    eval_started = now()
    report = cli.evaluate_command(["--ckpt_path", str(checkpoint), "--metrics", "stacked_modes",
                                   "--num_samples", str(num_samples), "--batch_size", str(eval_batch),
                                   "--device", str(ctx.device), "--out", str(root / "evaluation.json")])
    evaluate_s = now() - eval_started
    result = {
        "config": STACKED_CONFIG, "model": type(the_cli.model).__name__, "data": data_note,
        "compile": compile_names or "off (--smoke: torch.compile's first compile would outlast the check)",
        "precision": str(trainer.precision), "max_time_s": max_time_s,
        "steps": steps, "checkpoint_step": ckpt_step,
        "train_s": train_s, "fit_s": fit_s,
        "it_s_including_compile": steps / train_s if train_s else None,
        "modes": report["stacked/modes"], "kl_to_uniform": report["stacked/kl_to_uniform"],
        "num_samples": report["stacked/num_samples"], "evaluate_s": evaluate_s, "wall_s": now() - started,
    }
    if ctx.smoke:
        result["note"] = "--smoke: 2 steps on random 'digits', batches of 8: modes / KL are meaningless"
    return result


SECTION_FUNCTIONS: dict[str, Callable[[Context, float], dict[str, Any]]] = {
    "overhead": section_overhead, "models": section_models, "fid": section_fid,
    "stacked_mnist": section_stacked_mnist,
}


# ------------------------------------------------------------------------------------------ report
def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:,.{digits}f}"
    return str(value)


def markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    lines = [f"# gpu_check{' --smoke' if report['smoke'] else ''}: {env.get('device')}",
             "",
             f"torch {env.get('torch')} (CUDA {env.get('cuda')}), lightning {env.get('lightning')}, "
             f"python {env.get('python')}; commit {report['commit']}; host {report['host']}; "
             f"{report['started']}; budget {report['budget_s']:.0f} s, total {fmt(report.get('total_s'), 0)} s",
             ""]
    if env.get("missing_modules"):
        lines += [f"Missing packages: {', '.join(env['missing_modules'])}. {wheel_recipe()}", ""]
    for name in SECTIONS:
        section = report["sections"].get(name)
        if section is None:
            continue
        lines.append(f"## {name}: {section['status']} ({fmt(section.get('seconds'), 1)} s of "
                     f"{fmt(section.get('budget_s'), 0)} s)")
        lines.append("")
        if section.get("error"):
            lines += [f"error: {section['error']}", ""]
        if section.get("reason"):
            lines += [f"reason: {section['reason']}", ""]
        try:
            lines += section_table(name, section)
        except (KeyError, TypeError, ValueError):  # a section stopped half-way: its numbers are in the JSON
            lines.append("(incomplete: see the JSON for what was measured)")
        if section.get("note"):
            lines += ["", f"note: {section['note']}"]
        for skipped in section.get("skipped", []):
            lines.append(f"- skipped {' '.join(str(v) for k, v in skipped.items() if k != 'reason')}: "
                         f"{skipped['reason']}")
        lines.append("")
    return "\n".join(lines)


def section_table(name: str, section: dict[str, Any]) -> list[str]:
    if name == "overhead" and section.get("rows"):
        out = ["| case | precision | batch | timed iterations | raw it/s | zoo it/s | zoo images/s "
               "| zoo / raw (median) | zoo / raw (total) | floor / raw (median) |", "|---" * 10 + "|"]
        for r in section["rows"]:
            out.append(f"| {r['case']} | {r['precision']} | {r['batch']} | {r['timed_iterations']} | "
                       f"{fmt(r['raw_it_s'], 1)} | {fmt(r['zoo_it_s'], 1)} | {fmt(r['zoo_images_s'], 0)} | "
                       f"{r['zoo_over_raw_median']:.3f} | {r['zoo_over_raw_total']:.3f} | "
                       f"{r['floor_over_raw_median']:.3f} |")
        return out
    if name == "models" and section.get("rows"):
        out = ["| config | model | data | batch | precision | it/s | images/s |", "|---|---|---|---|---|---|---|"]
        for r in section["rows"]:
            if "error" in r:
                out.append(f"| {r['config']} | failed: {r['error']} | | | {r['precision']} | - | - |")
            else:
                out.append(f"| {r['config']} | {r['model']} | {r['data']} | {r['batch']} | {r['precision']} | "
                           f"{fmt(r['it_s'])} | {fmt(r['images_s'], 0)} |")
        return out
    if name == "fid" and "fake_s" in section:
        s = section
        return [f"{s['label']}: {s['extractor']}; generator {s['generator']} ({s['image_shape']}), batch "
                f"{s['batch_size']}", "",
                "| generated images | s | images/s | real images | s | images/s | Frechet s | end to end s "
                "| with cached real statistics s |", "|---|---|---|---|---|---|---|---|---|",
                f"| {s['fake_done']:,} of {s['num_fake']:,} | {fmt(s['fake_s'], 1)} | {fmt(s['fake_images_s'], 0)} | "
                f"{s['real_done']:,} of {s['num_real']:,} | {fmt(s['real_s'], 1)} | {fmt(s['real_images_s'], 0)} | "
                f"{fmt(s['frechet_s'], 1)} | {fmt(s['end_to_end_s'], 1)} | {fmt(s['end_to_end_cached_real_s'], 1)} |"]
    if name == "stacked_mnist" and "steps" in section:
        s = section
        return [f"{s['model']} ({s['config']}), --compile {s['compile']}, precision {s['precision']}, data {s['data']}",
                "", "| max_time s | steps | train s | it/s (incl. compile) | modes (of 1000) | KL to uniform "
                "| samples | evaluate s |", "|---|---|---|---|---|---|---|---|",
                f"| {fmt(s['max_time_s'], 0)} | {s['steps']:,} | {fmt(s['train_s'], 1)} | "
                f"{fmt(s['it_s_including_compile'])} | {fmt(s['modes'], 0)} | {fmt(s['kl_to_uniform'], 3)} | "
                f"{s['num_samples']:,} | {fmt(s['evaluate_s'], 1)} |"]
    return []


def write(report: dict[str, Any], out: Path) -> str:
    """The JSON report and its Markdown tables (returned) beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    try:
        text = markdown(report)
    except Exception as error:  # noqa: BLE001 - the JSON has every number; the tables are a convenience
        text = f"(the tables could not be formatted: {error_text(error)}; see {out.name})"
    out.with_suffix(".md").write_text(text + "\n")
    return text


# ------------------------------------------------------------------------------------------ main
def environment(device: torch.device, wheels: dict[str, Any]) -> dict[str, Any]:
    started = now()
    if device.type == "cuda":
        torch.ones(1024, 1024, device=device).matmul(torch.ones(1024, 1024, device=device))
        synchronize(device)
    env = {
        "device": describe_device(device), "device_type": device.type, "torch": torch.__version__,
        "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available()
        else None, "python": platform.python_version(), "platform": platform.platform(),
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "device_warmup_s": now() - started,
        "packages": {dist: version_of(dist) for dist in REQUIRED_MODULES.values()},
        "missing_modules": missing_modules(), "wheels": wheels,
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(gpu_memory_gib=round(props.total_memory / 2**30, 1), multiprocessors=props.multi_processor_count,
                   capability=f"{props.major}.{props.minor}", bf16_supported=torch.cuda.is_bf16_supported())
    env["lightning"] = env["packages"].get("lightning")
    return env


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="See the module docstring and BENCHMARKS.md (GPU runbook).")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU: the plumbing in seconds")
    parser.add_argument("--device", default=None, help="default: cuda if available (cpu with --smoke)")
    parser.add_argument("--budget_s", type=float, default=None,
                        help=f"total seconds for the sections (default {DEFAULT_BUDGET_S:.0f}; with --smoke "
                             f"{SMOKE_BUDGET_S:.0f}); shares {SECTION_SHARES}; GPU step counts scale with it")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--data_dir", default=os.environ.get("ZOO_DATA_DIR") or "data",
                        help="folder holding MNIST/raw (default: $ZOO_DATA_DIR, else data)")
    parser.add_argument("--out", default=None,
                        help="JSON report (a .md beside it); default benchmarks/results/gpu_check-<host>[-smoke].json")
    parser.add_argument("--wheels", default=str(ROOT / ".whl"),
                        help="folder of wheels installed (into a temporary folder) when a package is missing")
    args = parser.parse_args(argv)
    if args.budget_s is None:
        args.budget_s = SMOKE_BUDGET_S if args.smoke else DEFAULT_BUDGET_S
    if args.device is None:
        args.device = "cpu" if args.smoke or not torch.cuda.is_available() else "cuda"
    host = socket.gethostname() or "host"
    args.out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / \
        f"gpu_check-{host}{'-smoke' if args.smoke else ''}.json"
    return args


def run_section(name: str, ctx: Context, budget: float) -> dict[str, Any]:
    print(f"== {name} (budget {budget:.0f} s)", flush=True)
    started = now()
    section: dict[str, Any] = {"budget_s": budget}
    ctx.partial = {}
    try:
        with hard_deadline(budget + grace(budget), name):
            result = SECTION_FUNCTIONS[name](ctx, budget)
        section.update(ctx.partial)
        section.update(result)
        rows = section.get("rows", [])
        failed = [row for row in rows if "error" in row]
        incomplete = section.get("skipped") or failed or section.get("complete") is False
        section["status"] = "partial" if incomplete else "ok"
        if rows and len(failed) == len(rows):
            section.update(status="failed", error=f"every row failed, e.g. {failed[0]['error']}")
    except Skip as reason:
        section.update(status="skipped", reason=str(reason))
    except (Exception, SystemExit) as error:  # noqa: BLE001 - recorded, and the next section runs
        section.update(ctx.partial)  # what it measured before failing
        section.update(status="failed", error=error_text(error),
                       traceback=traceback.format_exc(limit=-6).splitlines()[-12:])
    section["seconds"] = now() - started
    line = section.get("error") or section.get("reason") or ""
    print(f"== {name}: {section['status']} in {section['seconds']:.1f} s {line}".rstrip(), flush=True)
    return section


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    wheels = install_wheels(Path(args.wheels) if args.wheels else None)
    device = torch.device(args.device)
    torch.set_float32_matmul_precision("high")  # as cli.py and the other benchmarks
    report: dict[str, Any] = {
        "script": "benchmarks/gpu_check.py", "argv": sys.argv[1:] if argv is None else list(argv),
        "smoke": args.smoke, "host": socket.gethostname(), "commit": campaign.git_commit(),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "budget_s": args.budget_s, "data_dir": str(Path(args.data_dir).expanduser().absolute()),
        "environment": environment(device, wheels), "sections": {},
    }
    env = report["environment"]
    print(f"gpu_check: {env['device']}; torch {env['torch']} (CUDA {env['cuda']}), lightning {env['lightning']}; "
          f"commit {report['commit']}; budget {args.budget_s:.0f} s{'; --smoke' if args.smoke else ''}", flush=True)
    if env["missing_modules"]:
        print(f"missing packages: {', '.join(env['missing_modules'])}: {wheel_recipe()}", flush=True)
    started = now()
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as folder:
        ctx = Context(args, device, Path(folder))
        for name in args.sections:
            budget = args.budget_s * SECTION_SHARES[name]
            report["sections"][name] = run_section(name, ctx, budget)
            report["total_s"] = now() - started
            text = write(report, args.out)
            if device.type == "cuda":
                torch.cuda.empty_cache()
    print()
    print(text, flush=True)
    print(f"written: {args.out} and {args.out.with_suffix('.md')}", flush=True)
    return report


if __name__ == "__main__":
    main()
