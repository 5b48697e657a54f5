"""The most confidently wrong out-of-fold predictions: where label errors (about 1% of the real set) hide.

suspect_labels() ranks them and suggests a relabel.csv entry (target, field, value: see src/data/relabel.py)
when exactly one of mask / gender / age band differs between the label and the prediction;
suspects_page() shows them as a page of thumbnails with true and predicted labels, the crops
embedded as base64 PNGs.
"""
import base64
import html
import io

import numpy as np
import pandas as pd
from PIL import Image

from src.common.atomic import atomic_path, write_csv
from src.labels.classes import COMPETITION_AGE_BINS, GENDER_NAMES, MASK_NAMES, class_name, decode_class


def band_age(band, age_bins):
    """An age inside the band (relabel's age field takes an age): 29 / 30 / 60 for bins (30, 60)."""
    return (age_bins[0] - 1, age_bins[0], age_bins[1])[band]


def suggested_relabel(actual, predicted, path, person, age_bins=COMPETITION_AGE_BINS):
    """(target, field, value) when exactly one attribute differs, else ("", "", ""). The mask state
    belongs to the image (target: its path), gender and age to the person (target: its folder); the
    age suggested is the predicted band's edge: replace it with the real age when you know it."""
    (mask, gender, age), (p_mask, p_gender, p_age) = decode_class(actual), decode_class(predicted)
    differing = [(path, "mask", MASK_NAMES[p_mask])] if mask != p_mask else []
    differing += [(person, "gender", GENDER_NAMES[p_gender])] if gender != p_gender else []
    differing += [(person, "age", str(band_age(p_age, age_bins)))] if age != p_age else []
    return differing[0] if len(differing) == 1 else ("", "", "")


def suspect_labels(predictions, persons, crop_rows, top, age_bins=COMPETITION_AGE_BINS):
    """predictions: the out-of-fold table (path, actual, predicted, confidence); persons and crop_rows:
    per row, its person folder and its row in the crops array. The top wrong rows, most confident first."""
    table = predictions.assign(person=np.asarray(persons), crop_row=np.asarray(crop_rows))
    wrong = table[table["actual"] != table["predicted"]]
    wrong = wrong.sort_values(["confidence", "path"], ascending=[False, True], kind="stable").head(top)
    suggestions = [suggested_relabel(int(r.actual), int(r.predicted), r.path, r.person, age_bins)
                   for r in wrong.itertuples()]
    target, field, value = zip(*suggestions) if suggestions else ((), (), ())
    return pd.DataFrame({"rank": range(1, len(wrong) + 1), "path": wrong["path"].to_numpy(),
                         "person": wrong["person"].to_numpy(), "crop_row": wrong["crop_row"].to_numpy(),
                         "actual": wrong["actual"].to_numpy(), "predicted": wrong["predicted"].to_numpy(),
                         "confidence": wrong["confidence"].to_numpy(),
                         "actual_name": [class_name(c) for c in wrong["actual"]],
                         "predicted_name": [class_name(c) for c in wrong["predicted"]],
                         "target": list(target), "field": list(field), "value": list(value)})


def png_data_uri(image):
    """An HxWx3 uint8 array as a data: URI of a PNG."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def suspects_page(suspects, crops, title="Most confidently wrong out-of-fold predictions"):
    """A self-contained HTML page: one card per suspect with its crop, true and predicted label."""
    cards = []
    for row in suspects.itertuples():
        relabel = f"<br>suggest: {html.escape(row.field)} = {html.escape(row.value)}" if row.field else ""
        cards.append(
            f'<figure class="card"><img src="{png_data_uri(crops[row.crop_row])}" alt="{html.escape(row.path)}">'
            f"<figcaption>#{row.rank} p={row.confidence:.2f}<br>"
            f'true: <span class="true">{html.escape(row.actual_name)}</span><br>'
            f'pred: <span class="pred">{html.escape(row.predicted_name)}</span>{relabel}<br>'
            f'<small>{html.escape(row.path)}</small></figcaption></figure>')
    body = "\n".join(cards) or "<p>No wrong out-of-fold predictions.</p>"
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 8px; }}
.card {{ margin: 0; width: 190px; border: 1px solid #ccc; padding: 4px; font-size: 12px; }}
.card img {{ width: 96px; image-rendering: pixelated; display: block; }}
.true {{ color: #1a7f37; }} .pred {{ color: #cf222e; }}
small {{ color: #666; word-break: break-all; }}
</style></head>
<body><h1>{html.escape(title)}</h1>
<p>{len(suspects)} images, most confident first. Likely label errors: check each photo, then add a
relabel entry (target, field, value) from ensemble/suspect_labels.csv.</p>
<div class="grid">
{body}
</div></body></html>
"""


def write_error_analysis(folder, predictions, persons, crop_rows, crops, top, age_bins=COMPETITION_AGE_BINS):
    """folder/suspect_labels.csv and folder/suspect_labels.html (atomically); returns the suspects table."""
    suspects = suspect_labels(predictions, persons, crop_rows, top, age_bins)
    write_csv(folder / "suspect_labels.csv", suspects)
    with atomic_path(folder / "suspect_labels.html") as tmp:
        tmp.write_text(suspects_page(suspects, crops), encoding="utf-8")
    return suspects
