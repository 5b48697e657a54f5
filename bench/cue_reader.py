"""What the sample's own train persons allow: a reader of the rendered cues, fit on them (beside eval_draws).

src.sample.ceiling reads the two hidden numbers every cue derives from, with thresholds. This reads
the cues themselves: the exact values draw_looks gave each person (skin, hair colour and length, bun,
fringe, hairline, jaw, face shape and size, brows, lips, wrinkles, beard), as a perfect reader of
unmasked, noise-free photos would, and learns gender and age band from the sample's train persons
with a standard scikit-learn classifier (the mask state is given). Images get p(mask) x p(gender) x
p(age) over the 18 classes and are decided by argmax, and by the pipeline's `macro_f1` rule
(src.inference.decision) with age-band offsets fit on the train persons' out-of-fold probabilities.

A photo model also has to see the cues through masks, rendering noise and face crops, so on the same
train persons it should not be expected to beat this reader on average; the reader is a reference,
not a bound (another classifier family could do better). Scored on the sample's eval draw (seed 0)
and on more draws of the same generator (as bench.eval_draws makes them):

    python -m bench.cue_reader [--persons 300 --eval-persons 100 --seed 0 --draws 8]"""
import argparse
import statistics

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from src.common.factory import pick
from src.inference.decision import decide, fit_age_offsets
from src.inference.ensemble import combine_task_probs
from src.labels.classes import ATTRIBUTES
from src.labels.metrics import macro_f1
from src.sample.ceiling import image_rows
from src.sample.people import ROLE_EVAL, ROLE_TRAIN, make_people

READERS = ("logistic", "boosting")
CV_FOLDS = 5  # out-of-fold probabilities of the train persons, for the offsets


def cue_values(person):
    """The person's rendered cues as numbers (iris and clothes left out: no label depends on them)."""
    looks = person.looks
    return [*looks.skin, *looks.hair, looks.hair_length, float(looks.bun), looks.fringe, looks.hairline,
            looks.jaw, looks.aspect, looks.face_size, looks.brow, *looks.lips, looks.wrinkles, looks.beard]


def make_reader(kind):
    """One classifier per attribute: scaled logistic regression or gradient boosting (fixed seed)."""
    kind = pick("--reader", READERS, kind, "cue reader")
    model = LogisticRegression(max_iter=5000) if kind == "logistic" else GradientBoostingClassifier(random_state=0)
    return make_pipeline(StandardScaler(), model)


def class_probs(mask, gender_probs, age_probs):
    """N x 18 probabilities: the known mask state (one-hot) times the person's gender and age-band
    probabilities, by the ensemble's product of per-attribute distributions."""
    return combine_task_probs({"mask": np.eye(ATTRIBUTES["mask"])[mask], "gender": gender_probs, "age": age_probs})


def fit_cue_reader(persons, kind):
    """Readers of gender and age band fit on `persons`, and the age offsets of the macro_f1 rule fit on
    their out-of-fold probabilities (persons are the rows, so every fold holds whole persons)."""
    cues = np.array([cue_values(p) for p in persons])
    targets = {"gender": np.array([p.gender_label for p in persons]), "age": np.array([p.age_band for p in persons])}
    for name, y in targets.items():  # predict_proba's columns are the classes seen: each needs CV_FOLDS persons
        counts = np.bincount(y, minlength=ATTRIBUTES[name])
        if counts.min() < CV_FOLDS:
            raise ValueError(f"cue reader: {len(persons)} train persons give {counts.tolist()} per {name} class; "
                             f"each needs at least {CV_FOLDS}: draw more persons")
    oof = {name: cross_val_predict(make_reader(kind), cues, y, cv=CV_FOLDS, method="predict_proba")
           for name, y in targets.items()}
    index, mask, labels = image_rows(persons)
    offsets = fit_age_offsets(labels, class_probs(mask, oof["gender"][index], oof["age"][index]))
    models = {name: make_reader(kind).fit(cues, y) for name, y in targets.items()}
    return models, {"rule": "macro_f1", "age_offsets": offsets}


def score_persons(models, decision, persons):
    """Macro F1 of the 18 classes on `persons`' images: argmax and the fitted macro_f1 rule."""
    cues = np.array([cue_values(p) for p in persons])
    index, mask, labels = image_rows(persons)
    probs = class_probs(mask, models["gender"].predict_proba(cues)[index], models["age"].predict_proba(cues)[index])
    return {"argmax": macro_f1(labels, probs.argmax(1)), "macro_f1": macro_f1(labels, decide(decision, probs))}


def cue_reader(persons=300, eval_persons=100, seed=0, draws=0, kind="logistic"):
    """The reader fit on the sample's train persons, scored on its eval draw (seed) and draws seed+1..seed+draws."""
    models, decision = fit_cue_reader(make_people(persons, seed, ROLE_TRAIN, quirks=True), kind)
    scored = {s: score_persons(models, decision, make_people(eval_persons, s, ROLE_EVAL, quirks=False))
              for s in range(seed, seed + draws + 1)}
    return {"age_offsets": decision["age_offsets"], "draws": scored}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=300)
    parser.add_argument("--eval-persons", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--draws", type=int, default=8, help="more eval draws after the sample's (default %(default)s)")
    args = parser.parse_args()
    for kind in READERS:
        result = cue_reader(args.persons, args.eval_persons, args.seed, args.draws, kind)
        print(f"{kind} reader, age offsets fit on the train persons {result['age_offsets'][1:]}")
        for s, f1 in result["draws"].items():
            print(f"  eval draw {s}: macro F1 argmax {f1['argmax']:.3f}, macro_f1 rule {f1['macro_f1']:.3f}")
        for rule in ("argmax", "macro_f1"):
            values = [f1[rule] for f1 in result["draws"].values()]
            print(f"  mean of the {len(values)} draws, {rule}: {statistics.mean(values):.3f}")


if __name__ == "__main__":
    main()
