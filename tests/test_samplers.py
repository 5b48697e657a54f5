import numpy as np
import pytest

from src.training.samplers import SAMPLERS, build_sampler

LABELS = np.array([0] * 1000 + [1] * 10)  # 100:1


def draw_share(name, seed=0):
    idx = np.array(list(build_sampler(name, LABELS, seed)))
    assert len(idx) == len(LABELS)
    return (LABELS[idx] == 1).mean()


def test_none_means_loader_shuffles():
    assert build_sampler("none", LABELS, 0) is None


def test_imbalanced_draws_roughly_balanced():
    assert 0.4 < draw_share("imbalanced") < 0.6


def test_weighted_is_softer():
    share = draw_share("weighted")  # expected sqrt(10) / (sqrt(10) + sqrt(1000)) = 1/11
    assert 0.05 < share < 0.15


@pytest.mark.parametrize("name", [n for n in SAMPLERS if n != "none"])
def test_same_seed_same_order(name):
    a = list(build_sampler(name, LABELS, 7))
    assert a == list(build_sampler(name, LABELS, 7))
    assert a != list(build_sampler(name, LABELS, 8))


def test_unknown_name():
    with pytest.raises(ValueError, match=r"train\.sampler.*'balanced'.*imbalanced.*none.*weighted"):
        build_sampler("balanced", LABELS, 0)
