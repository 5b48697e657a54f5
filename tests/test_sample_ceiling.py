"""src.sample.ceiling: the hidden traits it reads are the ones the photos' cues come from, and a
classifier that knows them beats one that knows only the mask state."""
import numpy as np

from src.labels.classes import encode_class
from src.sample.ceiling import ceiling, person_images
from src.sample.people import ROLE_TRAIN, draw_looks, hidden_traits, looks_rng, make_people


def test_the_hidden_traits_are_draw_looks_first_draws():
    person = make_people(30, 0, ROLE_TRAIN)[7]
    rng = looks_rng(0, ROLE_TRAIN, person.index)
    hidden_traits(person.gender_label, person.age, rng)
    rest = rng.normal(0, 1)  # the stream after the two hidden draws: the skin tone draw_looks takes next
    replay = looks_rng(0, ROLE_TRAIN, person.index)
    assert draw_looks(person.gender_label, person.age, replay) == person.looks  # the person's own looks
    fresh = looks_rng(0, ROLE_TRAIN, person.index)
    hidden_traits(person.gender_label, person.age, fresh)
    assert fresh.normal(0, 1) == rest


def test_seven_images_per_person_with_their_classes():
    persons = make_people(12, 0, ROLE_TRAIN, quirks=False)
    label, mask, fem, seen_age = person_images(persons, 0, ROLE_TRAIN)
    assert len(label) == 7 * 12 and np.bincount(mask).tolist() == [5 * 12, 12, 12]
    np.testing.assert_array_equal(label[::7] % 6, [encode_class(0, p.gender_label, p.age_band) for p in persons])
    assert np.corrcoef(np.repeat([p.age for p in persons], 7), seen_age)[0, 1] > 0.8


def test_knowing_the_hidden_traits_beats_knowing_the_mask_alone():
    result = ceiling(persons=120, eval_persons=60, seed=3)
    for part in ("train", "eval"):
        scores = result[part]
        assert set(scores) == {"f1", "f1_gender", "f1_age", "f1_age_60"}
        assert all(0 <= v <= 1 for v in scores.values())
        assert scores["f1_gender"] > 0.8 and scores["f1"] > 0.4  # mask alone: at most 3 of 18 classes right
