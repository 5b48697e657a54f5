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
    _remove_stale_temps(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _remove_stale_temps(path):
    """Delete temp siblings left by killed writers (their pid is gone): a killed run would otherwise
    leave them forever in persistent outputs such as scratch/checkpoints/."""
    for stale in path.parent.glob(f".{path.name}.tmp-*"):
        pid = stale.name.rsplit("-", 1)[1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            stale.unlink(missing_ok=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


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
