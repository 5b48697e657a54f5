import pandas as pd
import pytest

from src.common.errors import BadInputError
from src.data.eval_table import read_eval_table
from tests.helpers.fake_layout import make_eval_layout, write_eval_csv


def error_message(data_dir):
    with pytest.raises(BadInputError) as caught:
        read_eval_table(data_dir)
    return str(caught.value)


def test_rows_follow_info_csv_order_with_relative_paths(tmp_path):
    image_ids = make_eval_layout(tmp_path, count=5)
    write_eval_csv(tmp_path, image_ids[::-1])  # not sorted: the submission must keep this order
    table = read_eval_table(tmp_path)
    assert list(table.columns) == ["image_id", "path"]
    assert isinstance(table.index, pd.RangeIndex)
    assert list(table["image_id"]) == image_ids[::-1]
    assert table.loc[0, "path"] == f"eval/images/{image_ids[-1]}"
    assert all((tmp_path / path).is_file() for path in table["path"])


def test_files_not_listed_in_info_csv_are_left_out(tmp_path):
    image_ids = make_eval_layout(tmp_path, count=3)
    write_eval_csv(tmp_path, image_ids[:2])
    assert list(read_eval_table(tmp_path)["image_id"]) == image_ids[:2]


def test_missing_columns_name_the_file(tmp_path):
    make_eval_layout(tmp_path)
    (tmp_path / "eval/info.csv").write_text("ImageID\nabc.jpg\n")
    message = error_message(tmp_path)
    assert "info.csv" in message and "['ans']" in message


def test_missing_image_is_named(tmp_path):
    image_ids = make_eval_layout(tmp_path)
    (tmp_path / "eval/images" / image_ids[1]).unlink()
    message = error_message(tmp_path)
    assert image_ids[1] in message and "does not exist" in message


def test_duplicate_image_ids_are_named(tmp_path):
    image_ids = make_eval_layout(tmp_path)
    write_eval_csv(tmp_path, image_ids + image_ids[:1])
    message = error_message(tmp_path)
    assert "duplicate" in message and image_ids[0] in message


@pytest.mark.parametrize("content", ["", "ImageID,ans\n"], ids=["no header", "no rows"])
def test_empty_info_csv_is_an_error(tmp_path, content):
    make_eval_layout(tmp_path)
    (tmp_path / "eval/info.csv").write_text(content)
    assert "info.csv" in error_message(tmp_path)
