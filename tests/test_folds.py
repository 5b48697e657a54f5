"""split: persons, never images, are the unit; folds are stratified and reproducible."""
import pandas as pd
import pytest

from src.data.folds import person_folds


def image_table(n_persons=60):
    rows = []
    for p in range(n_persons):
        gender, band = p % 2, (0 if p % 10 < 5 else 1 if p % 10 < 9 else 2)
        rows += [{"person": f"{p:06d}_x", "gender": gender, "age_band": band} for _ in range(7)]
    return pd.DataFrame(rows)


def test_every_person_in_exactly_one_fold_and_strata_spread():
    table = image_table()
    folds = person_folds(table, k=5, seed=1)
    assert sorted(folds["person"]) == sorted(table["person"].unique())
    assert folds["person"].is_unique and set(folds["fold"]) == set(range(5))
    merged = table.drop_duplicates("person").merge(folds, on="person")
    # The rare old band (6 persons) is spread over all 5 folds, as stratification promises.
    assert merged.loc[merged["age_band"] == 2, "fold"].nunique() == 5
    assert folds["fold"].value_counts().max() - folds["fold"].value_counts().min() <= 1


def test_same_seed_same_folds_other_seed_other_folds():
    table = image_table()
    assert person_folds(table, 5, 7).equals(person_folds(table, 5, 7))
    assert not person_folds(table, 5, 7).equals(person_folds(table, 5, 8))


@pytest.mark.parametrize("k, match", [(1, "split.k must be at least 2"), (100, "only 60 persons")])
def test_bad_k_is_named(k, match):
    with pytest.raises(ValueError, match=match):
        person_folds(image_table(), k, 0)
