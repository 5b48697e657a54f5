import math

import pytest
import torch

from src.common.factory import accepted_arguments
from src.training.optim import OPTIMIZERS, SCHEDULERS, build_optimizer, build_scheduler


def params():
    return torch.nn.Linear(4, 3).parameters()


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_steps(name):
    """Every optimizer of torch.optim's registry the loop can drive (src.training.optim.UNSUITED aside)."""
    model = torch.nn.Linear(4, 3)
    decay = {"weight_decay": 1e-4} if "weight_decay" in accepted_arguments(OPTIMIZERS[name]) else {}
    opt = build_optimizer({"name": name, **decay}, model.parameters(), lr=0.1)
    before = model.weight.detach().clone()
    model(torch.randn(8, 4)).pow(2).mean().backward()
    opt.step()
    assert not torch.equal(before, model.weight)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0].get("weight_decay", 1e-4) == 1e-4


def test_optimizers_come_from_torch_registry():
    assert {"Adam", "AdamW", "SGD", "RMSprop", "NAdam"} <= set(OPTIMIZERS)
    with pytest.raises(ValueError, match=r"^train.optimizer: unknown optimizer 'LBFGS'; valid: \['ASGD'"):
        build_optimizer({"name": "LBFGS"}, params(), lr=0.1)


def test_sgd_defaults_and_nesterov():
    opt = build_optimizer({"name": "SGD"}, params(), lr=0.1)
    assert opt.defaults["momentum"] == 0.9 and not opt.defaults["nesterov"]
    opt = build_optimizer({"name": "SGD", "nesterov": True, "momentum": 0.8}, params(), lr=0.1)
    assert opt.defaults["momentum"] == 0.8 and opt.defaults["nesterov"]


def test_optimizer_errors():
    with pytest.raises(ValueError, match=r"train\.optimizer: unknown optimizer 'adamw'; "
                                         r"close matches: \[.*'AdamW'.*\]; valid: .*'SGD'"):
        build_optimizer({"name": "adamw"}, params(), lr=0.1)
    with pytest.raises(ValueError, match=r"train\.optimizer: AdamW does not accept argument.*'momentum'"):
        build_optimizer({"name": "AdamW", "momentum": 0.9}, params(), lr=0.1)
    with pytest.raises(ValueError, match="train.lr"):
        build_optimizer({"name": "Adam", "lr": 0.1}, params(), lr=0.1)


def run(spec, opt_name="AdamW", epochs=6, steps=5):
    opt = build_optimizer({"name": opt_name}, params(), lr=0.1)
    sched, every = build_scheduler(spec, opt, epochs=epochs, steps_per_epoch=steps)
    lrs = []
    for _ in range(epochs):
        for _ in range(steps):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            if every == "batch":
                sched.step()
        if every == "epoch" and sched is not None:
            sched.step()
    return sched, every, lrs


def test_none():
    sched, every, lrs = run({"name": "none"})
    assert sched is None and every == "epoch" and set(lrs) == {0.1}


def test_cosine_per_epoch():
    _, every, lrs = run({"name": "CosineAnnealingLR"})
    assert every == "epoch"
    per_epoch = lrs[::5]
    assert per_epoch[0] == 0.1 and all(a > b for a, b in zip(per_epoch, per_epoch[1:]))
    assert math.isclose(per_epoch[3], 0.05, rel_tol=1e-6)  # half way through T_max=6
    assert len(set(lrs[:5])) == 1  # constant inside an epoch


def test_step_lr():
    _, every, lrs = run({"name": "StepLR", "step_size": 2, "gamma": 0.5})
    assert every == "epoch"
    assert [round(x, 6) for x in lrs[::5]] == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]


@pytest.mark.parametrize("opt_name", ["Adam", "AdamW", "SGD"])
def test_cyclic_per_batch(opt_name):
    sched, every, lrs = run({"name": "CyclicLR"}, opt_name=opt_name)
    assert every == "batch"
    assert math.isclose(lrs[0], 0.01) and math.isclose(max(lrs), 0.1)
    assert lrs.index(max(lrs)) == 10  # up for 2 epochs of 5 steps
    assert sched.cycle_momentum == (opt_name == "SGD")


def test_cyclic_half_cycle_capped_for_short_runs():
    _, _, lrs = run({"name": "CyclicLR"}, epochs=2, steps=5)
    assert lrs.index(max(lrs)) == 5  # half of the 10 steps, so the lr comes back down


def test_cyclic_overrides():
    _, _, lrs = run({"name": "CyclicLR", "base_lr": 0.001, "step_size_up": 3, "mode": "triangular2"})
    assert math.isclose(lrs[0], 0.001) and lrs.index(max(lrs)) == 3


def test_scheduler_errors():
    opt = build_optimizer({"name": "Adam"}, params(), lr=0.1)
    with pytest.raises(ValueError, match=r"train\.scheduler.*'cosine'.*CosineAnnealingLR.*StepLR"):
        build_scheduler({"name": "cosine"}, opt, 3, 3)
    with pytest.raises(ValueError, match=r"train\.scheduler.*'warmup'.*T_max"):
        build_scheduler({"name": "CosineAnnealingLR", "warmup": 2}, opt, 3, 3)
    with pytest.raises(ValueError, match=r"train\.scheduler.*'gamma'"):
        build_scheduler({"name": "none", "gamma": 2}, opt, 3, 3)
    assert set(SCHEDULERS) == {"none", "CosineAnnealingLR", "CyclicLR", "StepLR"}


def test_layered_groups_put_the_backbone_at_its_own_rate():
    from src.models.networks import backbone_parameters, build_model
    from src.training.optim import layered_groups
    model = build_model("resnet18", num_classes=18)
    backbone = backbone_parameters(model)
    groups = layered_groups(model.parameters(), backbone, lr=0.01, backbone_lr=0.25)
    assert [g["lr"] for g in groups] == [0.0025, 0.01]
    assert groups[1]["params"] == [model.net.fc.weight, model.net.fc.bias]  # the new classifier only
    assert len(groups[0]["params"]) + 2 == len(list(model.parameters()))
    opt = build_optimizer({"name": "AdamW"}, groups, lr=0.01)
    sched, _ = build_scheduler({"name": "CosineAnnealingLR"}, opt, epochs=2, steps_per_epoch=1)
    sched.step()  # cosine halfway: both rates halve, their ratio stays
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.00125, 0.005])


def test_linear_warmup_scales_the_first_steps_then_leaves_the_schedule_alone():
    from src.training.optim import LinearWarmup
    opt = build_optimizer({"name": "SGD"}, params(), lr=0.1)
    sched, every = build_scheduler({"name": "CosineAnnealingLR"}, opt, epochs=2, steps_per_epoch=4)
    warmup, seen = LinearWarmup(opt, 4), []
    for epoch in range(2):
        for step in range(epoch * 4, epoch * 4 + 4):
            with warmup.step(step):
                seen.append(opt.param_groups[0]["lr"])
        sched.step()
    assert seen == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.05, 0.05, 0.05, 0.05])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0)  # the cosine ends where it would without warmup
