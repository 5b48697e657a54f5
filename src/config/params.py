"""Read params.yaml (safe_load only) and check all of it before any work starts: unknown keys
(typos such as `trian.lr`), wrong types, out-of-range values and unknown names fail at once with
the key, the value and what was expected."""
import dataclasses
import difflib
import re
from pathlib import Path

import yaml

from src.common.errors import first_line
from src.config.schema import SCHEMA, is_optional
from src.config.tree import build


class ParamsLoader(yaml.SafeLoader):
    """yaml.SafeLoader that also reads `1e-05` as a float: DVC writes small floats of `-S` edits that way
    (YAML 1.2), where YAML 1.1, PyYAML's default, requires a dot and a signed exponent. A key given twice in
    one mapping fails (PyYAML would keep the last silently; DVC's -S refuses such a file)."""

    def construct_mapping(self, node, deep=False):
        first = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str) and key in first:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice (first on line "
                                                        f"{first[key] + 1})", key_node.start_mark)
            first.setdefault(key, key_node.start_mark.line) if isinstance(key, str) else None
        return super().construct_mapping(node, deep)


ParamsLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9]+)$"), list("-+0123456789."))


def load_params(path="params.yaml"):
    """params.yaml read, checked (every key, type, range and cross-check) and built once into the read-only
    Params (src.config.tree) the stages pass down. The names in it (detector, model, loss, transforms...
    TTA views) are checked by the pipeline (stages/plumbing/name_checks.py), which imports the libraries
    that define them (torch, timm, albumentations: about 3 s): the check_params stage checks all of them,
    the train and tune stages the train block's; the others need not (check_params runs before any stage
    whenever params.yaml changes)."""
    path = Path(path)
    params = read_params_file(path)
    check_params(params, path)
    return build(params)


class ParamsError(ValueError):
    """params.yaml is missing, unreadable or holds a bad value: the message names the file and the key."""


def read_params_file(path):
    """The parsed params file, a mapping; fails naming the file (and the line of a YAML syntax error)."""
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found (run from the repository root, where params.yaml is)")
    try:
        with open(path) as f:
            params = yaml.load(f, Loader=ParamsLoader)  # safe: a SafeLoader with one more float form
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or first_line(e)
        context, start = getattr(e, "context", None), getattr(e, "context_mark", None)
        if context and start:
            problem += f", {context} that starts at line {start.line + 1}"
        raise ParamsError(f"{path}: {where}not valid YAML ({problem}); `git diff {path}` shows the edits") from None
    if params is None:
        raise ParamsError(f"{path}: empty; expected the blocks seed, data, face_crop, split, train, ... "
                          f"(`git checkout {path}` restores the committed one)")
    if not isinstance(params, dict):
        raise ParamsError(f"{path}: expected a mapping of stage blocks, got {type(params).__name__}")
    return params


def flatten(params, prefix=""):
    """{'train': {'lr': 1}} -> {'train.lr': 1}, stopping at the leaves SCHEMA names."""
    flat = {}
    for key, value in params.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted not in SCHEMA:
            flat.update(flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def meant(key):
    """The known keys a mistyped one was probably meant as: same last part (lr -> train.lr), else close spelling."""
    leaf = key.rsplit(".", 1)[-1]
    return [k for k in SCHEMA if k.rsplit(".", 1)[-1] == leaf] or difflib.get_close_matches(key, SCHEMA, n=1,
                                                                                              cutoff=0.6)


def check_params(params, path="params.yaml", block=None):
    """Raise ParamsError naming every problem: key, value, and what was expected. block: `params` holds only
    this block of params.yaml ("train", "train.mix", ...; block_config), its required keys and rules."""
    flat = flatten(params)
    problems = []
    for key, value in flat.items():
        if key not in SCHEMA:
            close = meant(key)
            problems.append(f"unknown key {key!r}" + (f"; did you mean {' or '.join(close)}?" if close else ""))
        else:
            expected = SCHEMA[key].check(value)
            if expected:
                problems.append(f"{key} = {value!r}: expected {expected}")
    within = {block} if block else {key.split(".")[0] for key in flat} | {"seed"}
    for key in SCHEMA:
        if key not in flat and not is_optional(key) and any(key == w or key.startswith(w + ".") for w in within):
            problems.append(f"missing key {key!r}")
    if not problems and (block is None or "." not in block):
        problems = _cross_checks(params)
    if problems:
        raise ParamsError(f"{path}: " + "; ".join(problems))


def block_config(block, mapping, where=None):
    """One block of params.yaml ("train", "tune", "train.mix", ...: a tune trial's, a test's), checked as
    check_params checks it in params.yaml and built into its read-only config (Params.train, ...)."""
    nested = mapping
    for part in reversed(block.split(".")):
        nested = {part: nested}
    check_params(nested, where or f"{block} block", block)
    return build(mapping, block)


def train_config(block, where="train block"):
    """The Train config that train_model takes, from a train block (block_config)."""
    return block_config("train", block, where)


def _cross_checks(params):
    """The rules between keys, each checked here only (a single block is checked on its own rules)."""
    problems = []
    train, k = params.get("train"), params.get("split", {}).get("k")
    if train is not None:
        problems += _train_rules(build(train, "train"))
        if k is not None:
            problems += [f"train.folds: fold {fold} is outside 0..{k - 1} (split.k = {k})"
                         for fold in train["folds"] if fold >= k]
    if "tune" in params:
        tune = build(params["tune"], "tune")
        if k is not None and tune.fold >= k:
            problems.append(f"tune.fold = {tune.fold}: outside 0..{k - 1} (split.k = {k})")
        if tune.grace_period > tune.max_t:
            problems.append(f"tune: need grace_period <= max_t, got {tune.grace_period} and {tune.max_t}")
        if train is not None and tune.task != "all" and train.get("heads") == "multi":
            problems.append(f"tune.task: {tune.task} tunes one attribute's model; train.heads multi is the 18-class "
                            f"model's: use heads single (-S train.heads=single)")
    return problems


def _train_rules(train):
    from src.labels.tasks import check_tasks  # the one definition of a valid train.tasks

    problems = []
    if not train.folds:
        problems.append("train.folds: at least one fold is needed")
    if 0 < train.resample.max_count < train.resample.min_count:
        problems.append(f"train.resample: min_count {train.resample.min_count} > max_count "
                        f"{train.resample.max_count}")
    try:
        check_tasks(list(train.tasks))
    except ValueError as e:
        problems.append(str(e))
    else:
        if list(train.tasks) != ["all"] and train.heads == "multi":
            problems.append("train.heads: multi predicts all 18 classes from one model; with train.tasks "
                            "[mask, gender, age] use heads single")
    if train.heads == "multi" and not any(dataclasses.astuple(train.head_weights)):
        problems.append("train.head_weights: at least one head needs a weight > 0")
    return problems
