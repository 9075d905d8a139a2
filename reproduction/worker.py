"""One run of a ``reproduce`` campaign, in its own process: ``cli.py fit``, then the table's protocol.

    python -m reproduction.worker '<spec json>' <result.json>

The spec names the config, overrides, seed, budget, evaluation protocol, run folder and CPU threads
(see ``campaign.launch``). The result file gets the metrics and the facts that make the number
checkable: commit, zoo version, device, steps trained, wall times.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


FID_CALLBACK = "callbacks.FidelityMetrics"
BEST_FID_PATTERN = "best-fidelity_fid-*.ckpt"  # cli.best_checkpoint_callback's file name for fidelity/fid


def config_callbacks(config: str) -> list[str]:
    """The class paths of the callbacks a config file attaches to its trainer."""
    import yaml

    trainer = (yaml.safe_load(Path(config).read_text()) or {}).get("trainer") or {}
    return [entry.get("class_path", "?") if isinstance(entry, dict) else str(entry)
            for entry in trainer.get("callbacks") or []]


def fit_arguments(spec: dict) -> list[str]:
    """``cli.py fit`` for one run. The checkpoint the protocol measures decides the FID callback: "best" keeps the
    config's FID every 10 epochs and the best-FID checkpoint; "last" trains without them (FID evaluations fork the
    random state, so they do not change the training, and they need Inception weights that "last" has no use for)."""
    seed = str(spec["seed"])
    best = spec["protocol"]["checkpoint"] == "best"
    arguments = ["fit", "--config", spec["config"], *spec["overrides"],
                 "--seed_everything", seed, "--data.init_args.seed", seed,  # the data draw and shuffling too
                 "--trainer.default_root_dir", spec["run_dir"], "--trainer.enable_progress_bar", "false",
                 "--trainer.logger", "false", "--best_checkpoint", "fidelity/fid" if best else "none"]
    attached = config_callbacks(spec["config"])
    if best and FID_CALLBACK not in attached:
        raise SystemExit(f"{spec['config']} attaches no {FID_CALLBACK}: the best-FID checkpoint cannot be kept")
    if not best and FID_CALLBACK in attached:
        others = [name for name in attached if name != FID_CALLBACK]
        if others:
            raise SystemExit(f"{spec['config']} attaches {others} beside the FID callback; the worker can only drop "
                             "all of them (--trainer.callbacks=[])")
        arguments.append("--trainer.callbacks=[]")
    if spec.get("data_dir"):
        arguments += ["--data.init_args.data_dir", spec["data_dir"]]
    budget = spec["budget"]
    if "max_steps" in budget:  # the step budget rules, whatever max_epochs the config has
        arguments += ["--trainer.max_steps", str(budget["max_steps"]), "--trainer.max_epochs", "-1"]
    elif "max_epochs" in budget:
        arguments += ["--trainer.max_epochs", str(budget["max_epochs"]), "--trainer.max_steps", "-1"]
    return arguments


def run(spec: dict) -> dict:
    import torch

    torch.set_num_threads(spec["threads"])
    import cli
    import zoo
    from callbacks import evaluation
    from reproduction.campaign import device_description, git_commit, now

    from zoo.base import NonFiniteLossError
    from zoo.checkpoint import read_checkpoint

    protocol = spec["protocol"]
    if protocol["checkpoint"] not in ("last", "best"):
        raise SystemExit(f"checkpoint {protocol['checkpoint']!r} is not one this worker knows (last, best)")
    commit = git_commit()  # before training: the code this run starts from
    started = now()
    start = time.perf_counter()
    status = "finished"
    try:
        fitted = cli.main(fit_arguments(spec))
        if fitted.trainer.interrupted:
            raise SystemExit("training was interrupted; nothing recorded")
        datamodule, device = fitted.datamodule, fitted.model.device
    except NonFiniteLossError as error:
        # A GAN that diverges is a result, not a failed run: it is measured at its last good checkpoint (the
        # NaN guard stops before overwriting it) and says so, instead of being retried forever.
        status = f"stopped early: {error}"
        datamodule, device = cli.main(fit_arguments(spec)[1:], run=False).datamodule, "cpu"
    train_seconds = time.perf_counter() - start
    checkpoint = measured_checkpoint(Path(spec["run_dir"]) / "checkpoints", protocol["checkpoint"])
    metrics, steps, measured_step, eval_seconds = {}, 0, 0, 0.0
    if checkpoint.is_file():
        model = zoo.load_checkpoint(checkpoint, map_location=device)
        datamodule.setup("fit" if protocol["split"] == "train" else "test")
        settings = evaluation.EvaluationSettings(num_samples=protocol["num_samples"], split=protocol["split"],
                                                 seed=spec["seed"])
        start = time.perf_counter()
        metrics = evaluation.evaluate(model, datamodule, protocol["metrics"], settings)
        eval_seconds = time.perf_counter() - start
        measured_step = int(read_checkpoint(checkpoint)["global_step"])
        last = checkpoint.parent / "last.ckpt"
        steps = int(read_checkpoint(last)["global_step"]) if last != checkpoint and last.is_file() else measured_step
    elif status == "finished":
        raise SystemExit(f"training finished without writing {checkpoint}; nothing to evaluate")
    return {  # a run that diverged before its first checkpoint has no metrics, only its status
        "metrics": {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)},
        "steps": steps, "measured_step": measured_step, "status": status,  # trained; and where it was measured
        "train_seconds": round(train_seconds, 1), "eval_seconds": round(eval_seconds, 1),
        "commit": commit, "zoo_version": zoo.__version__, "torch": torch.__version__,
        "device": device_description(spec["threads"]), "started": started, "checkpoint": str(checkpoint),
    }


def measured_checkpoint(folder: Path, which: str) -> Path:
    """``last.ckpt``, or the one best-FID checkpoint (the papers' 'minimum FID over training')."""
    if which == "last":
        versions = sorted(path.name for path in folder.glob("last-v*.ckpt"))
        if versions:
            raise SystemExit(f"{folder} holds {', '.join(versions)} beside last.ckpt: files of an earlier attempt; "
                             "start the run in an empty folder")
        return folder / "last.ckpt"
    found = sorted(folder.glob(BEST_FID_PATTERN))
    if len(found) > 1:
        raise SystemExit(f"{folder} holds {len(found)} best-FID checkpoints ({', '.join(p.name for p in found)}); "
                         "expected one: start the run in an empty folder")
    return found[0] if found else folder / BEST_FID_PATTERN  # missing: reported as a run without checkpoint


def main(argv: list[str]) -> int:
    spec, result_path = json.loads(argv[0]), Path(argv[1])
    os.chdir(Path(__file__).resolve().parents[1])
    result = run(spec)
    result_path.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
