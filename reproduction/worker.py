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


def fit_arguments(spec: dict) -> list[str]:
    seed = str(spec["seed"])
    arguments = ["fit", "--config", spec["config"], *spec["overrides"],
                 "--seed_everything", seed, "--data.init_args.seed", seed,  # the data draw and shuffling too
                 "--trainer.default_root_dir", spec["run_dir"], "--trainer.enable_progress_bar", "false",
                 "--trainer.logger", "false", "--best_checkpoint", "none"]
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
    if protocol["checkpoint"] != "last":
        raise SystemExit(f"checkpoint {protocol['checkpoint']!r} is not supported by this worker yet")
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
    checkpoint = Path(spec["run_dir"]) / "checkpoints" / "last.ckpt"
    metrics, steps, eval_seconds = {}, 0, 0.0
    if checkpoint.is_file():
        model = zoo.load_checkpoint(checkpoint, map_location=device)
        datamodule.setup("fit" if protocol["split"] == "train" else "test")
        settings = evaluation.EvaluationSettings(num_samples=protocol["num_samples"], split=protocol["split"],
                                                 seed=spec["seed"])
        start = time.perf_counter()
        metrics = evaluation.evaluate(model, datamodule, protocol["metrics"], settings)
        eval_seconds = time.perf_counter() - start
        steps = int(read_checkpoint(checkpoint)["global_step"])
    elif status == "finished":
        raise SystemExit(f"training finished without writing {checkpoint}; nothing to evaluate")
    return {  # a run that diverged before its first checkpoint has no metrics, only its status
        "metrics": {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)},
        "steps": steps, "status": status,
        "train_seconds": round(train_seconds, 1), "eval_seconds": round(eval_seconds, 1),
        "commit": commit, "zoo_version": zoo.__version__, "torch": torch.__version__,
        "device": device_description(spec["threads"]), "started": started, "checkpoint": str(checkpoint),
    }


def main(argv: list[str]) -> int:
    spec, result_path = json.loads(argv[0]), Path(argv[1])
    os.chdir(Path(__file__).resolve().parents[1])
    result = run(spec)
    result_path.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
