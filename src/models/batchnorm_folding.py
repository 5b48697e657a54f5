"""Inference copies of a network with every BatchNorm folded into the convolution that feeds it.

In eval mode a BatchNorm is a per-channel affine map, so it can be merged into the weights of the
Conv2d whose output it normalises (torch.nn.utils.fusion.fuse_conv_bn_eval): one pass over the
activations instead of two. On a 2-core CPU this makes efficientnet_lite0 inference about 1.5x
faster (`make bench`, item batchnorm_folding); the outputs agree to float rounding.

Which convolution feeds which BatchNorm is read off one forward pass (hooks), not off layer names,
so any timm model works. A copy whose outputs differ from the original's on that pass (a
convolution output also used elsewhere, a BatchNorm subclass doing more than normalise + act) is
not used: the original model is returned."""
import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

TOLERANCE = 1e-3  # largest |difference| of outputs allowed, relative to the outputs' scale


def after_normalising(batchnorm):
    """What `batchnorm` does after normalising, or None when that is unknown (then it is not folded):
    nothing for a plain BatchNorm2d, drop + act for timm's BatchNormAct2d."""
    if type(batchnorm) is nn.BatchNorm2d:
        return nn.Identity()
    if isinstance(batchnorm, nn.BatchNorm2d) and type(batchnorm).__name__ == "BatchNormAct2d":
        return nn.Sequential(batchnorm.drop, batchnorm.act)
    return None


def conv_batchnorm_pairs(model, probe):
    """[(conv name, batchnorm name)] where the BatchNorm's input is the very tensor the Conv2d returned,
    found by running `model` on `probe` (eval mode, no gradients)."""
    produced_by, pairs, keep = {}, [], []

    def conv_hook(name):
        def hook(module, inputs, output):
            keep.append(output)  # ids stay unique while the tensors live
            produced_by[id(output)] = name
        return hook

    def batchnorm_hook(name):
        def hook(module, inputs, output):
            conv = produced_by.get(id(inputs[0]))
            if conv is not None and module.track_running_stats and module.running_mean is not None:
                pairs.append((conv, name))
        return hook

    handles = [module.register_forward_hook(conv_hook(name) if isinstance(module, nn.Conv2d) else batchnorm_hook(name))
               for name, module in model.named_modules() if isinstance(module, (nn.Conv2d, nn.BatchNorm2d))]
    try:
        with torch.no_grad():
            model(probe)
    finally:
        for handle in handles:
            handle.remove()
    used = [conv for conv, _ in pairs]
    return [(conv, bn) for conv, bn in pairs if used.count(conv) == 1]  # a conv read by two BatchNorms: leave it


def _set_submodule(model, name, module):
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, module)


def fold_batchnorms(model, probe):
    """(model for inference, number of BatchNorms folded). `model` is put in eval mode, its weights
    untouched; the folded copy is in eval mode too. probe: one input batch as the model takes it (a few
    images are enough)."""
    model.eval()
    folded = copy.deepcopy(model)
    count = 0
    for conv_name, bn_name in conv_batchnorm_pairs(folded, probe):
        conv, batchnorm = folded.get_submodule(conv_name), folded.get_submodule(bn_name)
        rest = after_normalising(batchnorm)
        if rest is None:
            continue
        _set_submodule(folded, conv_name, fuse_conv_bn_eval(conv, batchnorm))
        _set_submodule(folded, bn_name, rest)
        count += 1
    if not count:
        return model, 0
    with torch.no_grad():
        expected, got = model(probe).float(), folded(probe).float()
    if not torch.allclose(got, expected, rtol=0, atol=TOLERANCE * (1 + expected.abs().max().item())):
        return model, 0
    return folded.eval(), count
