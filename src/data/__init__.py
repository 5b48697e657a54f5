"""Reading the competition layout: the train and eval tables, and decoding one image.

Tables are built from directory listings only; images are decoded later, one at a time,
by load_rgb, so a table of 18,900 images is read in well under a second.
"""
from src.errors import BadImageError, BadInputError
from src.data.eval_table import read_eval_table
from src.data.images import load_rgb
from src.data.train_table import read_train_table

__all__ = ["BadImageError", "BadInputError", "load_rgb", "read_eval_table", "read_train_table"]
