"""tqdm progress bars that stay quiet in CI logs and when output is not a terminal."""
import os
import sys

from tqdm import tqdm


def progress(iterable=None, **kwargs):
    quiet = bool(os.environ.get("CI")) or not sys.stderr.isatty()
    return tqdm(iterable, disable=quiet, dynamic_ncols=True, **kwargs)
