"""The decision rule (ensemble.decision): the age-band offsets' fit and the honest cross-fit."""
import json

import numpy as np
import pytest

from src.common.errors import BadInputError
from src.inference.decision import decide, fit_age_offsets, fit_decision
from src.inference.ensemble import read_members
from src.labels.classes import decode_class, encode_class
from src.labels.metrics import macro_f1


def biased_probs(labels, old_shift, seed=0):
    """Probabilities that favour each true class, with the >= 60 band's log probability lowered by
    old_shift: argmax then under-calls the old band, as the sample's models do."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.0, (len(labels), 18))
    logits[np.arange(len(labels)), labels] += 2.0
    logits[:, decode_class(np.arange(18))[2] == 2] -= old_shift
    probs = np.exp(logits)
    return probs / probs.sum(1, keepdims=True)


def draw_labels(n, seed=0):
    rng = np.random.default_rng(seed)
    return encode_class(rng.integers(0, 3, n), rng.integers(0, 2, n), rng.choice(3, n, p=[0.5, 0.4, 0.1]))


def test_offsets_restore_an_under_called_old_band():
    labels = draw_labels(3000)
    probs = biased_probs(labels, old_shift=1.5)
    offsets = fit_age_offsets(labels, probs)
    assert offsets[0] == 0.0 and offsets[2] >= 0.5  # the old band is called more again (0.7 here)
    decided = decide({"rule": "macro_f1", "age_offsets": offsets}, probs)
    assert macro_f1(labels, decided) > macro_f1(labels, probs.argmax(1)) + 0.02
    # and on new rows drawn the same way: not a fit to the rows' noise
    new_labels = draw_labels(3000, seed=5)
    new_probs = biased_probs(new_labels, old_shift=1.5, seed=5)
    assert macro_f1(new_labels, decide({"rule": "macro_f1", "age_offsets": offsets}, new_probs)) > \
        macro_f1(new_labels, new_probs.argmax(1)) + 0.02


def test_no_offset_when_argmax_is_already_best():
    labels = draw_labels(500)
    probs = np.full((500, 18), 0.01)
    probs[np.arange(500), labels] = 0.83  # argmax is right everywhere: every offset ties or loses
    assert fit_age_offsets(labels, probs) == [0.0, 0.0, 0.0]


def test_argmax_rule_and_unknown_rule():
    probs = biased_probs(draw_labels(100), old_shift=0.0)
    np.testing.assert_array_equal(decide({"rule": "argmax", "age_offsets": None}, probs), probs.argmax(1))
    np.testing.assert_array_equal(decide({"rule": "macro_f1", "age_offsets": [0, 0, 0]}, probs), probs.argmax(1))
    with pytest.raises(ValueError, match="ensemble.decision: unknown decision rule 'top2'"):
        decide({"rule": "top2", "age_offsets": None}, probs)
    with pytest.raises(ValueError, match="ensemble.decision"):
        fit_decision("top2", np.zeros(3, int), probs[:3], np.zeros(3, int))


def test_each_fold_is_decided_without_its_own_labels():
    labels = draw_labels(1500)
    probs = biased_probs(labels, old_shift=1.0)
    fold_of = np.arange(1500) % 5
    decision, decided, per_fold = fit_decision("macro_f1", labels, probs, fold_of)
    assert decision == {"rule": "macro_f1", "age_offsets": fit_age_offsets(labels, probs)}
    assert set(per_fold) == {0, 1, 2, 3, 4}
    # fold 0's labels all called < 30: its own classes must not move, the other folds' offsets may
    changed = labels.copy()
    mask, gender, _ = decode_class(labels[fold_of == 0])
    changed[fold_of == 0] = encode_class(mask, gender, 0)
    _, decided_changed, per_fold_changed = fit_decision("macro_f1", changed, probs, fold_of)
    np.testing.assert_array_equal(decided_changed[fold_of == 0], decided[fold_of == 0])
    assert per_fold_changed[0] == per_fold[0] and per_fold_changed != per_fold


def test_one_fold_is_decided_by_argmax_and_the_rule_fit_on_it():
    labels = draw_labels(400)
    probs = biased_probs(labels, old_shift=1.5)
    decision, decided, _ = fit_decision("macro_f1", labels, probs, np.zeros(400, int))
    np.testing.assert_array_equal(decided, probs.argmax(1))  # no other fold to fit on: no offsets
    assert decision["age_offsets"] == fit_age_offsets(labels, probs) != [0.0, 0.0, 0.0]


@pytest.mark.parametrize("decision", [None, {"rule": "top2"}, {"rule": "macro_f1", "age_offsets": [0, 1]},
                                      {"rule": "macro_f1", "age_offsets": [0, "x", 1]}])
def test_members_file_with_a_bad_decision_fails_naming_it(tmp_path, decision):
    path = tmp_path / "members.json"
    path.write_text(json.dumps({"members": [], "tta": [], "decision": decision}))
    with pytest.raises(BadInputError, match="members.json: decision .*expected"):
        read_members(path)
    path.write_text(json.dumps({"members": [], "tta": []}))  # an ensemble from before the rule
    with pytest.raises(BadInputError, match="expected keys members, tta and decision"):
        read_members(path)
