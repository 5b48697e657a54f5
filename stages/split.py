"""split stage: assign every person folder to one of k folds (StratifiedGroupKFold on gender x age).

Reads crops/train.csv, writes folds/person_folds.csv (person, fold). Params: split.k, split.seed."""
import argparse

from src.common.atomic import write_csv
from src.config.params import load_params
from src.data.folds import person_folds
from src.data.manifest import read_manifest
from stages.plumbing import paths
from stages.plumbing.entry import run


def main():
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    cfg = load_params(paths.PARAMS).split
    table = read_manifest(paths.TRAIN_MANIFEST, required=("person", "gender", "age_band"))
    folds = person_folds(table, cfg.k, cfg.seed)
    write_csv(paths.PERSON_FOLDS, folds)
    sizes = folds["fold"].value_counts().sort_index().tolist()
    print(f"split: {len(folds)} persons into {cfg.k} folds of {sizes} persons -> {paths.PERSON_FOLDS}")


if __name__ == "__main__":
    run(main)
