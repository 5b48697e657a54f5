"""Read params.yaml (safe_load only) and hand each stage its block."""
from pathlib import Path

import yaml


def load_params(path="params.yaml"):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: params file not found (run from the repository root)")
    with open(path) as f:
        params = yaml.safe_load(f)
    if not isinstance(params, dict):
        raise ValueError(f"{path}: expected a mapping of stage blocks, got {type(params).__name__}")
    return params
