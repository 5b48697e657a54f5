"""train.members: torchensemble members inside a fold; the saved fold model reloads (weights_only)
and predicts exactly as trained; no ./logs/ is left behind."""
import numpy as np
import pytest
import torch

from src.config.params import train_config
from src.labels.classes import NUM_CLASSES
from src.models.fold_model import AveragedMembers, checkpoint_payload, load_fold_model
from src.training.fold_members import check_members
from src.training.loop import train_model
from tests.test_heads import TINY
from tests.test_training import colour_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def task():
    return colour_task(32, 0) + colour_task(16, 1)


@pytest.mark.parametrize("method, heads, epochs", [("voting", "single", 1), ("bagging", "multi", 1),
                                                   ("snapshot", "single", 2)])
def test_fold_members_save_and_reloads_with_identical_predictions(task, tmp_path, monkeypatch, method, heads, epochs):
    monkeypatch.chdir(tmp_path)
    cfg = {**TINY, "epochs": epochs, "heads": heads, "members": {"method": method, "n_estimators": 2}}
    seen = []
    result = train_model(train_config(cfg), *task, seed=0, on_epoch=lambda e, m, i: seen.append(e))
    assert seen == [epochs - 1] and len(result.history) == 1 and result.best_epoch == 0
    np.testing.assert_allclose(result.val_probs.sum(1), 1, rtol=1e-4)
    torch.save(checkpoint_payload(train_config(cfg), result.best_state), tmp_path / "model.pt")
    model, checkpoint = load_fold_model(tmp_path / "model.pt", torch.device("cpu"))
    assert isinstance(model, AveragedMembers) and len(model.estimators) == 2
    assert checkpoint["members"] == {"method": method, "n_estimators": 2}
    from src.inference.predict import predict_probs
    probs = predict_probs(model, task[2], 2 * cfg["batch_size"], torch.device("cpu"))
    np.testing.assert_array_equal(probs, result.val_probs)  # save/load: identical predictions
    assert probs.shape == (16, NUM_CLASSES)
    assert not (tmp_path / "logs").exists()


def test_same_seed_gives_the_same_members(task):
    cfg = {**TINY, "members": {"method": "voting", "n_estimators": 2}}
    np.testing.assert_array_equal(train_model(train_config(cfg), *task, seed=1).val_probs, train_model(train_config(cfg), *task, seed=1).val_probs)


@pytest.mark.parametrize("change, message", [
    ({"members": {"method": "snapshot", "n_estimators": 3}, "epochs": 4}, "multiple of n_estimators"),
    ({"members": {"method": "voting", "n_estimators": 2}, "mix": {"cutmix_alpha": 1.0}}, "CutMix"),
    ({"members": {"method": "voting", "n_estimators": 2}, "scheduler": {"name": "CyclicLR"}}, "CyclicLR"),
    ({"members": {"method": "boosting", "n_estimators": 2}}, "unknown method 'boosting'"),
])
def test_combinations_torchensemble_cannot_honour_fail_early(change, message):
    with pytest.raises(ValueError, match=message):
        check_members(train_config({**TINY, **change}))


def test_torchensemble_classes_cover_every_method_the_model_file_knows():
    """src.models.fold_model names the methods (no torchensemble import for predict);
    src.training.fold_members maps them."""
    from src.models.fold_model import MEMBER_METHODS
    from src.training.fold_members import METHODS
    assert ["none", *METHODS] == list(MEMBER_METHODS)
