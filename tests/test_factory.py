"""src.common.factory: the one lookup and argument check of every family named in params.yaml."""
import pytest

from src.common.factory import accepted_arguments, check_arguments, pick, split_spec
from src.training.losses import build_loss
from src.training.optim import build_optimizer, optimizer_arguments, scheduler_arguments


def test_pick_returns_the_entry_or_names_key_and_valid_names():
    assert pick("train.sampler", {"none": 1, "weighted": 2}, "weighted", "sampler") == 2
    assert pick("train.heads", ("single", "multi"), "multi", "kind") == "multi"
    with pytest.raises(ValueError, match=r"^train.heads: unknown kind 'mult'; valid: \['multi', 'single'\]$"):
        pick("train.heads", ("single", "multi"), "mult", "kind")


def test_close_matches_only_for_long_registries():
    registry = {f"Transform{i}": i for i in range(20)} | {"HorizontalFlip": 0}
    with pytest.raises(ValueError, match=r"close matches: \['HorizontalFlip'\]; valid: \["):
        pick("train.augment", registry, "HorizontalFlipp", "transform")


def test_split_spec_and_arguments():
    spec = {"name": "AdamW", "weight_decay": 0.1}
    assert split_spec("train.optimizer", spec) == ("AdamW", {"weight_decay": 0.1})
    assert spec == {"name": "AdamW", "weight_decay": 0.1}  # the caller's spec is untouched
    with pytest.raises(ValueError, match="^train.loss: expected a mapping with a 'name' key, got 'focal'$"):
        split_spec("train.loss", "focal")
    assert accepted_arguments(lambda a, *args, b=1, **kw: None) == ["a", "b"]
    with pytest.raises(ValueError, match=r"^k: f does not accept argument\(s\) \['c'\]; accepted: \['a', 'b'\]$"):
        check_arguments("k", "f", {"a": 1, "c": 2}, ["a", "b"])


def test_families_share_the_wording():
    with pytest.raises(ValueError, match=r"^train.loss: focal does not accept argument\(s\) \['gama'\]"):
        build_loss({"name": "focal", "gama": 2}, [1] * 18)
    with pytest.raises(ValueError, match=r"^train.optimizer: unknown optimizer 'Adamw'; close matches: \['AdamW', "):
        build_optimizer({"name": "Adamw"}, [], 0.1)


def test_defaults_live_in_optim_only():
    """The pipeline's defaults (SGD momentum, cosine over the epochs) come from one place for the training
    loop and torchensemble alike (src.training.fold_members reads them from here)."""
    assert optimizer_arguments({"name": "SGD"}) == ("SGD", {"momentum": 0.9})
    assert optimizer_arguments({"name": "SGD", "momentum": 0.5}) == ("SGD", {"momentum": 0.5})
    assert scheduler_arguments({"name": "CosineAnnealingLR"}, None, 7, 3) == ("CosineAnnealingLR", {"T_max": 7},
                                                                             "epoch")
    assert scheduler_arguments({"name": "StepLR", "gamma": 0.5}, None, 9, 3)[1] == {"step_size": 3, "gamma": 0.5}
