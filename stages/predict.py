"""predict stage: soft vote of the ensemble's members (with its TTA views) on every eval image.

Reads crops/eval.{npy,csv} and ensemble/members.json (the fold members, each an 18-class model or a
fold's mask/gender/age models, the TTA views the ensemble stage chose and scored, and the decision
rule it fit on the out-of-fold predictions: src/inference/decision.py). Writes
submission/submission.csv (ImageID,ans: one row per data/eval/info.csv row, same order) and
submission/eval_probs.npy. Params: device, predict.batch_size.

Outside the pipeline (neither writes a DVC output; both need the trained models: `dvc repro evaluate`
or `dvc pull`):
  --images DIR --out FILE.csv  predict every .jpg/.jpeg/.png under DIR (recursively, any case of the
      extension; hidden files such as AppleDouble ._* and other files are skipped and counted). Faces
      are found as the face_crop stage finds an eval image's (params.yaml's face_crop block; no face:
      the prior region from crops/train.csv, else the centre crop). One row per image: path (relative
      to DIR), class 0-17, mask, gender, age, p0..p17, box_source, box x1..y2, error. An image that
      cannot be read is a row with its reason in `error` and no class or probabilities, never a gap.
  --export-onnx DIR  write DIR/ensemble.onnx (uint8 N x H x W x 3 face crops -> 18 probabilities and
      the class, as this stage computes them) and DIR/ensemble.json (how to cut the crops, the classes),
      checked with onnxruntime against the torch models on crops/eval.npy."""
import argparse
from collections import Counter
from pathlib import Path

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

ONNX_CHECK_CROPS = 64  # eval crops the export is checked on


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, metavar="DIR", help="predict the photos under DIR (needs --out)")
    parser.add_argument("--out", type=Path, metavar="FILE.csv", help="the table --images writes")
    parser.add_argument("--export-onnx", type=Path, metavar="DIR", help="export the ensemble to DIR/ensemble.onnx")
    args = parser.parse_args()
    if (args.images is None) != (args.out is None):
        parser.error("--images and --out go together")
    if args.out is not None:
        stage = output_stage(args.out)
        if stage:
            parser.error(f"--out {args.out}: lies in the {stage} stage's output, which DVC manages; write elsewhere")
        if args.out.is_dir():
            parser.error(f"--out {args.out}: is a folder; give a file name such as predictions.csv")
    return args


def output_stage(path):
    """The stage whose DVC output holds `path` (when it lies in this repository), or None."""
    try:
        return paths.producer(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return None


def main():
    args = parse_args()
    if args.images is None and args.export_onnx is None:
        predict_eval()
        return
    # The DVC stage above loads only the modules dvc.yaml lists for it (tests/test_stage_deps.py);
    # these two modes import theirs inside.
    params = load_params(paths.PARAMS)
    if args.images is not None:
        predict_images(args.images, args.out, params)
    if args.export_onnx is not None:
        export_ensemble(args.export_onnx, params)


def predict_eval():
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
    probs = soft_vote(loaded, crops, params.predict.batch_size, device, tta, resolve_workers("auto", device))
    if len(probs) != len(info) or not np.isfinite(probs).all():
        raise RuntimeError(f"predict: got {len(probs)} finite predictions for {len(info)} eval images")
    submission = pd.DataFrame({"ImageID": info["image_id"], "ans": decide(members["decision"], probs)})
    write_csv(paths.SUBMISSION / "submission.csv", submission)
    write_npy(paths.SUBMISSION / "eval_probs.npy", probs)
    counts = np.bincount(submission["ans"], minlength=probs.shape[1])
    print(f"predict: {len(submission)} rows -> {paths.SUBMISSION / 'submission.csv'} "
          f"({len(loaded)} fold members, tta {tta or 'none'}, decision {members['decision']}); "
          f"predicted class counts {counts.tolist()}")


def trained(read, *args):
    """read(*args); a missing or broken file of the trained pipeline says how to get it."""
    try:
        return read(*args)
    except BadInputError as e:
        raise BadInputError(e.path, f"{e.reason}; the trained pipeline's files come from `dvc repro evaluate` "
                                    f"or `dvc pull`") from None


def fallback_prior(face_crop):
    """The face_crop stage's fallback region for eval photos with no face found (None: centre crop)."""
    from src.data.manifest import read_manifest
    from src.face_crop.boxes import prior_region

    if not face_crop.prior_fallback:
        return None
    columns = ("box_source", "image_w", "image_h", "x1", "y1", "x2", "y2")
    return prior_region(trained(read_manifest, paths.TRAIN_MANIFEST, columns))


def predict_images(folder, out, params):
    from src.data.image_folder import list_images
    from src.deploy.folder import predict_folder
    from src.face_crop.boxes import SOURCES
    from src.face_crop.detectors import detector_from_params

    images, skipped = list_images(folder)
    reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(Counter(r for _, r in skipped).items()))
    if not images:
        raise BadInputError(folder, "holds no .jpg/.jpeg/.png images" + (f" (skipped: {reasons})" if reasons else ""))
    members = trained(read_members, paths.ENSEMBLE_MEMBERS)
    face_crop = params.face_crop
    prior = fallback_prior(face_crop)
    device = stage_device(params)
    detector = detector_from_params(face_crop, device if face_crop.detector == "mtcnn" else None)
    loaded = trained(load_members, members["members"], device)
    table = predict_folder(folder, images, detector, face_crop, prior, loaded, members["tta"], members["decision"],
                           params.predict.batch_size, device, resolve_workers("auto", device))
    write_csv(out, table)
    counts = table["box_source"].value_counts()
    sources = {source: int(counts.get(source, 0)) for source in SOURCES if source != "person"}
    unreadable = int((table["error"] != "").sum())
    print(f"predict: {len(table)} images under {folder} -> {out} ({len(loaded)} fold members, "
          f"tta {members['tta'] or 'none'}, decision {members['decision']['rule']}); box sources {sources}; "
          f"{unreadable} unreadable" + (" (reason in the error column)" if unreadable else "")
          + f"; skipped {len(skipped)} not taken as photos" + (f" ({reasons})" if reasons else ""))


def export_ensemble(out_dir, params):
    import torch

    try:
        import onnxruntime  # noqa: F401 - torch's exporter needs onnx and onnxscript, the check onnxruntime
        import onnxscript  # noqa: F401
    except ImportError as e:
        raise SystemExit(f"predict --export-onnx: the package {e.name} is missing: `make setup` installs "
                         f"requirements.txt") from None
    from src.common.atomic import atomic_path, write_json
    from src.deploy.onnx_export import check_against_torch, export_card, export_onnx

    members = trained(read_members, paths.ENSEMBLE_MEMBERS)
    tta, decision = members["tta"], members["decision"]
    cpu = torch.device("cpu")
    loaded = trained(load_members, members["members"], cpu)
    _, crops = trained(paths.read_crops, "eval")
    sample = np.asarray(crops[:ONNX_CHECK_CROPS])
    onnx_file = Path(out_dir) / "ensemble.onnx"
    with atomic_path(onnx_file) as tmp:
        export_onnx(loaded, tta, decision, sample, tmp)
        diff = check_against_torch(tmp, loaded, tta, decision, sample, params.predict.batch_size)
    card = export_card(onnx_file.name, len(loaded), tta, decision, params.face_crop,
                       fallback_prior(params.face_crop), sample.shape[1:3])
    write_json(Path(out_dir) / "ensemble.json", card)
    print(f"predict: {len(loaded)} fold members (tta {tta or 'none'}, decision {decision['rule']}) -> {onnx_file} "
          f"({onnx_file.stat().st_size / 1e6:.1f} MB) + {Path(out_dir) / 'ensemble.json'}; onnxruntime against "
          f"torch on {len(sample)} crops of {paths.EVAL_CROPS}: max |probability difference| {diff:.1e}")


if __name__ == "__main__":
    run(main)
