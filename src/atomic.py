"""Write outputs so that a crash never leaves a half-written file a later stage would read as good:
everything goes to a temporary sibling first and is renamed into place only when complete."""
import json
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np


@contextmanager
def atomic_path(path):
    """Yield a temporary path next to `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path, obj):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_csv(path, frame, **kwargs):
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n", **kwargs)


def write_npy(path, array):
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)


def save_torch(path, obj):
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
