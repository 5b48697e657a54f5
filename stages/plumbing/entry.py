"""How every stage script ends on bad input: one line, not a traceback.

A stage that meets a missing or broken input (BadInputError: data, crops, folds, models, ensemble
files; ParamsError: params.yaml; WeightsError: weights/; DeviceError: a GPU params.yaml's `device` asks
for that torch cannot use) exits with status 1 and prints
`<stage and its arguments>: <file>: <what is wrong>`, for a file an earlier stage wrote followed by how
to get it back. Any other exception is a bug and keeps its traceback."""
import sys
from pathlib import Path

from src.common.device import DeviceError
from src.common.errors import BadInputError, WeightsError
from src.config.params import ParamsError
from stages.plumbing import paths

INPUT_ERRORS = (BadInputError, ParamsError, WeightsError, DeviceError)


def recovery(path):
    """How to get back a file a stage wrote: from DVC's cache, or by running that stage again."""
    stage = paths.producer(path)
    if stage is None:
        return ""
    return (f" (an output of {stage}: `dvc checkout --force {stage}` restores it from the cache, "
            f"`dvc repro -f {stage}` rebuilds it)")


def run(main):
    """Call a stage's main(); an input error becomes a one-line exit."""
    stage = " ".join([Path(sys.argv[0]).stem, *sys.argv[1:]])
    try:
        main()
    except INPUT_ERRORS as e:
        hint = recovery(e.path) if isinstance(e, BadInputError) else ""
        raise SystemExit(f"{stage}: {e}{hint}") from None
