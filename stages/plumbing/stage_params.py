"""Each stage's params as a file it depends on, so that DVC's run cache cannot mix up two runs.

DVC keys its run cache on a stage's deps and params after removing every key named `size` or
`nfiles` at any depth (its filter for output metadata; treeverse/dvc#10296), params included. Two
runs that differ only in face_crop.size, or in an augment's `size` argument, share one key, and
`dvc repro` / `dvc exp run` restore the earlier run's outputs under the new params. check_params
therefore writes checks/params/<stage>.json: the values of the params that stage of dvc.yaml lists,
as DVC reads them from params.yaml. Each such stage depends on its file, and a file's hash enters
the key whole. The lists stay in dvc.yaml alone: this module reads them from there."""
from pathlib import Path

import yaml

from src.common.atomic import write_json
from src.common.errors import BadInputError

MISSING = object()


def listed_params(dvc_yaml):
    """{stage name: [param keys]} of every stage of dvc.yaml with a `params` list (matrix and
    foreach stages by their base name: their params are the same for every item)."""
    stages = yaml.safe_load(Path(dvc_yaml).read_text())["stages"]
    listed = {}
    for name, stage in stages.items():
        keys = stage.get("do", stage).get("params") or []
        if not all(isinstance(key, str) for key in keys):
            raise BadInputError(dvc_yaml, f"stage {name}: params must be keys of params.yaml, got {keys}")
        if keys:
            listed[name] = keys
    return listed


def param_value(params, key, where):
    """params.yaml's value of a dotted key (a whole block for a top-level name)."""
    value = params
    for part in key.split("."):
        value = value.get(part, MISSING) if isinstance(value, dict) else MISSING
        if value is MISSING:
            raise BadInputError(where, f"lists param {key!r}, which params.yaml does not have")
    return value


def stage_param_values(dvc_yaml, params):
    """{stage name: {key: value}} for every stage of dvc_yaml that lists params."""
    return {name: {key: param_value(params, key, f"{dvc_yaml}: stage {name}") for key in keys}
            for name, keys in listed_params(dvc_yaml).items()}


def write_stage_params(folder, dvc_yaml, params):
    """checks/params/<stage>.json for every stage of dvc_yaml that lists params; params: params.yaml as
    read (check_params passes the dict it checked). Returns the stage names."""
    values = stage_param_values(dvc_yaml, params)
    for name, stage_values in values.items():
        write_json(Path(folder) / f"{name}.json", stage_values)
    return sorted(values)
