"""predict stage: soft vote of the ensemble's members (with its TTA views) on every eval image.

Reads crops/eval.{npy,csv} and ensemble/members.json (the fold members, each an 18-class model or a
fold's mask/gender/age models, the TTA views the ensemble stage chose and scored, and the decision
rule it fit on the out-of-fold predictions: src/inference/decision.py). Writes
submission/submission.csv (ImageID,ans: one row per data/eval/info.csv row, same order) and
submission/eval_probs.npy. Params: device, predict.batch_size."""
import argparse

import numpy as np
import pandas as pd

from src.common.atomic import write_csv, write_npy
from src.common.device import resolve_workers, stage_device
from src.common.errors import BadInputError
from src.config.params import load_params
from src.data.eval_table import read_eval_table
from src.inference.decision import decide
from src.inference.ensemble import load_members, read_members, soft_vote
from stages.plumbing import paths
from stages.plumbing.entry import run


def main():
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    params = load_params(paths.PARAMS)
    members = read_members(paths.ENSEMBLE_MEMBERS)
    tta = members["tta"]
    device = stage_device(params)
    info = read_eval_table(paths.DATA)
    manifest, crops = paths.read_crops("eval")
    # Every info.csv row must have its crop, in the same order: no row is ever dropped.
    if manifest["image_id"].tolist() != info["image_id"].tolist():
        missing = sorted(set(info["image_id"]) - set(manifest["image_id"]))
        raise BadInputError(paths.EVAL_MANIFEST, f"does not match data/eval/info.csv row for row "
                                                 f"(missing {missing[:5]}): the crops are of other eval data")
    loaded = load_members(members["members"], device)
    probs = soft_vote(loaded, crops, params["predict"]["batch_size"], device, tta, resolve_workers("auto", device))
    if len(probs) != len(info) or not np.isfinite(probs).all():
        raise RuntimeError(f"predict: got {len(probs)} finite predictions for {len(info)} eval images")
    submission = pd.DataFrame({"ImageID": info["image_id"], "ans": decide(members["decision"], probs)})
    write_csv(paths.SUBMISSION / "submission.csv", submission)
    write_npy(paths.SUBMISSION / "eval_probs.npy", probs)
    counts = np.bincount(submission["ans"], minlength=probs.shape[1])
    print(f"predict: {len(submission)} rows -> {paths.SUBMISSION / 'submission.csv'} "
          f"({len(loaded)} fold members, tta {tta or 'none'}, decision {members['decision']}); "
          f"predicted class counts {counts.tolist()}")


if __name__ == "__main__":
    run(main)
