import numpy as np
import pytest
import torch
import torch.nn.functional as F

from src.training.losses import LOSSES, build_loss

COUNTS = np.array([500, 300, 60, 400, 250, 40] + [100] * 12)
SPECS = [
    {"name": "cross_entropy"},
    {"name": "cross_entropy", "class_weights": "inverse"},
    {"name": "cross_entropy", "class_weights": "sqrt_inverse"},
    {"name": "focal", "gamma": 2.0},
    {"name": "label_smoothing", "smoothing": 0.1},
    {"name": "f1", "epsilon": 1e-7},
    {"name": "ldam", "max_m": 0.5, "s": 30, "drw_epoch": 2},
]
SOFT_OK = [s for s in SPECS if s["name"] != "ldam"]


def batch(n=16, c=18, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g, requires_grad=True), torch.randint(0, c, (n,), generator=g)


def test_every_name_is_tested():
    assert {s["name"] for s in SPECS} == set(LOSSES)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: str(s))
def test_finite_scalar_and_gradient(spec):
    loss_fn = build_loss(spec, COUNTS)
    loss_fn.set_epoch(0)
    logits, target = batch()
    loss = loss_fn(logits, target)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


@pytest.mark.parametrize("spec", SOFT_OK, ids=lambda s: str(s))
def test_soft_targets(spec):
    loss_fn = build_loss(spec, COUNTS)
    logits, target = batch()
    one_hot = F.one_hot(target, 18).float()
    # a one-hot soft target is the hard target
    assert torch.allclose(loss_fn(logits, one_hot), loss_fn(logits, target), atol=1e-5)
    mixed = 0.7 * one_hot + 0.3 * one_hot.roll(1, dims=0)  # what MixUp produces
    loss = loss_fn(logits, mixed)
    assert torch.isfinite(loss)
    loss.backward()


def test_ldam_refuses_soft_targets():
    logits, target = batch()
    with pytest.raises(ValueError, match="hard labels"):
        build_loss({"name": "ldam"}, COUNTS)(logits, F.one_hot(target, 18).float())


def test_focal_gamma_zero_and_smoothing_zero_equal_cross_entropy():
    logits, target = batch()
    ce = F.cross_entropy(logits, target)
    assert torch.allclose(build_loss({"name": "focal", "gamma": 0.0}, COUNTS)(logits, target), ce, atol=1e-6)
    assert torch.allclose(build_loss({"name": "label_smoothing", "smoothing": 0.0}, COUNTS)(logits, target), ce)
    assert torch.allclose(build_loss({"name": "cross_entropy"}, COUNTS)(logits, target), ce)
    # focal down-weights: never above cross entropy
    assert build_loss({"name": "focal", "gamma": 2.0}, COUNTS)(logits, target) < ce


def test_inverse_weights_favour_rare_classes():
    loss_fn = build_loss({"name": "cross_entropy", "class_weights": "inverse"}, COUNTS)
    assert loss_fn.weight[5] > loss_fn.weight[0]
    assert torch.isclose(loss_fn.weight.mean(), torch.tensor(1.0))


def test_f1_loss_is_low_for_perfect_predictions():
    target = torch.arange(18).repeat(2)
    logits = 20 * F.one_hot(target, 18).float()
    assert build_loss({"name": "f1"}, COUNTS)(logits, target) < 1e-3
    assert build_loss({"name": "f1"}, COUNTS)(-logits, target) > 0.9


def test_ldam_drw_weights_switch_on_at_drw_epoch():
    loss_fn = build_loss({"name": "ldam", "drw_epoch": 3}, COUNTS)
    logits, target = batch()
    values = []
    for epoch in range(5):
        loss_fn.set_epoch(epoch)
        values.append(loss_fn(logits, target).item())
        assert (loss_fn.weight is not None) == (epoch >= 3)
    assert values[0] == values[2] != values[3] == values[4]
    assert loss_fn.weight[5] > loss_fn.weight[0]  # rare class weighs more
    never = build_loss({"name": "ldam"}, COUNTS)
    never.set_epoch(100)
    assert never.weight is None


def test_ldam_margin_largest_for_rarest_class():
    m = build_loss({"name": "ldam", "max_m": 0.5}, COUNTS).margins
    assert m.argmax() == 5 and torch.isclose(m.max(), torch.tensor(0.5))


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"train\.loss.*'focall'.*cross_entropy.*ldam"):
        build_loss({"name": "focall"}, COUNTS)


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ValueError, match=r"train\.loss.*'alpha'.*gamma"):
        build_loss({"name": "focal", "gamma": 2, "alpha": 0.25}, COUNTS)


def test_bad_class_weights_value():
    with pytest.raises(ValueError, match="train.loss.*sqrt_inverse"):
        build_loss({"name": "cross_entropy", "class_weights": "balanced"}, COUNTS)


def test_absent_class_does_not_break_weights():
    counts = COUNTS.copy()
    counts[7] = 0
    for spec in SPECS:
        logits, target = batch()
        assert torch.isfinite(build_loss(spec, counts)(logits, target))
