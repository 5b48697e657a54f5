"""check_params stage: check all of params.yaml before any other stage runs.

DVC reruns a stage only when its own params change, so a key that no stage reads (a top-level `lr`
from `dvc exp run -S +lr=...`, a typo such as `train.lrr`) would otherwise run nothing and record an
experiment that changed nothing. This stage depends on the whole file and is the first ancestor of
every stage (face_crop depends on its output): any edit of params.yaml is checked here first, and a
bad one fails `dvc repro` / `dvc exp run` naming the key and the key meant. Its output never
changes, so a valid edit reruns only the stages whose params changed.
Writes checks/params.txt. Params: all of params.yaml."""
import argparse

from src.common.atomic import atomic_path
from src.name_checks import load_checked_params
from stages import paths
from stages.entry import run

VERDICT = "params.yaml: every key known, every value and name valid (stages/check_params.py)\n"


def main():
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    load_checked_params(paths.PARAMS)
    with atomic_path(paths.PARAMS_CHECK) as tmp:
        tmp.write_text(VERDICT)
    print(f"check_params: {paths.PARAMS} is valid")


if __name__ == "__main__":
    run(main)
