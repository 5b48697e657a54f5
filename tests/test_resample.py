"""train.resample: classes brought into [min_count, max_count] rows, seeded."""
import numpy as np
import pytest

from src.config.params import ParamsError, load_params, train_config
from src.config.tree import thaw
from src.training.resample import resample_indices
from tests.helpers import REPO

LABELS = np.repeat([0, 1, 2, 5], [3, 10, 40, 1])


def counts(rows):
    return np.bincount(LABELS[rows], minlength=6)[[0, 1, 2, 5]].tolist()


def test_over_and_under_sampling_counts():
    assert counts(resample_indices(LABELS, 0, 0, seed=0)) == [3, 10, 40, 1]
    assert counts(resample_indices(LABELS, 8, 0, seed=0)) == [8, 10, 40, 8]
    assert counts(resample_indices(LABELS, 0, 20, seed=0)) == [3, 10, 20, 1]
    rows = resample_indices(LABELS, 5, 20, seed=0)
    assert counts(rows) == [5, 10, 20, 5]
    # over-sampling keeps every original row of the class; under-sampling draws without repeats
    assert set(np.flatnonzero(LABELS == 0)) <= set(rows)
    assert len(set(rows[LABELS[rows] == 2])) == 20


def test_seeded():
    np.testing.assert_array_equal(resample_indices(LABELS, 5, 20, seed=3), resample_indices(LABELS, 5, 20, seed=3))
    assert not np.array_equal(resample_indices(LABELS, 5, 20, seed=3), resample_indices(LABELS, 5, 20, seed=4))


def test_bad_bounds_fail_in_the_params_check():
    train = thaw(load_params(REPO / "params.yaml").train)
    with pytest.raises(ParamsError, match=r"train\.resample: min_count 30 > max_count 20"):
        train_config({**train, "resample": {"min_count": 30, "max_count": 20}})
