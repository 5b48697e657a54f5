"""Model factory: any timm architecture by name, random init or a local weights file.

No weights are ever downloaded: `pretrained` is a path on disk, loaded with
weights_only semantics (tensors only, no arbitrary pickled code).
"""
import difflib
import os

import timm
import torch
from timm.models import load_state_dict


def check_model_name(name: str) -> None:
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=5, cutoff=0.6)
        raise ValueError(f"train.model: unknown timm model {name!r}; close matches: {close} "
                         f"(full list: timm.list_models())")


HEAD_KINDS = ("single", "multi")


def build_model(name: str, num_classes: int = 18, pretrained: str = "",
                drop_rate: float = 0.0, heads: str = "single") -> torch.nn.Module:
    """heads="single": one 18-way classifier; "multi": src.heads.MultiHeadNet (still 18-class logits)."""
    if heads not in HEAD_KINDS:
        raise ValueError(f"train.heads: unknown kind {heads!r}; valid: {list(HEAD_KINDS)}")
    if heads == "multi":
        from src.heads import MultiHeadNet
        return MultiHeadNet(build_model(name, 0, pretrained, drop_rate))
    check_model_name(name)
    if pretrained and not os.path.isfile(pretrained):
        raise FileNotFoundError(f"train.pretrained: weights file not found: {pretrained!r}")
    # pretrained=False: timm builds the architecture only and never reaches the network.
    model = timm.create_model(name, pretrained=False, num_classes=num_classes, drop_rate=drop_rate)
    if pretrained:
        load_backbone(model, pretrained)
    return model


def load_backbone(model: torch.nn.Module, path: str) -> None:
    """Load every weight of `path` into `model`; the classifier is kept fresh when its shape differs.

    Accepts a plain state dict, a timm/torch checkpoint ({"state_dict"|"model": ...}, EMA preferred)
    or a .safetensors file. Anything else that does not fit is an error, not a silent skip.
    """
    state = load_state_dict(path, weights_only=True)  # safetensors or torch.load(weights_only=True)
    own = model.state_dict()
    head = model.pretrained_cfg.get("classifier") or ""
    head_keys = {k for k in own if head and k.startswith(head + ".")}
    # A head trained for another number of classes cannot be reused: keep the fresh one.
    # (A backbone built with num_classes=0, as for heads=multi, has no classifier weights at all.)
    state = {k: v for k, v in state.items()
             if not (head and k.startswith(head + ".") and (k not in own or v.shape != own[k].shape))}
    bad_shape = [k for k, v in state.items() if k in own and v.shape != own[k].shape]
    missing = [k for k in own if k not in state and k not in head_keys]
    unexpected = [k for k in state if k not in own]
    if bad_shape or missing or unexpected:
        raise ValueError(f"train.pretrained: {path!r} does not fit model "
                         f"{model.pretrained_cfg.get('architecture')}: shape mismatch {bad_shape[:5]}, "
                         f"missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.load_state_dict(state, strict=False)
