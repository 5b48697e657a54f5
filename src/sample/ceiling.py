"""What the synthetic sample allows: the macro F1 of a classifier that knew each person's hidden traits.

Every gender cue of a photo derives from one femininity score and every age cue from one apparent
age (true age + N(0, 5) years), each cue with noise of its own (src.sample.people.draw_looks). A
classifier that read those two hidden numbers exactly, and the mask state, is a ceiling no model of
the photos can pass on average: thresholds on the score and on the apparent age, fit to maximise the
18-class macro F1 of the train persons, then applied unchanged to the eval persons. The >= 60 band
holds age 60 only, so an apparent age tells it from the late 50s poorly even then.

    python -m src.sample.ceiling [--persons 300 --eval-persons 100 --seed 0]   (the make_sample defaults)"""
import argparse

import numpy as np
from sklearn.metrics import f1_score

from src.labels.classes import MASK_BY_STEM, encode_class
from src.sample.people import ROLE_EVAL, ROLE_TRAIN, hidden_traits, looks_rng, make_people
from src.sample.photo import IMAGE_STEMS

AGE_LOW_GRID = np.arange(26, 39)      # apparent-age threshold (years) between the < 30 and 30-59 bands
AGE_HIGH_GRID = np.arange(55, 67)     # ... between 30-59 and >= 60
GENDER_GRID = (-0.2, -0.1, 0.0, 0.1, 0.2)  # femininity-score threshold


def image_rows(persons):
    """Per image (7 per person, as the sample writes them): (person position, mask state, 18-class label)."""
    rows = [(i, MASK_BY_STEM[stem], encode_class(MASK_BY_STEM[stem], p.gender_label, p.age_band))
            for i, p in enumerate(persons) for stem in IMAGE_STEMS]
    return tuple(np.array(column) for column in zip(*rows))


def person_images(persons, seed, role):
    """Per image: (label, mask, femininity score, apparent age), 7 images per person as the sample writes."""
    traits = np.array([hidden_traits(p.gender_label, p.age, looks_rng(seed, role, p.index)) for p in persons])
    index, mask, label = image_rows(persons)
    return label, mask, traits[index, 0], traits[index, 1]


def predict(images, low, high, gender_cut):
    _, mask, fem, seen_age = images
    return encode_class(mask, (fem > gender_cut).astype(int), np.digitize(seen_age, [low, high]))


def scores(images, low, high, gender_cut):
    label, predicted = images[0], predict(images, low, high, gender_cut)
    band = predicted % 3
    return {"f1": f1_score(label, predicted, average="macro"),
            "f1_gender": f1_score(label // 3 % 2, predicted // 3 % 2, average="macro"),
            "f1_age": f1_score(label % 3, band, average="macro"),
            "f1_age_60": f1_score(label % 3 == 2, band == 2)}


def ceiling(persons=300, eval_persons=100, seed=0):
    train = person_images(make_people(persons, seed, ROLE_TRAIN, quirks=True), seed, ROLE_TRAIN)
    evals = person_images(make_people(eval_persons, seed, ROLE_EVAL, quirks=False), seed, ROLE_EVAL)
    grid = [(low, high, cut) for low in AGE_LOW_GRID for high in AGE_HIGH_GRID for cut in GENDER_GRID]
    best = max(grid, key=lambda t: f1_score(train[0], predict(train, *t), average="macro"))
    return {"thresholds": {"age_low": int(best[0]), "age_high": int(best[1]), "gender": best[2]},
            "train": scores(train, *best), "eval": scores(evals, *best)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=300)
    parser.add_argument("--eval-persons", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = ceiling(args.persons, args.eval_persons, args.seed)
    print(f"thresholds fit on the train persons: {result['thresholds']}")
    for part in ("train", "eval"):
        print(f"{part:5}: " + ", ".join(f"{k} {v:.3f}" for k, v in result[part].items()))


if __name__ == "__main__":
    main()
