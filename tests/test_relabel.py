"""data.relabel: corrections by person folder or image path; bad rows name the file, line and problem."""
import pytest

from src.common.errors import BadInputError
from src.config.params import read_params_file
from src.data.relabel import apply_relabel
from src.data.train_table import STEMS, _build_table
from src.labels.classes import encode_class
from stages.plumbing.name_checks import check_all
from tests.test_params import REPO

PERSONS = ["000001_female_Asian_45", "000002_male_Asian_20"]


def table():
    rows = [{"person": p, "id": p[:6], "gender": p.split("_")[1], "race": "Asian", "age": int(p.split("_")[3]),
             "stem": stem, "path": f"train/images/{p}/{stem}.jpg"} for p in PERSONS for stem in STEMS]
    return _build_table(rows, (30, 60))


def write(tmp_path, *lines):
    path = tmp_path / "relabel.csv"
    path.write_text("\n".join(["# corrections", "target,field,value", *lines]) + "\n")
    return path


def test_person_and_image_corrections(tmp_path):
    path = write(tmp_path, "000001_female_Asian_45,gender,male", "000001_female_Asian_45,age,61",
                 "# a comment between rows", "train/images/000002_male_Asian_20/normal.jpg,mask,wear",
                 "000002_male_Asian_20,age,25")  # same band: no label change, but a relabeled image
    fixed, count = apply_relabel(table(), path)
    first = fixed[fixed["person"] == PERSONS[0]]
    assert (first["gender"] == 0).all() and (first["age"] == 61).all() and (first["age_band"] == 2).all()
    assert first["label"].tolist() == [encode_class(m, 0, 2) for m in first["mask"]]
    normal = fixed[fixed["path"] == f"train/images/{PERSONS[1]}/normal.jpg"].iloc[0]
    assert normal["mask"] == 0 and normal["label"] == encode_class(0, 0, 0)
    assert count == 14
    unchanged, none = apply_relabel(table(), "")
    assert none == 0 and unchanged.equals(table())


def test_header_only_file_changes_nothing(tmp_path):
    fixed, count = apply_relabel(table(), write(tmp_path))
    assert count == 0 and fixed.equals(table())


@pytest.mark.parametrize("line, problem", [
    ("000009_male_Asian_20,age,30", r"line 3: target '000009_male_Asian_20' is neither"),
    ("train/images/000001_female_Asian_45/mask9.jpg,mask,wear", "line 3: target .*mask9.jpg"),
    ("000001_female_Asian_45,race,Asian", r"line 3: unknown field 'race'; valid: \['gender', 'age', 'mask'\]"),
    ("000001_female_Asian_45,gender,f", "line 3: gender 'f' is not one of"),
    ("000001_female_Asian_45,age,old", "line 3: age 'old' is not an integer"),
    ("train/images/000001_female_Asian_45/mask1.jpg,mask,on", "line 3: mask 'on' is not one of"),
    ("000001_female_Asian_45,mask,wear", "line 3: mask is per image"),
    ("000001_female_Asian_45,age", "line 3: expected 3 columns"),
])
def test_bad_rows_name_the_file_line_and_problem(tmp_path, line, problem):
    path = write(tmp_path, line)
    with pytest.raises(BadInputError, match=problem) as error:
        apply_relabel(table(), path)
    assert error.value.path == str(path)


def test_bad_header_and_missing_file(tmp_path):
    path = tmp_path / "relabel.csv"
    path.write_text("person,field,value\n")
    with pytest.raises(BadInputError, match="header target,field,value"):
        apply_relabel(table(), path)
    with pytest.raises(BadInputError, match="relabel file not found"):
        apply_relabel(table(), tmp_path / "nope.csv")


def test_committed_files_and_params():
    params = read_params_file(REPO / "params.yaml")  # as read: the test edits it
    assert params["data"]["relabel"] == "relabel.csv"
    assert apply_relabel(table(), REPO / "relabel.csv")[1] == 0
    example = [line for line in (REPO / "relabel.example.csv").read_text().splitlines() if not line.startswith("#")]
    assert example[0] == "target,field,value"
    bad = {**params, "train": {**params["train"], "loss": {"name": "ldam"}, "mix": {**params["train"]["mix"],
                                                                                   "cutmix_alpha": 1.0}}}
    with pytest.raises(ValueError, match="ldam"):
        check_all(bad)
    bad = {**params, "train": {**params["train"], "heads": "triple"}}
    with pytest.raises(ValueError, match=r"train.heads: unknown kind 'triple'; valid: \['multi', 'single'\]"):
        check_all(bad)  # a name: checked against the registry (src.models.networks.HEAD_KINDS)
