"""Reading a small CSV of the layout strictly: every failure names the file and the problem."""
import pandas as pd

from src.common.errors import BadInputError


def read_csv_table(csv_path, required_columns):
    """CSV -> DataFrame of strings (ids such as '000001' keep their leading zeros).

    Raises BadInputError when the file is missing, empty, lacks a required column or has no rows.
    """
    try:
        # keep_default_na=False: an empty cell stays '' instead of NaN, so 'ans' may be blank.
        table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise BadInputError(csv_path, "file not found") from None
    except pd.errors.EmptyDataError:
        raise BadInputError(csv_path, "empty file: no header and no rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise BadInputError(csv_path, f"not a readable CSV: {error}") from None
    table.columns = [str(column).strip() for column in table.columns]
    missing = [column for column in required_columns if column not in table.columns]
    if missing:
        raise BadInputError(
            csv_path,
            f"missing column(s) {missing}; required: {list(required_columns)}, "
            f"found: {list(table.columns)}",
        )
    if table.empty:
        raise BadInputError(csv_path, "no rows below the header")
    return table
