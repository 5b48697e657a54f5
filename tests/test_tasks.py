"""train.tasks: separate mask / gender / age models, trained by train_model and combined into the
18 classes by the ensemble; the task labels and the combination round-trip exactly."""
import numpy as np
import pytest
import torch

from src.common.errors import BadInputError
from src.config.params import check_params, read_params_file, train_config
from src.inference.ensemble import load_members, member_probs, soft_vote
from src.inference.ensemble import combine_task_probs
from src.inference.predict import predict_probs
from src.labels.classes import NUM_CLASSES, decode_class, encode_class
from src.labels.tasks import check_tasks, task_labels, task_score
from src.models.fold_model import build_network, checkpoint_payload, load_fold_model, network_args
from src.training.loop import train_model
from tests.helpers.workspace import REPO
from tests.test_training import CFG, colour_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def task():
    return colour_task(96, 0) + colour_task(48, 1)


def random_dist(rng, n, k):
    p = rng.random((n, k)) + 0.01
    return (p / p.sum(1, keepdims=True)).astype(np.float32)


def test_task_labels_read_each_attribute_off_the_18_classes():
    labels = np.arange(NUM_CLASSES)
    mask, gender, age = decode_class(labels)
    np.testing.assert_array_equal(task_labels(labels, "mask"), mask)
    np.testing.assert_array_equal(task_labels(labels, "gender"), gender)
    np.testing.assert_array_equal(task_labels(labels, "age"), age)
    np.testing.assert_array_equal(task_labels(labels, "all"), labels)
    np.testing.assert_array_equal(encode_class(*(task_labels(labels, t) for t in ("mask", "gender", "age"))), labels)


def test_combined_probabilities_are_the_product_and_marginalise_back():
    rng = np.random.default_rng(0)
    parts = {"mask": random_dist(rng, 7, 3), "gender": random_dist(rng, 7, 2), "age": random_dist(rng, 7, 3)}
    combined = combine_task_probs(parts)
    assert combined.shape == (7, NUM_CLASSES) and combined.dtype == np.float32
    np.testing.assert_allclose(combined.sum(1), 1, rtol=1e-5)
    grid = combined.reshape(7, 3, 2, 3)
    np.testing.assert_allclose(grid.sum((2, 3)), parts["mask"], rtol=1e-5)
    np.testing.assert_allclose(grid.sum((1, 3)), parts["gender"], rtol=1e-5)
    np.testing.assert_allclose(grid.sum((1, 2)), parts["age"], rtol=1e-5)
    for c in range(NUM_CLASSES):
        m, g, a = decode_class(c)
        np.testing.assert_allclose(combined[:, c], parts["mask"][:, m] * parts["gender"][:, g] * parts["age"][:, a],
                                   rtol=1e-5)
    expected = encode_class(*(parts[t].argmax(1) for t in ("mask", "gender", "age")))
    np.testing.assert_array_equal(combined.argmax(1), expected)
    with pytest.raises(ValueError, match=r"no model for \['age'\]"):
        combine_task_probs({"mask": parts["mask"], "gender": parts["gender"]})


def test_task_score_is_the_attribute_macro_f1():
    truth = np.array([0, 1, 2, 2])
    probs = np.eye(3)[[0, 1, 2, 1]]
    metrics = task_score(truth, probs, "age")
    assert metrics["f1"] == metrics["f1_age"] and metrics["accuracy"] == 0.75
    assert set(task_score(np.arange(18), np.eye(18), "all")) >= {"f1", "f1_mask", "f1_gender", "f1_age"}


@pytest.mark.pipeline
def test_a_mask_model_learns_its_attribute_on_three_classes(task):
    """colour_task's colour is the mask state: a mask model gets 3 outputs and learns it."""
    result = train_model(train_config({**CFG, "epochs": 3, "model": "resnet18"}), *task, seed=0, task="mask")
    assert result.val_probs.shape == (48, 3)
    np.testing.assert_allclose(result.val_probs.sum(1), 1, rtol=1e-4)
    best = result.history[result.best_epoch]
    assert best["accuracy"] > 0.9 and best["f1"] == best["f1_mask"] and "f1_gender" not in best


def age_colour_task(n, seed):
    """Images whose colour tells the age band; mask and gender drawn at random (noise for an age model)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(0, 3, n)
    labels = encode_class(rng.integers(0, 3, n), rng.integers(0, 2, n), age)
    colours = np.array([[220, 40, 40], [40, 220, 40], [40, 40, 220]])[age]
    return np.clip(colours[:, None, None, :] + rng.integers(-30, 30, (n, 32, 24, 3)), 0, 255).astype(np.uint8), labels


def test_task_models_mix_and_sample_on_their_own_classes():
    """An age model with the weighted sampler and vertical CutMix over its 3 classes learns the age band."""
    cfg = {**CFG, "epochs": 3, "sampler": "weighted", "mix": {"cutmix_alpha": 1.0, "vertical": True},
           "model": "test_efficientnet"}
    result = train_model(train_config(cfg), *age_colour_task(96, 0), *age_colour_task(48, 1), seed=0, task="age")
    assert result.val_probs.shape == (48, 3) and np.isfinite([e["train_loss"] for e in result.history]).all()
    # The colour tells the age band: high accuracy, far above chance (1/3), not exactly 1.0 (another CPU's
    # or library release's last bits may cost a crop).
    assert result.history[result.best_epoch]["accuracy"] >= 0.9 and result.best_f1 >= 0.9, result.history


def test_checkpoints_and_ensemble_member_of_three_task_models(task, tmp_path):
    cfg = {**CFG, "epochs": 1, "model": "test_efficientnet"}
    files = {}
    for name in ("mask", "gender", "age"):
        result = train_model(train_config(cfg), *task, seed=0, task=name)
        files[name] = tmp_path / f"{name}.pt"
        torch.save(checkpoint_payload(train_config(cfg), result.best_state, name), files[name])
    model, checkpoint = load_fold_model(files["gender"], CPU)
    assert checkpoint["task"] == "gender" and checkpoint["num_classes"] == 2
    [loaded] = load_members([{k: str(v) for k, v in files.items()}], CPU)
    crops = task[2]
    probs = member_probs(loaded, crops, 32, CPU, ["hflip"])
    expected = combine_task_probs({k: predict_probs(m, crops, 32, CPU, ["hflip"]) for k, m in loaded.items()})
    np.testing.assert_allclose(probs, expected, rtol=1e-6)
    assert probs.shape == (48, NUM_CLASSES)
    # predict's one pass over the crops for every member equals each member predicted on its own
    all_file = tmp_path / "all.pt"
    torch.manual_seed(1)  # an untrained 18-class model: near-uniform, unlike the trained task models
    torch.save(checkpoint_payload(train_config(cfg), build_network(network_args(train_config(cfg)), {"method": "none"}).state_dict()), all_file)
    members = load_members([{"all": str(all_file)}, {k: str(v) for k, v in files.items()}], CPU)
    voted = soft_vote(members, crops, 16, CPU, ["hflip"])
    alone = [member_probs(m, crops, 32, CPU, ["hflip"]) for m in members]
    np.testing.assert_allclose(voted, (alone[0] + alone[1]) / 2, rtol=1e-5, atol=1e-7)
    assert np.abs(alone[0] - alone[1]).max() > 0.5  # the members differ: the mean is a real check
    message = r"holds the 'mask' model \(3 classes\); expected the 'age' model \(3 classes\)$"
    with pytest.raises(BadInputError, match=message):
        load_members([{"mask": str(files["mask"]), "gender": str(files["gender"]), "age": str(files["mask"])}], CPU)


def test_bad_task_settings_fail_with_the_parameter_named(task):
    params = read_params_file(REPO / "params.yaml")  # as read: the test edits it
    for tasks, message in ((["mask", "gender"], r"train\.tasks: \['mask', 'gender'\]; expected \[all\]"),
                           (["all", "mask", "gender", "age"], r"train\.tasks"),
                           (["mask", "gender", "ages"], r"train\.tasks")):
        with pytest.raises(ValueError, match=message):
            check_params({**params, "train": {**params["train"], "tasks": tasks}}, "params.yaml")
    with pytest.raises(ValueError, match=r"train\.heads: multi predicts all 18 classes"):
        check_params({**params, "train": {**params["train"], "tasks": ["mask", "gender", "age"], "heads": "multi"}},
                     "params.yaml")
    with pytest.raises(ValueError, match=r"tune\.task: age tunes one attribute's model; train\.heads multi"):
        check_params({**params, "tune": {**params["tune"], "task": "age"}}, "params.yaml")
    check_params({**params, "tune": {**params["tune"], "task": "age"}, "train": {**params["train"], "heads": "single"}})
    with pytest.raises(ValueError, match=r"train\.heads: multi predicts all 18 classes"):
        train_model(train_config({**CFG, "heads": "multi"}), *task, seed=0, task="mask")
    check_tasks(["age", "mask", "gender"])  # any order
