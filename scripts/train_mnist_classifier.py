"""Train the MNIST classifier used for the MNIST Inception Score and stacked-MNIST mode counting.

    python scripts/train_mnist_classifier.py --data_dir ../shared/data   # folder holding MNIST/raw

Writes ``callbacks/weights/mnist_classifier.pt`` (float16 weights, ~200 KB) with the test accuracy
it reached; the zoo requires >= 99%. Deterministic on CPU for a given seed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from callbacks.mnist_classifier import WEIGHTS, MNISTClassifier, classify  # noqa: E402
from datamodules import MNIST  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", required=True, help="folder holding MNIST/raw (IDX files)")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    data = MNIST(data_dir=args.data_dir, download=False, batch_size=128, seed=args.seed)
    data.setup("fit")
    model = MNISTClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    start = time.time()
    for epoch in range(args.epochs):
        model.train()
        for x, y in data.train_dataloader():
            # Small random shifts (up to 2 px) make the classifier robust to imperfect generated digits.
            shift = torch.randint(-2, 3, (2,))
            x = torch.roll(x, shifts=(int(shift[0]), int(shift[1])), dims=(2, 3))
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        schedule.step()
        accuracy = test_accuracy(model, data)
        print(f"epoch {epoch + 1}: test accuracy {accuracy:.4f} ({time.time() - start:.0f} s)", flush=True)
    if accuracy < 0.99:
        sys.exit(f"test accuracy {accuracy:.4f} < 0.99: not saved")
    state = {k: v.half() for k, v in model.state_dict().items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": state, "test_accuracy": accuracy, "epochs": args.epochs, "seed": args.seed}, args.out)
    print(f"saved {args.out} ({args.out.stat().st_size / 1024:.0f} KB)")


def test_accuracy(model: MNISTClassifier, data: MNIST) -> float:
    model.eval()
    x, y = data.splits["val"]
    logits = classify(model, data.batch_transform()(x))
    return float((logits.argmax(1) == y).float().mean())


if __name__ == "__main__":
    main()
