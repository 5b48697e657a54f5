"""evaluate stage: score the submission against the true eval labels, when they exist.

The synthetic sample ships them (data/sample_truth/eval_labels.csv: ImageID,ans); real competition
data does not, and then this stage says so and writes {"labelled": false} instead of a score.
Writes metrics/eval.json. Params: evaluate.labels."""
import argparse
from pathlib import Path

import pandas as pd

from src.common.atomic import write_json
from src.common.errors import BadInputError
from src.config.params import load_params
from src.data.csv_table import read_csv_table
from src.labels.classes import NUM_CLASSES
from src.labels.metrics import score
from stages.plumbing import paths
from stages.plumbing.entry import run


def class_column(table, path):
    """The `ans` column as class numbers 0..17; anything else fails naming the file and the row."""
    classes = pd.to_numeric(table["ans"], errors="coerce")
    bad = ~classes.isin(range(NUM_CLASSES))
    if bad.any():
        row = int(bad.idxmax())
        raise BadInputError(path, f"row {row + 2}: ans {table['ans'][row]!r} is not a class 0..{NUM_CLASSES - 1}")
    return classes.astype(int)


def main():
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    labels_file = Path(load_params(paths.PARAMS).evaluate.labels)
    submission = read_csv_table(paths.SUBMISSION / "submission.csv", ["ImageID", "ans"])
    if not labels_file.exists():
        write_json(paths.METRICS / "eval.json", {"labelled": False})
        print(f"evaluate: no true labels at {labels_file} (expected for real competition data): nothing scored")
        return
    predicted = class_column(submission, paths.SUBMISSION / "submission.csv")
    truth = read_csv_table(labels_file, ["ImageID", "ans"])
    truth["ans"] = class_column(truth, labels_file)
    merged = submission.assign(ans=predicted).merge(truth[["ImageID", "ans"]], on="ImageID", how="left",
                                                    suffixes=("", "_true"), validate="one_to_one")
    if merged["ans_true"].isna().any():
        missing = merged.loc[merged["ans_true"].isna(), "ImageID"].tolist()
        raise BadInputError(labels_file, f"no true label for {len(missing)} submission rows, e.g. {missing[:3]}")
    metrics = {"labelled": True, "images": len(merged),
               **score(merged["ans_true"].astype(int).to_numpy(), merged["ans"].to_numpy())}
    write_json(paths.METRICS / "eval.json", metrics)
    print(f"evaluate: eval macro F1 {metrics['f1']:.4f}, accuracy {metrics['accuracy']:.4f} on {len(merged)} images")


if __name__ == "__main__":
    run(main)
