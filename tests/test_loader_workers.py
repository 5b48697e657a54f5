"""Loader processes (train.num_workers, a GPU's default): they persist across epochs, and each item is
augmented from (epoch seed, index), so a run is the same on any number of workers, and a resumed one as
an uninterrupted one. On the CPU default (no workers) the augmentation stream is the one it always was."""
import numpy as np
import pytest

from src.config.params import train_config
from src.training.loop import train_loader, train_model
from tests.test_training import CFG, colour_task

pytestmark = pytest.mark.pipeline

RUN = {**CFG, "epochs": 2, "patience": 2, "augment": [{"name": "HorizontalFlip", "p": 0.5},
                                                       {"name": "RandomBrightnessContrast", "p": 0.5}]}


class Killed(Exception):
    pass


@pytest.fixture(scope="module")
def task():
    return colour_task(48, 0) + colour_task(24, 1)


def test_the_same_run_on_one_or_two_persistent_workers_and_after_a_resume(tmp_path, task, one_torch_thread):
    one = train_model(train_config({**RUN, "num_workers": 1}), *task, seed=4)
    two = train_model(train_config({**RUN, "num_workers": 2}), *task, seed=4)
    assert [m["train_loss"] for m in one.history] == [m["train_loss"] for m in two.history]
    np.testing.assert_array_equal(one.val_probs, two.val_probs)

    def die(epoch, metrics, improved):
        raise Killed

    checkpoint = tmp_path / "last.pt"
    with pytest.raises(Killed):
        train_model(train_config({**RUN, "num_workers": 2}), *task, seed=4, on_epoch=die, resume_path=checkpoint)
    resumed = train_model(train_config({**RUN, "num_workers": 2}), *task, seed=4, resume_path=checkpoint)
    assert [m["train_loss"] for m in resumed.history] == [m["train_loss"] for m in two.history]


def test_workers_persist_and_the_cpu_default_keeps_plain_indices(task):
    loader = train_loader(train_config({**RUN, "num_workers": 2}), *task[:2], seed=0, workers=2)[0]
    assert loader.persistent_workers
    plain = train_loader(train_config(RUN), *task[:2], seed=0, workers=0)[0]
    assert not plain.persistent_workers and plain.sampler.__class__.__name__ == "RandomSampler"
