"""Person-grouped stratified k-fold: the person folder is the unit, so no face is in two folds."""
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from src.common.errors import BadInputError, first_line


def person_folds(table, k, seed):
    """table: one row per image with columns person, gender, age_band.
    Returns a DataFrame (person, fold) with one row per person, sorted by person.

    Stratified on the person's gender x age band (mask state is the same mix for everyone)."""
    if k < 2:
        raise ValueError(f"split.k must be at least 2, got {k}")
    persons = table.drop_duplicates("person").sort_values("person").reset_index(drop=True)
    if len(persons) < k:
        raise ValueError(f"split.k = {k} folds but only {len(persons)} persons")
    strata = persons["gender"] * 3 + persons["age_band"]
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    fold = pd.Series(-1, index=persons.index)
    for number, (_, val_idx) in enumerate(splitter.split(persons, strata, groups=persons["person"])):
        fold.iloc[val_idx] = number
    return pd.DataFrame({"person": persons["person"], "fold": fold.astype(int)})


def fold_of_rows(image_persons, folds):
    """The fold of each image: image_persons (one person per image), folds: the (person, fold) table.
    Every person must have a fold (the table was made from the same crops)."""
    fold_of = pd.Series(image_persons).map(dict(zip(folds["person"], folds["fold"])))
    if fold_of.isna().any():
        unknown = sorted(pd.Series(image_persons)[fold_of.isna()].unique())
        raise ValueError(f"no fold for persons {unknown[:5]}: folds/person_folds.csv is from other crops "
                         f"(rerun split)")
    return fold_of.astype(int).to_numpy()


def fold_split(image_persons, folds, fold):
    """(train rows, validation rows) of `fold`: the other folds' persons train, this fold's validate."""
    if fold not in set(folds["fold"]):
        raise ValueError(f"fold {fold} is not a fold of the split (folds {sorted(set(folds['fold']))})")
    fold_of = fold_of_rows(image_persons, folds)
    return np.flatnonzero(fold_of != fold), np.flatnonzero(fold_of == fold)


def read_person_folds(path):
    """The (person, fold) table the split stage wrote; a missing or broken file raises BadInputError."""
    try:
        folds = pd.read_csv(path, dtype={"person": str})
    except FileNotFoundError:
        raise BadInputError(path, "missing") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, ValueError) as e:
        raise BadInputError(path, f"not a readable fold table ({first_line(e)})") from None
    if list(folds.columns) != ["person", "fold"] or not pd.api.types.is_integer_dtype(folds["fold"]):
        raise BadInputError(path, f"expected columns person,fold with integer folds, got {list(folds.columns)} "
                                  f"({', '.join(map(str, folds.dtypes))})")
    return folds
