"""The README's one-GPU configuration (GPU_CONFIG) through the real pipeline: a copy of the project,
a synthetic sample, `dvc repro evaluate` on the folds asked for; prints the stage log tail, the CV and
eval macro F1 and the wall time. bench/gpu_smoke.sh --pipeline runs it on a lent GPU.

    python -m bench.gpu_pipeline                          # GPU_CONFIG, fold 0, 2 epochs, 60 + 20 persons
    python -m bench.gpu_pipeline --pretrained packaged    # no network: efficientnet_lite0's packaged weights
    python -m bench.gpu_pipeline --tiny                   # CPU check of the script: tiny model and crops
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

from tests.helpers.workspace import make_sample, make_workspace, run

# The configuration README.md gives for one GPU and the real data (tests/test_bench.py keeps them equal).
GPU_CONFIG = {"train.model": "efficientnet_b3", "train.pretrained": "hub", "face_crop.size": [320, 256],
              "train.batch_size": 64, "train.epochs": 12, "train.patience": 4, "train.lr": 0.001,
              "train.backbone_lr": 0.3, "train.warmup_epochs": 1, "train.frozen_stages": 0, "train.heads": "multi"}


def nested(flat):
    out = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def dvc_line(config):
    """The `dvc exp run -S ...` line of a flat configuration, as the README prints it."""
    def show(value):
        return "[" + ",".join(str(v) for v in value) + "]" if isinstance(value, list) else str(value)
    return "dvc exp run " + " ".join(f"-S '{k}={show(v)}'" for k, v in config.items()) + " evaluate"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--persons", type=int, default=60)
    parser.add_argument("--pretrained", default=None, help="override train.pretrained (packaged: no network)")
    parser.add_argument("--tiny", action="store_true", help="CPU check: mobilenetv3_small_050, random init, 32x24")
    args = parser.parse_args(argv)
    config = {**GPU_CONFIG, "train.folds": args.folds, "train.epochs": args.epochs, "split.k": max(2, max(args.folds) + 1)}
    if args.pretrained:
        config["train.pretrained"] = args.pretrained
        if args.pretrained == "packaged":
            config["train.model"] = "efficientnet_lite0"
    if args.tiny:
        config.update({"train.model": "mobilenetv3_small_050", "train.pretrained": "none", "train.frozen_stages": 0,
                       "face_crop.size": [32, 24],
                       "train.batch_size": 8, "face_crop.detector": "center"})
    with tempfile.TemporaryDirectory(prefix="gpu_pipeline_") as root:
        ws = make_workspace(Path(root) / "repo", nested(config))
        make_sample(ws, persons=args.persons, eval_persons=max(2, args.persons // 3))
        started = time.time()
        log = run(["dvc", "repro", "evaluate"], ws)
        seconds = time.time() - started
        cv = json.loads((ws / "metrics/cv.json").read_text())
        evaluated = json.loads((ws / "metrics/eval.json").read_text())
    print("\n".join(log.splitlines()[-8:]))
    print(json.dumps({"config": config, "seconds": round(seconds, 1), "cv_f1": cv.get("f1"),
                      "eval_f1": evaluated.get("f1")}))  # the last line: one JSON object


if __name__ == "__main__":
    main()
