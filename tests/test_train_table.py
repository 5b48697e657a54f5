import os
import shutil

import pandas as pd
import pytest

from src.common.errors import BadInputError
from src.data.train_table import FOLDER_PATTERN, read_train_table
from src.labels.classes import competition_labels
from tests.helpers.fake_layout import (
    PERSONS,
    QUIRKY_PERSONS,
    STEMS,
    folder_name,
    make_quirky_train_layout,
    make_train_layout,
    write_image,
    write_person,
    write_train_csv,
)

FIRST = folder_name(*PERSONS[0])  # 000001_female_Asian_45


def error_message(data_dir, **kwargs):
    with pytest.raises(BadInputError) as caught:
        read_train_table(data_dir, **kwargs)
    return str(caught.value)


# --- happy paths -----------------------------------------------------------------------------


def test_clean_layout_gives_one_row_per_image_with_the_documented_columns(tmp_path):
    table, skipped = read_train_table(make_train_layout(tmp_path))
    assert list(table.columns) == [
        "path", "person", "person_id", "gender", "race", "age", "age_band", "stem", "mask", "label"
    ]
    assert len(table) == 7 * len(PERSONS) and skipped == []
    assert isinstance(table.index, pd.RangeIndex) and table.index[0] == 0
    assert table.loc[0, "path"] == f"train/images/{FIRST}/mask1.jpg"
    assert all((tmp_path / path).is_file() for path in table["path"])
    assert table[["gender", "age", "age_band", "mask", "label"]].dtypes.map(lambda d: d.kind).eq("i").all()


def test_rows_are_sorted_by_person_folder_then_stem_whatever_the_csv_order(tmp_path):
    make_train_layout(tmp_path)
    write_train_csv(tmp_path, reversed(PERSONS))
    table, _ = read_train_table(str(tmp_path))  # a str data_dir works too
    assert list(table["person"].unique()) == sorted(folder_name(*p) for p in PERSONS)
    assert list(table["stem"][:7]) == ["mask1", "mask2", "mask3", "mask4", "mask5", "incorrect_mask", "normal"]
    assert list(table["mask"][:7]) == [0, 0, 0, 0, 0, 1, 2]


def test_quirks_of_the_real_set_are_read(tmp_path):
    table, skipped = read_train_table(make_quirky_train_layout(tmp_path))
    assert skipped == [] and len(table) == 7 * len(QUIRKY_PERSONS)
    assert not table["path"].str.contains("/[.]", regex=True).any()  # ._mask1.jpg and .DS_Store ignored
    assert {path.rsplit(".", 1)[1] for path in table["path"]} == {"jpg", "png", "jpeg", "JPG"}
    assert "001498-1" in set(table["person_id"])
    shared = table[table["person_id"] == "003397"]
    assert set(shared["person"]) == {"003397_female_Asian_19", "003397_female_Asian_20"}
    assert sorted(shared["age"].unique()) == [19, 20]


def test_label_is_mask_times_6_plus_gender_times_3_plus_age_band(tmp_path):
    table, _ = read_train_table(make_train_layout(tmp_path))
    assert (table["label"] == table["mask"] * 6 + table["gender"] * 3 + table["age_band"]).all()
    row = table[(table["person"] == FIRST) & (table["stem"] == "incorrect_mask")].iloc[0]
    assert (row["gender"], row["age_band"], row["mask"], row["label"]) == (1, 1, 1, 10)  # female, 45


def test_age_bins_decide_the_bands(tmp_path):
    make_train_layout(tmp_path)  # ages 45, 22, 60, 58
    default, _ = read_train_table(tmp_path)
    lowered, _ = read_train_table(tmp_path, age_bins=(29, 58))
    band_by_age = lambda table: dict(zip(table["age"], table["age_band"]))  # noqa: E731
    assert band_by_age(default) == {22: 0, 45: 1, 58: 1, 60: 2}
    assert band_by_age(lowered) == {22: 0, 45: 1, 58: 2, 60: 2}
    male_58 = lowered[lowered["age"] == 58]
    assert set(male_58["label"]) == {0 * 6 + 0 * 3 + 2, 1 * 6 + 2, 2 * 6 + 2}


def test_scores_use_the_competition_bands_whatever_the_bins_trained_on(tmp_path):
    """The models learn the lowered bands (58 is old); CV, epoch selection and tune score in the real ones."""
    make_train_layout(tmp_path)  # ages 45, 22, 60, 58
    default, _ = read_train_table(tmp_path)
    lowered, _ = read_train_table(tmp_path, age_bins=(29, 58))
    assert (competition_labels(lowered) == default["label"].to_numpy()).all()
    assert (competition_labels(lowered) != lowered["label"].to_numpy()).sum() == 7  # the 58-year-old's photos


# --- csv problems always raise -----------------------------------------------------------------


def test_missing_folder_names_the_csv_row_and_the_folder(tmp_path):
    make_train_layout(tmp_path)
    shutil.rmtree(tmp_path / "train/images" / FIRST)
    message = error_message(tmp_path, on_bad_image="skip")
    assert "train.csv" in message and "line 2" in message and FIRST in message and "does not exist" in message


def test_folder_not_listed_in_the_csv_is_an_error(tmp_path):
    make_train_layout(tmp_path)
    write_person(tmp_path, ("000099", "male", "Asian", 33))
    message = error_message(tmp_path, on_bad_image="skip")
    assert "000099_male_Asian_33" in message and "not listed" in message


def test_duplicate_csv_paths_are_an_error(tmp_path):
    make_train_layout(tmp_path)
    write_train_csv(tmp_path, PERSONS, extra_rows=[[*PERSONS[0], FIRST]])
    message = error_message(tmp_path)
    assert "duplicate" in message and FIRST in message and "[2, 6]" in message


def test_missing_csv_columns_are_named(tmp_path):
    make_train_layout(tmp_path)
    (tmp_path / "train/train.csv").write_text("id,gender,path\n000001,female,000001_female_Asian_45\n")
    message = error_message(tmp_path)
    assert "train.csv" in message and "['race', 'age']" in message


@pytest.mark.parametrize("content", ["", "id,gender,race,age,path\n"], ids=["no header", "no rows"])
def test_empty_csv_is_an_error(tmp_path, content):
    make_train_layout(tmp_path)
    (tmp_path / "train/train.csv").write_text(content)
    assert "train.csv" in error_message(tmp_path)


@pytest.mark.parametrize(
    "folder, expected",
    [
        ("abc_female_Asian_45", FOLDER_PATTERN),
        ("000009-female-Asian-45", FOLDER_PATTERN),
        ("000009_female_Asian", FOLDER_PATTERN),
        ("000009_other_Asian_45", "['male', 'female']"),
        ("000009_female_Asian_old", "not an integer"),
    ],
)
def test_bad_folder_names_name_the_folder_and_what_was_expected(tmp_path, folder, expected):
    make_train_layout(tmp_path)
    (tmp_path / "train/images" / folder).mkdir()
    write_train_csv(tmp_path, PERSONS, extra_rows=[["000009", "female", "Asian", "45", folder]])
    message = error_message(tmp_path, on_bad_image="skip")
    assert folder in message and expected in message and "line 6" in message


@pytest.mark.parametrize("column, value", [("id", "000007"), ("gender", "male"), ("race", "Other"), ("age", "46")])
def test_csv_values_must_agree_with_the_folder_name(tmp_path, column, value):
    make_train_layout(tmp_path)
    row = dict(zip(["id", "gender", "race", "age"], PERSONS[0]), path=FIRST, **{column: value})
    write_train_csv(tmp_path, PERSONS[1:], extra_rows=[list(row.values())])
    message = error_message(tmp_path)
    assert f"{column} '{value}'" in message and FIRST in message and "disagrees" in message


# --- problems inside person folders: raise, or skip and report ----------------------------------


def test_unknown_stem_names_the_file_and_the_valid_stems(tmp_path):
    make_train_layout(tmp_path)
    write_image(tmp_path / "train/images" / FIRST / "mask6.jpg")
    message = error_message(tmp_path)
    assert f"{FIRST}/mask6.jpg" in message and "'incorrect_mask'" in message and "'mask5'" in message


def test_non_image_extension_names_the_file(tmp_path):
    make_train_layout(tmp_path)
    (tmp_path / "train/images" / FIRST / "notes.txt").write_text("hello")
    message = error_message(tmp_path)
    assert f"{FIRST}/notes.txt" in message and ".jpg" in message


def test_two_files_with_one_stem_name_both(tmp_path):
    make_train_layout(tmp_path)
    write_image(tmp_path / "train/images" / FIRST / "mask1.png")
    message = error_message(tmp_path)
    assert "mask1.jpg" in message and "mask1.png" in message and FIRST in message


def test_missing_stems_name_the_folder_and_the_stems(tmp_path):
    make_train_layout(tmp_path)
    os.remove(tmp_path / "train/images" / FIRST / "mask3.jpg")
    os.remove(tmp_path / "train/images" / FIRST / "normal.jpg")
    message = error_message(tmp_path)
    assert FIRST in message and "['mask3', 'normal']" in message


def test_skip_mode_reports_every_image_it_leaves_out(tmp_path):
    make_train_layout(tmp_path)
    folder = tmp_path / "train/images" / FIRST
    write_image(folder / "mask1.png")  # duplicate: mask1.jpg sorts first and is kept
    write_image(folder / "selfie.jpg")
    (folder / "mask2.gif").write_bytes(b"GIF89a")
    os.remove(folder / "normal.jpg")
    table, skipped = read_train_table(tmp_path, on_bad_image="skip")

    assert len(table) == 7 * len(PERSONS) - 1
    assert sorted(path.rsplit("/", 1)[1] for path, _ in skipped) == [FIRST, "mask1.png", "mask2.gif", "selfie.jpg"]
    reasons = dict(skipped)
    assert "'normal'" in reasons[f"train/images/{FIRST}"]
    person = table[table["person"] == FIRST]
    assert list(person["stem"]) == list(STEMS[:-1])
    assert person["path"].iloc[0].endswith("mask1.jpg")


def test_unknown_on_bad_image_value_names_the_setting(tmp_path):
    with pytest.raises(ValueError, match=r"data\.on_bad_image.*'error', 'skip'.*'ignore'"):
        read_train_table(make_train_layout(tmp_path), on_bad_image="ignore")
