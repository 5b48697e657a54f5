"""Model factory: any timm architecture by name, random init or a local weights file.

Every model built here takes the loaders' batches as they come: uint8 N x 3 x H x W pixels
(src.data.crop_dataset.collate_pixels; float pixel values 0..255 work too). Its first layer turns them
into floats normalised with the train.mean/std it was built with (saved in its state_dict), so the
data path does no float work at all and a GPU receives uint8 batches.

No weights are ever downloaded: `pretrained` is a path on disk, loaded with
weights_only semantics (tensors only, no arbitrary pickled code).
"""
import difflib
import os
import pickle

import timm
import torch
from safetensors import SafetensorError
from torch import nn
from timm.models import group_modules, group_parameters, load_state_dict

from src.common.errors import WeightsError, first_line
from src.common.factory import pick
from src.models.heads import MultiHeadNet


def check_model_name(name: str) -> None:
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=5, cutoff=0.6)
        raise ValueError(f"train.model: unknown timm model {name!r}; close matches: {close} "
                         f"(full list: timm.list_models())")


HEAD_KINDS = ("single", "multi")
# timm's ImageNet constants: the fallback when no train.mean/std is given (tests, one-off models)
DEFAULT_MEAN, DEFAULT_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class PixelInput(nn.Module):
    """net((x / 255 - mean) / std) for pixel batches 0..255 (uint8 or float), as one multiply-add per
    element; a uint8 batch is promoted to float32 by that same operation."""

    def __init__(self, net: nn.Module, mean, std, fixed=()):
        super().__init__()
        self.net = net
        self.fixed = list(fixed)  # modules of `net` that stay in eval mode (freeze_stages), not registered twice
        mean, std = torch.tensor(mean, dtype=torch.float32), torch.tensor(std, dtype=torch.float32)
        if mean.shape != (3,) or std.shape != (3,) or not bool((std > 0).all()):
            raise ValueError(f"train.mean/std: three values each, std > 0; got {mean.tolist()}, {std.tolist()}")
        self.register_buffer("scale", (1.0 / (255.0 * std)).view(1, 3, 1, 1))
        self.register_buffer("shift", (-mean / std).view(1, 3, 1, 1))

    def forward(self, x):
        return self.net(torch.addcmul(self.shift, x, self.scale))

    def train(self, mode: bool = True):
        super().train(mode)
        for module in self.fixed:
            module.eval()
        return self


def check_heads(heads: str, num_classes: int) -> None:
    """The head kind exists and can predict num_classes (multi: the three attribute heads give all 18)."""
    pick("train.heads", HEAD_KINDS, heads, "kind")
    if heads == "multi" and num_classes != 18:
        raise ValueError(f"train.heads: multi predicts all 18 classes, not {num_classes} (use train.tasks [all])")


def build_model(name: str, num_classes: int = 18, pretrained: str = "", drop_rate: float = 0.0,
                heads: str = "single", mean=DEFAULT_MEAN, std=DEFAULT_STD, frozen_stages: int = 0) -> nn.Module:
    """heads="single": one num_classes-way classifier; "multi": src.models.heads.MultiHeadNet (18-class
    logits from mask/gender/age heads). Either way wrapped in PixelInput(mean, std).
    frozen_stages: see freeze_stages."""
    check_heads(heads, num_classes)
    net = timm_model(name, 0 if heads == "multi" else num_classes, pretrained, drop_rate)
    fixed = freeze_stages(net, frozen_stages)
    return PixelInput(MultiHeadNet(net) if heads == "multi" else net, mean, std, fixed)


def timm_model(name: str, num_classes: int, pretrained: str = "", drop_rate: float = 0.0) -> nn.Module:
    """The bare timm network (num_classes=0: pooled features, no classifier)."""
    check_model_name(name)
    if pretrained and not os.path.isfile(pretrained):
        raise FileNotFoundError(f"train.pretrained: weights file not found: {pretrained!r}")
    # pretrained=False: timm builds the architecture only and never reaches the network.
    model = timm.create_model(name, pretrained=False, num_classes=num_classes, drop_rate=drop_rate)
    if pretrained:
        load_backbone(model, pretrained)
    return model


def check_frozen_stages(name: str, stages: int, source: str) -> None:
    """train.frozen_stages fits train.model (built on the meta device: no memory, no weights) and freezes
    pretrained layers, not random ones."""
    if not stages:
        return
    if source == "none":
        raise ValueError(f"train.frozen_stages: {stages} would fix randomly initialised layers "
                         f"(train.pretrained none); set it to 0 or choose pretrained weights")
    with torch.device("meta"):
        freeze_stages(timm.create_model(name, pretrained=False), stages)


def freeze_stages(model: nn.Module, stages: int) -> list:
    """Fix the stem and the first `stages` stages of a timm network, as timm's coarse group_matcher groups
    it (group 0 the stem, then one group per stage, the last the head): their weights do not learn and no
    gradient flows back through them, which saves their backward pass. Returns their modules, which
    PixelInput keeps in eval mode (BatchNorm statistics fixed, computed by torch's fused kernel; timm's
    freeze() swaps in FrozenBatchNorm2d, whose unfused arithmetic made predict 3x slower on CPU).
    The state_dict keeps its keys: a fold model file loads into the plain network. 0: nothing frozen."""
    if not stages:
        return []
    matcher = model.group_matcher(coarse=True)
    modules = group_modules(model, matcher)
    last_stage = len(modules) - 2  # groups: stem, the stages, the head
    if not 1 <= stages <= last_stage:
        raise ValueError(f"train.frozen_stages: {model.pretrained_cfg.get('architecture')} has stages 1.."
                         f"{last_stage} after its stem; got {stages}")
    frozen = sorted(modules)[:stages + 1]
    fixed = [model.get_submodule(name) for group in frozen for name in modules[group]]
    params = {name for group in frozen for name in group_parameters(model, matcher)[group]}
    for name, param in model.named_parameters():  # by name: also those outside any module (ViT pos_embed)
        if name in params:
            param.requires_grad_(False)
    return fixed


EXPECTED_WEIGHTS = ("a state dict of tensors: a .safetensors file, or torch.save(model.state_dict(), path) "
                    "(a checkpoint dict holding one under state_dict or model works too)")


def read_weights_file(path: str) -> dict:
    """The tensors of a weights file, read as timm reads them (safetensors, or torch.load(weights_only=True)
    of a state dict or of a checkpoint dict holding one). Anything else (a pickled module, a truncated or
    foreign file, a dict of other things) raises WeightsError naming the file and what it should hold."""
    try:
        state = load_state_dict(path, weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, OSError, ValueError, AttributeError, TypeError,
            SafetensorError) as e:
        # weights_only refuses pickled code (torch.save(model) stores the module, not just its tensors).
        raise WeightsError(f"train.pretrained: {path!r} is not a weights file this project reads "
                           f"({type(e).__name__}: {first_line(e)}); expected {EXPECTED_WEIGHTS}") from None
    if not isinstance(state, dict):
        held = f"a {type(state).__name__}"
    else:
        others = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
        held = f"non-tensor entries {others[:5]}" if others else "no tensors" if not state else None
    if held:
        raise WeightsError(f"train.pretrained: {path!r} holds {held}; expected {EXPECTED_WEIGHTS}")
    return state


def load_backbone(model: nn.Module, path: str) -> None:
    """Load every weight of `path` into `model`; the classifier is kept fresh when its shape differs.

    Accepts a plain state dict, a timm/torch checkpoint ({"state_dict"|"model": ...}, EMA preferred)
    or a .safetensors file. Anything else that does not fit is an error, not a silent skip.
    """
    state = read_weights_file(path)
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
        raise WeightsError(f"train.pretrained: {path!r} does not fit model "
                           f"{model.pretrained_cfg.get('architecture')}: shape mismatch {bad_shape[:5]}, "
                           f"missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.load_state_dict(state, strict=False)


def backbone_parameters(model: nn.Module) -> list:
    """The parameters of the timm networks inside `model` (one, or one per ensemble member) except their
    classifiers: the part pretrained weights initialise. Everything else (classifier, attribute heads)
    is new."""
    nets = [m for m in model.modules() if hasattr(m, "pretrained_cfg") and hasattr(m, "get_classifier")]
    head = {id(p) for net in nets for p in net.get_classifier().parameters()}
    return [p for net in nets for p in net.parameters() if id(p) not in head]
