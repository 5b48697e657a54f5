"""bench.cue_reader: it reads the cues draw_looks rendered, its 18-class probabilities keep the
known mask state, and reading the cues beats knowing the mask state alone."""
import numpy as np
import pytest

from bench.cue_reader import class_probs, cue_reader, cue_values, fit_cue_reader
from src.labels.classes import decode_class
from src.sample.ceiling import image_rows
from src.sample.people import ROLE_TRAIN, make_people


def test_cue_values_are_the_persons_rendered_looks():
    person = make_people(10, 0, ROLE_TRAIN)[3]
    values = cue_values(person)
    assert values[:3] == list(person.looks.skin) and values[3:6] == list(person.looks.hair)
    assert values[-2:] == [person.looks.wrinkles, person.looks.beard] and len(values) == 19


def test_class_probabilities_keep_the_mask_state_and_sum_to_one():
    persons = make_people(4, 0, ROLE_TRAIN, quirks=False)
    index, mask, labels = image_rows(persons)
    assert len(labels) == 28 and np.bincount(mask).tolist() == [20, 4, 4]
    rng = np.random.default_rng(0)
    gender, age = rng.dirichlet(np.ones(2), len(index)), rng.dirichlet(np.ones(3), len(index))
    probs = class_probs(mask, gender, age)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-6)
    assert (probs[decode_class(np.arange(18))[0][None, :] != mask[:, None]] < 1e-9).all()  # 1e-12 clip of the logs
    assert (decode_class(probs.argmax(1))[0] == mask).all()
    perfect = class_probs(mask, np.eye(2)[decode_class(labels)[1]], np.eye(3)[decode_class(labels)[2]])
    np.testing.assert_array_equal(perfect.argmax(1), labels)


def test_reading_the_cues_beats_the_mask_alone_and_repeats_exactly():
    first = cue_reader(persons=150, eval_persons=60, seed=2, draws=1, kind="logistic")
    assert set(first["draws"]) == {2, 3} and first["age_offsets"][0] == 0.0
    for f1 in first["draws"].values():
        assert f1["argmax"] > 0.4 and f1["macro_f1"] > 0.4  # mask alone: at most 3 of 18 classes right
    assert cue_reader(persons=150, eval_persons=60, seed=2, draws=1, kind="logistic") == first


def test_too_few_persons_of_a_band_fail_naming_the_counts():
    few = [p for p in make_people(60, 0, ROLE_TRAIN, quirks=False) if p.age_band != 2][:20]
    with pytest.raises(ValueError, match=r"per age class.*at least 5"):
        fit_cue_reader(few, "logistic")
    with pytest.raises(ValueError, match="unknown cue reader 'forest'"):
        fit_cue_reader(make_people(60, 0, ROLE_TRAIN), "forest")
