"""What a zoo checkpoint carries besides Lightning's state, and reading it with clear errors.

Every checkpoint written by a :class:`zoo.GenerativeModule` has a ``"zoo"`` entry::

    {"version": "0.1.0",                 # the zoo that wrote it
     "model_class": "zoo.aim.AIM",       # import path of the model class
     "config": "<YAML of the CLI run>",  # the full run config (None outside the CLI)
     "rng": {...}}                       # torch / CUDA / numpy / python RNG states, for exact resume

so a checkpoint can be loaded without knowing its class (:func:`zoo.load_checkpoint`), and loading it
into the wrong class, or loading a damaged file, fails with a message that says what to do.

An *export* (:func:`export_checkpoint`, ``python cli.py export``) keeps only what inference needs::

    {"state_dict": {...}, "hyper_parameters": {...},
     "zoo": {"version": "0.1.0", "model_class": "zoo.aim.AIM", "kind": "export", "trained_with": "0.1.0"}}

so it is a file to share: no optimiser states (twice the weights with Adam), loops, callbacks or RNG states.

Every checkpoint is read with ``torch.load(weights_only=True)``: unpickling a file may call any Python
function it names, so a crafted ``.ckpt`` could otherwise run code the moment it is loaded. The zoo's
and Lightning's entries (tensors, numbers, strings, lists, dicts, the RNG states above) need nothing
more; a file that does is refused with a :class:`CheckpointError` naming the global it asks for, and
nothing in it runs.

This module knows the file format, not the models: :mod:`zoo.base` imports it, never the reverse.
Building a model from a file (``zoo.load_checkpoint``, ``GenerativeModule.load_from_checkpoint``) is in
:mod:`zoo.base`.
"""

from __future__ import annotations

import hashlib
import importlib
import pickle
import random
import re
from urllib.parse import urlsplit
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import torch

from zoo.version import __version__ as ZOO_VERSION


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be used: missing, damaged, not the zoo's, or of another model class."""


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint dict at ``path`` (tensors memory-mapped, on the CPU), or a CheckpointError.

    Read with ``weights_only=True``: a file whose unpickling would call anything but the tensor and
    container types of a checkpoint is refused (see :func:`unsafe_global`) and runs nothing.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path.resolve()} (check --ckpt_path; runs save theirs "
                              "under <default_root_dir>/lightning_logs/version_N/checkpoints/)")
    try:
        try:
            checkpoint = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
        except RuntimeError as error:
            if "mmap" not in str(error):
                raise
            # The legacy (non-zip) format cannot be memory-mapped: read it whole, still weights-only.
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any other failure to unpickle means the same thing to the user
        name = unsafe_global(error)
        if name is not None:
            raise CheckpointError(
                f"refusing to load {path.resolve()}: it asks for the Python global {name}, which no zoo or "
                "Lightning checkpoint holds, and unpickling it could run code; nothing in it was run. "
                "Load only checkpoints written by the zoo, from a source you trust"
            ) from None
        raise CheckpointError(
            f"cannot read checkpoint {path.resolve()} ({type(error).__name__}: {error_reason(error)}). The file "
            "is damaged or truncated (e.g. the run was killed while saving) or is not a PyTorch checkpoint; use "
            "another checkpoint of the run, such as the previous last.ckpt or an epoch checkpoint"
        ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path.resolve()} is not a Lightning checkpoint (no 'state_dict' entry)")
    return checkpoint


_UNSAFE_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+)")


def unsafe_global(error: BaseException) -> str | None:
    """The global (``module.name``) that ``torch.load(weights_only=True)`` refused, or None for other errors."""
    if not isinstance(error, pickle.UnpicklingError):
        return None
    match = _UNSAFE_GLOBAL.search(str(error))
    return match.group(1) if match else None


def error_reason(error: BaseException, limit: int = 200) -> str:
    """``error``'s message on one short line: torch's weights-only errors span paragraphs of advice."""
    text = str(error)
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1].split("Check the documentation", 1)[0]
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def plain_hyper_parameters(checkpoint: dict[str, Any]) -> None:
    """Store the model's and datamodule's hyper-parameters as plain types, so that the checkpoint loads
    with ``weights_only=True``: a ``pathlib.Path`` (e.g. ``MNIST(data_dir=Path("data"))`` in Python)
    becomes its string, which every zoo argument that takes a path accepts."""
    for key in ("hyper_parameters", "datamodule_hyper_parameters"):
        if isinstance(checkpoint.get(key), dict):
            checkpoint[key] = _plain(checkpoint[key])


def _plain(value: Any) -> Any:
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return type(value)(_plain(item) for item in value)
    return value


def model_class_path(model_class: type) -> str:
    return f"{model_class.__module__}.{model_class.__qualname__}"


def checkpoint_model_class(checkpoint: dict[str, Any], source: str) -> type:
    """The model class recorded in a zoo checkpoint; ``source`` names the file in messages.

    Whatever the file names: :func:`zoo.base.zoo_model_class` refuses one that is not a zoo model.
    """
    meta = checkpoint.get("zoo")
    if not isinstance(meta, dict) or "model_class" not in meta:
        raise CheckpointError(
            f"{source} records no model class (no 'zoo' entry: written by another program or "
            "by a zoo older than 0.1); load it with the class it was trained with, e.g. "
            "AIM.load_from_checkpoint(path)"
        )
    module_name, _, class_name = meta["model_class"].rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise CheckpointError(
            f"{source} holds a {meta['model_class']} model (zoo {meta.get('version')}), which this "
            f"zoo ({ZOO_VERSION}) does not have"
        ) from None


def check_model_class(checkpoint: dict[str, Any], source: str, expected: type | None) -> type:
    """The checkpoint's model class, which must be ``expected`` itself (any class for None: the base class).

    Exact, not ``issubclass``: DALIF derives from AIM in code but is another model, and resuming an
    AIM run as DALIF (or the reverse) would silently change the training objective.
    """
    found = checkpoint_model_class(checkpoint, source)
    if expected is not None and found is not expected:
        raise CheckpointError(
            f"{source} holds a {found.__name__} model, not a {expected.__name__}: load it with "
            f"{found.__name__}.load_from_checkpoint(path) or zoo.load_checkpoint(path), or on the command line "
            f"with --model {found.__name__}"
        )
    return found


EXPORT_KIND = "export"


def is_url(path: str | Path) -> bool:
    return isinstance(path, str) and urlsplit(path).scheme in ("http", "https", "ftp", "file")


def cached_download(url: str, progress: bool = True) -> Path:
    """The file at ``url`` in torch.hub's cache (``torch.hub.get_dir()/checkpoints/``), downloaded once.

    The cached name starts with a digest of the URL, so two runs' ``last.ckpt`` never share a file.
    """
    name = Path(urlsplit(url).path).name or "checkpoint"
    destination = Path(torch.hub.get_dir()) / "checkpoints" / f"{hashlib.sha256(url.encode()).hexdigest()[:12]}-{name}"
    if destination.is_file():
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(destination), progress=progress)
    except (OSError, ValueError) as error:  # urllib's URLError is an OSError
        raise CheckpointError(f"cannot download {url} ({type(error).__name__}: {error}); check the URL and the "
                              "network, or download the file yourself and pass its path") from None
    return destination


def init_arguments(model_class: type, hyper_parameters: dict[str, Any]) -> dict[str, Any]:
    """The hyper-parameters ``model_class.__init__`` takes (LightningCLI also stores ``_class_path`` & co.)."""
    import inspect

    parameters = inspect.signature(model_class.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return {key: value for key, value in hyper_parameters.items() if not key.startswith("_")}
    return {key: value for key, value in hyper_parameters.items() if key in parameters and key != "self"}


def export_checkpoint(ckpt_path: str | Path, out: str | Path) -> Path:
    """Write the weights, hyper-parameters, model class and zoo version of a run's checkpoint to ``out``.

    The result loads with :func:`zoo.load_checkpoint` (and ``torch.load(weights_only=True)``); it cannot resume
    training. The weights keep their dtype and are moved to the CPU.
    """
    source = str(Path(ckpt_path).resolve())
    checkpoint = read_checkpoint(ckpt_path)
    model_class = checkpoint_model_class(checkpoint, source)
    meta = checkpoint["zoo"]
    exported = {
        "state_dict": {name: tensor.detach().cpu().clone() for name, tensor in checkpoint["state_dict"].items()},
        "hyper_parameters": init_arguments(model_class, checkpoint.get("hyper_parameters", {})),
        "zoo": {"version": ZOO_VERSION, "model_class": model_class_path(model_class), "kind": EXPORT_KIND,
                "trained_with": meta.get("version")},
    }
    out = Path(out)
    if out.resolve() == Path(source):
        raise CheckpointError(f"--out {out} is the checkpoint itself; choose another file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(exported, out)
    return out


# ---------------------------------------------------------------------------------- RNG states
def capture_rng_states() -> dict[str, Any]:
    """Every global random stream a training step may draw from, as tensors and plain Python values
    (Lightning resumes with ``torch.load(weights_only=True)``, which refuses numpy arrays)."""
    _, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached_gaussian)},
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    numpy_state = states["numpy"]
    np.random.set_state(("MT19937", numpy_state["keys"].numpy().astype(np.uint32), numpy_state["position"],
                         numpy_state["has_gauss"], numpy_state["cached_gaussian"]))
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        cuda_states = states["cuda"]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
