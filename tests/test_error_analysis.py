"""Error analysis: ranking of confidently wrong predictions, relabel suggestions, the thumbnail page."""
import base64
import io
import re

import numpy as np
import pandas as pd
from PIL import Image

from src.labels.classes import encode_class
from src.reports.error_analysis import suggested_relabel, suspect_labels, suspects_page, write_error_analysis


def predictions_table():
    # class = mask * 6 + gender * 3 + age_band
    rows = [("a/mask1.jpg", encode_class(0, 0, 0), encode_class(2, 0, 0), 0.95),   # mask differs
            ("a/normal.jpg", encode_class(2, 0, 0), encode_class(2, 0, 0), 0.99),  # right
            ("b/mask1.jpg", encode_class(0, 1, 1), encode_class(0, 0, 1), 0.80),   # gender differs
            ("c/mask2.jpg", encode_class(0, 0, 0), encode_class(1, 1, 2), 0.90),   # all differ
            ("d/mask3.jpg", encode_class(0, 0, 2), encode_class(0, 0, 1), 0.40)]   # age band differs
    table = pd.DataFrame(rows, columns=["path", "actual", "predicted", "confidence"])
    return table, ["a", "a", "b", "c", "d"], np.array([10, 11, 12, 13, 14])


def test_suggestion_names_the_one_differing_attribute():
    assert suggested_relabel(encode_class(0, 0, 0), encode_class(2, 0, 0), "p.jpg", "per") == ("p.jpg", "mask", "not_wear")
    assert suggested_relabel(encode_class(0, 1, 1), encode_class(0, 0, 1), "p.jpg", "per") == ("per", "gender", "male")
    assert suggested_relabel(encode_class(1, 0, 2), encode_class(1, 0, 0), "p.jpg", "per") == ("per", "age", "29")
    assert suggested_relabel(encode_class(1, 0, 0), encode_class(1, 0, 2), "p.jpg", "per", (30, 58)) == ("per", "age", "58")
    assert suggested_relabel(encode_class(0, 0, 0), encode_class(1, 1, 0), "p.jpg", "per") == ("", "", "")


def test_only_wrong_rows_most_confident_first_and_top_n():
    table, persons, rows = predictions_table()
    suspects = suspect_labels(table, persons, rows, top=3)
    assert suspects["path"].tolist() == ["a/mask1.jpg", "c/mask2.jpg", "b/mask1.jpg"]
    assert suspects["rank"].tolist() == [1, 2, 3] and suspects["crop_row"].tolist() == [10, 13, 12]
    assert suspects["actual_name"][0] == "wear/male/<30" and suspects["predicted_name"][0] == "not_wear/male/<30"
    assert suspects["field"].tolist() == ["mask", "", "gender"] and suspects["target"].tolist() == ["a/mask1.jpg", "", "b"]
    assert len(suspect_labels(table, persons, rows, top=0)) == 0
    assert len(suspect_labels(table, persons, rows, top=50)) == 4


def test_page_embeds_each_crop_as_a_png_and_files_are_written(tmp_path):
    table, persons, rows = predictions_table()
    crops = np.zeros((20, 16, 12, 3), dtype=np.uint8)
    crops[10] = 200  # the top suspect's crop is light grey
    suspects = write_error_analysis(tmp_path, table, persons, rows, crops, top=2)
    page = (tmp_path / "suspect_labels.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2 == len(suspects)
    first = np.asarray(Image.open(io.BytesIO(base64.b64decode(images[0]))))
    assert first.shape == (16, 12, 3) and (first == 200).all()
    assert "true: <span class=\"true\">wear/male/&lt;30</span>" in page and "suggest: mask = not_wear" in page
    written = pd.read_csv(tmp_path / "suspect_labels.csv", keep_default_na=False)
    assert written.columns.tolist()[:3] == ["rank", "path", "person"] and {"target", "field", "value"} <= set(written)
    assert "No wrong" in suspects_page(suspects.head(0), crops)
