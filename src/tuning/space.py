"""The search space of params.yaml (`tune.space`) as Ray Tune domains, and the way back.

    space:
      lr: {loguniform: [0.0003, 0.01]}
      loss.name: {choice: [cross_entropy, focal]}   # dotted keys reach nested train keys

A sampled configuration is a flat dict {"lr": 0.001, "loss.name": "focal"}; apply_overrides turns
it into a full `train` block and as_params into the params.yaml form {"train": {"loss": {...}}}."""
import math
import numbers

import numpy as np

from src.common.factory import pick
from src.config.tree import thaw
from src.tuning.wandb_log import settings as wandb_settings


def _numbers(key, kind, args, count):
    if len(args) != count or not all(isinstance(a, numbers.Real) and not isinstance(a, bool) for a in args):
        raise ValueError(f"tune.space.{key}: {kind} takes a list of {count} numbers, got {args!r}")
    if args[0] >= args[1]:
        raise ValueError(f"tune.space.{key}: {kind} needs low < high, got {args!r}")


def _choice(key, args):
    if len(args) == 0:
        raise ValueError(f"tune.space.{key}: choice takes a non-empty list of values")


def _loguniform(key, args):
    _numbers(key, "loguniform", args, 2)
    if args[0] <= 0:
        raise ValueError(f"tune.space.{key}: loguniform needs low > 0, got {args!r}")


def _randint(key, args):
    _numbers(key, "randint", args, 2)
    if not all(isinstance(a, numbers.Integral) for a in args):
        raise ValueError(f"tune.space.{key}: randint takes two integers [low, high), got {args!r}")


def _quniform(key, args):
    _numbers(key, "quniform", args, 3)
    if args[2] <= 0:
        raise ValueError(f"tune.space.{key}: quniform needs a step q > 0, got {args!r}")


# kind -> check(key, args); each kind is the Ray Tune sampler of the same name (tune.choice(values),
# tune.loguniform(low, high), ...). randint's high is excluded, as in Ray and HyperOpt.
KINDS = {
    "choice": _choice,
    "uniform": lambda key, args: _numbers(key, "uniform", args, 2),
    "loguniform": _loguniform,
    "randint": _randint,
    "quniform": _quniform,
}


def _largest(kind, args):
    if kind == "choice":
        return max(args)
    return args[1] - 1 if kind == "randint" else args[1]


def check_tune(tune, train):
    """The Tune and Train configs (src.config.tree: their keys, types and ranges are checked already);
    returns the checked space."""
    wandb_settings(tune)  # wandb on but not installed fails before Ray starts too
    return check_space(thaw(tune.space), train, tune.max_t)


def check_space(space, train, max_t):
    """tune.space (key -> {kind: [args]}) -> {key: (kind, args)}. Fails on the first bad entry, naming it.

    train: the Train config the keys must exist in (a new leaf under a nested mapping, like loss.gamma, is
    allowed). max_t: the epoch cap; sampled `epochs` may not exceed it."""
    if not isinstance(space, dict) or not space:
        raise ValueError(f"tune.space: expected a mapping of train keys to {{kind: [args]}}, got {space!r}")
    from src.models.backbone_weights import pretrained_source  # timm: imported only when a space is checked

    checked = {}
    for key, entry in space.items():
        _check_key(key, thaw(train))
        if key in ("model", "pretrained") and pretrained_source(train) != "none":
            raise ValueError(f"tune.space.{key}: the trials fine-tune the weights the weights stage fetched for "
                             f"train.model ({train.model}); sample {key} only with train.pretrained none")
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ValueError(f"tune.space.{key}: expected one {{kind: [args]}} with kind one of {sorted(KINDS)}, "
                             f"got {entry!r}")
        (kind, args), = entry.items()
        pick(f"tune.space.{key}", KINDS, kind, "kind")
        if not isinstance(args, list):
            raise ValueError(f"tune.space.{key}: {kind} takes a list, got {args!r}")
        KINDS[kind](key, args)
        if key == "epochs":
            if not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) and a >= 1
                       for a in (args if kind == "choice" else args[:2])):
                raise ValueError(f"tune.space.epochs: epochs must be whole numbers >= 1, got {args!r}")
            if _largest(kind, args) > max_t:
                raise ValueError(f"tune.space.epochs: values up to {_largest(kind, args)} exceed tune.max_t = "
                                 f"{max_t} (the epoch cap of every trial); lower them or raise tune.max_t")
        checked[key] = (kind, list(args))
    return checked


def _check_key(key, train):
    parts = key.split(".")
    node = train
    for depth, part in enumerate(parts[:-1]):
        if not isinstance(node.get(part), dict):
            raise ValueError(f"tune.space.{key}: train.{'.'.join(parts[:depth + 1])} is not a mapping in params.yaml")
        node = node[part]
    if len(parts) == 1 and key not in train:
        raise ValueError(f"tune.space.{key}: params.yaml has no train.{key}; valid keys: {sorted(train)}")


def to_domains(checked):
    """{key: (kind, args)} -> {key: Ray Tune domain}."""
    from ray import tune  # imported here: a local Ray must be configured before ray is first imported

    return {key: getattr(tune, kind)(list(args)) if kind == "choice" else getattr(tune, kind)(*args)
            for key, (kind, args) in checked.items()}


def parse_space(space, train, max_t):
    """tune.space -> {key: Ray Tune domain}, checked as check_space does."""
    return to_domains(check_space(space, train, max_t))


def plain(value):
    """numpy scalars (HyperOpt's samples) -> Python values, so they dump to YAML and JSON cleanly."""
    return value.item() if isinstance(value, np.generic) else value


def is_point(config, point):
    """Whether a trial's sampled values (config) are `point`'s (default_point), key by key; None: no point."""
    if not point:
        return False
    for key, want in point.items():
        got = plain(config.get(key))
        if isinstance(want, numbers.Real) and isinstance(got, numbers.Real) and not isinstance(want, bool):
            if not math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=1e-12):
                return False
        elif got != want:
            return False
    return True


def apply_overrides(train, overrides):
    """The train block (a Train config or its plain form) as a plain dict with each (dotted) key set; whole
    floats become ints where the original value is an int (quniform gives 32.0 for batch_size)."""
    cfg = thaw(train)
    for key, value in overrides.items():
        *parents, leaf = key.split(".")
        node = cfg
        for part in parents:
            node = node[part]
        value = plain(value)
        old = node.get(leaf)
        if isinstance(old, int) and not isinstance(old, bool) and isinstance(value, float) and value.is_integer():
            value = int(value)
        node[leaf] = value
    return cfg


def as_params(overrides, train):
    """{"lr": .., "loss.name": ..} -> {"train": {"lr": .., "loss": {"name": ..}}}, values as applied."""
    applied = apply_overrides(train, overrides)
    nested = {}
    for key in overrides:
        *parents, leaf = key.split(".")
        src, dst = applied, nested
        for part in parents:
            src, dst = src[part], dst.setdefault(part, {})
        dst[leaf] = src[leaf]
    return {"train": nested}


def default_point(checked, train, max_t):
    """The train block's own value of every key of the space, when all lie inside it: the search's first
    trial, so that the best trial is never worse on the tuned fold than params.yaml as it stands. None when
    some value lies outside the space (the search then starts from HyperOpt's draws alone)."""
    point, train = {}, thaw(train)
    for key, (kind, args) in checked.items():
        node = train
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        value = max_t if key == "epochs" and node is None else node
        if kind == "choice":
            inside = value in args
        else:
            inside = isinstance(value, numbers.Real) and args[0] <= value <= args[1] - (kind == "randint")
        if not inside:
            return None
        point[key] = value
    return point
