"""check_params stage: check all of params.yaml before any other stage runs.

DVC reruns a stage only when its own params change, so a key that no stage reads (a top-level `lr`
from `dvc exp run -S +lr=...`, a typo such as `train.lrr`) would otherwise run nothing and record an
experiment that changed nothing. This stage depends on the whole file and is the first ancestor of
every stage: any edit of params.yaml is checked here first, and a bad one fails `dvc repro` /
`dvc exp run` naming the key and the key meant. It then writes checks/params/<stage>.json, the values
of the params each stage lists, which that stage depends on (DVC's run cache ignores keys named
`size`: see stages/plumbing/stage_params.py); a valid edit changes only the files, and reruns only the
stages, whose params changed. A `device` GPU that torch cannot use here fails here too, with the reason.
Writes checks/params/<stage>.json. Params: all of params.yaml."""
import argparse

from src.common.device import resolve_device
from src.config.params import read_params_file
from stages.plumbing import paths
from stages.plumbing.entry import run
from stages.plumbing.name_checks import load_checked_params
from stages.plumbing.stage_params import write_stage_params


def main():
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    params = load_checked_params(paths.PARAMS)
    resolve_device(params.device)  # cuda where torch cannot use it: DeviceError, one line
    write_stage_params(paths.STAGE_PARAMS, paths.DVC_YAML, read_params_file(paths.PARAMS))  # as DVC reads it
    print(f"check_params: {paths.PARAMS} is valid")


if __name__ == "__main__":
    run(main)
