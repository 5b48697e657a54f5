"""The competition's macro F1: the mean over the labels present in the truth or the predictions."""
import numpy as np
import pytest

from src.labels.metrics import fast_macro_f1, head_f1, macro_f1, per_class_f1, score


def f1_by_counting(y_true, y_pred):
    """Independent of sklearn: per-label F1 from the counts, over the labels in y_true or y_pred."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    values = []
    for label in sorted(set(y_true) | set(y_pred)):
        hit = np.sum((y_true == label) & (y_pred == label))
        predicted, actual = np.sum(y_pred == label), np.sum(y_true == label)
        values.append(2 * hit / (predicted + actual))
    return float(np.mean(values))


def test_three_classes_present_score_over_those_three():
    """The case the 18-label mean got wrong: a set with 3 of the 18 classes, predicted perfectly."""
    truth = np.array([0, 0, 4, 4, 4, 13])
    assert macro_f1(truth, truth) == 1.0
    assert score(truth, truth)["f1"] == 1.0
    assert per_class_f1(truth, truth)[[0, 4, 13]].tolist() == [1.0, 1.0, 1.0]
    assert per_class_f1(truth, truth).sum() == 3.0  # the 18-class table keeps every class, absent ones at 0


def test_a_class_predicted_but_never_true_counts_as_zero():
    truth = np.array([0, 0, 4, 4, 4, 13])
    predicted = np.array([0, 7, 4, 4, 13, 13])
    # labels 0, 4, 7, 13: F1 2/3, 4/5, 0, 2/3
    assert np.isclose(macro_f1(truth, predicted), (2 / 3 + 4 / 5 + 0 + 2 / 3) / 4)
    assert np.isclose(macro_f1(truth, predicted), f1_by_counting(truth, predicted))


def test_matches_the_counting_on_random_sets_with_absent_classes():
    rng = np.random.default_rng(0)
    for _ in range(50):
        present = rng.choice(18, size=rng.integers(1, 18), replace=False)
        truth = rng.choice(present, size=rng.integers(1, 60))
        predicted = np.where(rng.random(len(truth)) < 0.7, truth, rng.integers(0, 18, len(truth)))
        assert np.isclose(macro_f1(truth, predicted), f1_by_counting(truth, predicted))


def test_fast_macro_f1_is_the_same_figure():
    rng = np.random.default_rng(1)
    for n, classes in ((50, 18), (300, 5), (7, 18)):  # absent classes too: they are left out of the mean
        truth, predicted = rng.integers(0, classes, n), rng.integers(0, classes, n)
        assert fast_macro_f1(truth, predicted) == pytest.approx(macro_f1(truth, predicted), abs=1e-12)


def test_head_f1_scores_each_attribute_over_its_present_values():
    # all photos masked (mask 0), both genders, age band 0 only: mask and age have one label each
    truth = np.array([0, 3, 0, 3])
    assert head_f1(truth, truth) == {"mask": 1.0, "gender": 1.0, "age": 1.0}
    wrong_age = np.array([1, 3, 0, 3])  # one photo of band 0 called band 1
    assert np.isclose(head_f1(truth, wrong_age)["age"], f1_by_counting([0, 0, 0, 0], [1, 0, 0, 0]))
