"""params.yaml as one typed, read-only object, built once from the checked file.

Params and its blocks (Params.train, Params.train.mix, Params.tune.wandb, ...) are frozen dataclasses
made from src.config.schema.SCHEMA, the one declaration of every key: one field per key, typed by its
check, an absent optional key at its schema default, an absent top-level block None. Lists arrive as
tuples and mappings (train.loss, tune.space, an augment step) as Frozen dicts, so no caller can change
a value another one reads. thaw() gives plain dicts and lists back, for files and for libraries that
want plain data (Ray's search space, YAML)."""
import dataclasses
import re
import sys
from typing import Optional

from src.config.schema import REQUIRED, SCHEMA


class Frozen(dict):
    """A dict that cannot be changed after it is built (a mapping-valued params key)."""

    def _read_only(self, *args, **kwargs):
        raise TypeError("params are read-only: build a changed copy (dataclasses.replace, thaw) instead")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self):  # pickles (Ray, copy.deepcopy) as the plain dict it holds
        return Frozen, (dict(self),)


def freeze(value):
    """Lists -> tuples, dicts -> Frozen, all the way down."""
    if isinstance(value, dict):
        return Frozen({key: freeze(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value):
    """The plain-data form of a params object: dataclasses and Frozen -> dict (fields in schema order,
    absent blocks left out), tuples -> lists."""
    if dataclasses.is_dataclass(value):
        return {f.name: thaw(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None}
    if isinstance(value, dict):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(item) for item in value]
    return value


def nest(flat):
    """{"a.b": 1, "a.c": 2} -> {"a": {"b": 1, "c": 2}}: dotted keys as a tree."""
    tree = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def _schema_tree():
    """{"seed": "seed", "train": {"lr": "train.lr", "mix": {...}}, ...}: SCHEMA's keys as a tree."""
    return nest({key: key for key in SCHEMA})


def _class_name(prefix):
    return "".join(part.title() for part in re.split(r"[._]", prefix)) or "Params"


def _make_class(node, prefix=""):
    fields = []
    for name, sub in node.items():
        if isinstance(sub, dict):
            block = _make_class(sub, f"{prefix}{name}.")
            fields.append((name, Optional[block] if not prefix else block))
        else:
            kind = SCHEMA[sub].check.kind
            fields.append((name, Optional[kind] if not prefix else kind))
    name = _class_name(prefix.rstrip("."))
    cls = dataclasses.make_dataclass(name, fields, frozen=True)
    cls.__module__, cls.__qualname__ = __name__, name  # importable by name: picklable
    cls.__doc__ = f"params.yaml's {prefix.rstrip('.') or 'whole file'}: see docs/params.md"
    setattr(sys.modules[__name__], name, cls)
    return cls


Params = _make_class(_schema_tree())


def _build(cls, given, prefix=""):
    values = {}
    for field in dataclasses.fields(cls):
        key = prefix + field.name
        if key not in SCHEMA:  # a block
            block = given.get(field.name)
            block_class = _block_class(field.type)
            values[field.name] = None if block is None and not prefix else _build(block_class, block or {}, key + ".")
        elif field.name in given:
            values[field.name] = freeze(given[field.name])
        elif SCHEMA[key].default is not REQUIRED:
            values[field.name] = freeze(SCHEMA[key].default)
        elif not prefix:
            values[field.name] = None  # a top-level key of an incomplete file (a test's, a single block)
        else:
            raise ValueError(f"missing key {key!r}")  # check_params reports it first
    return cls(**values)


def _block_class(annotation):
    return next(arg for arg in getattr(annotation, "__args__", (annotation,)) if arg is not type(None))


def build(params: dict, block=""):
    """The Params of a checked params.yaml mapping (src.config.params.check_params has passed it); with
    block ("train", "train.mix", ...), the config of that block alone, from that block's mapping."""
    cls = Params
    for part in filter(None, block.split(".")):
        cls = _block_class(next(f.type for f in dataclasses.fields(cls) if f.name == part))
    return _build(cls, params, block + "." if block else "")
