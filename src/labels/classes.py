"""The 18-class label scheme: mask state x gender x age band.

class = mask * 6 + gender * 3 + age_band, as in the competition.
"""
import numpy as np

NUM_CLASSES = 18
NUM_MASK, NUM_GENDER, NUM_AGE = 3, 2, 3
ATTRIBUTES = {"mask": NUM_MASK, "gender": NUM_GENDER, "age": NUM_AGE}  # in decode_class order

# File stem -> mask state. mask1..mask5 are worn correctly.
MASK_BY_STEM = {
    **{f"mask{i}": 0 for i in range(1, 6)},
    "incorrect_mask": 1,
    "normal": 2,
}
MASK_NAMES = ("wear", "incorrect", "not_wear")
GENDER_BY_NAME = {"male": 0, "female": 1}
GENDER_NAMES = ("male", "female")
AGE_NAMES = ("<30", "30-59", ">=60")
COMPETITION_AGE_BINS = (30, 60)  # the bands every score is taken in, whatever data.age_bins trains with


def age_band(age, bins=COMPETITION_AGE_BINS):
    """Age (int or array) -> band 0/1/2. bins are the lower edges of bands 1 and 2."""
    if len(bins) != 2 or not bins[0] < bins[1]:
        raise ValueError(f"age bins must be two increasing ages, got {list(bins)}")
    return np.digitize(age, bins)


def encode_class(mask, gender, age):
    """(mask, gender, age band) -> class index 0..17; works on ints and arrays."""
    return mask * 6 + gender * 3 + age


def competition_labels(table):
    """The class of each row of a crops table as the competition scores it: its mask and gender with
    the band of its age under COMPETITION_AGE_BINS. The table's own label column follows data.age_bins
    (the bands the models train on: [30, 58] makes 58- and 59-year-olds old); scores use these."""
    bands = age_band(table["age"].to_numpy(), COMPETITION_AGE_BINS)
    return encode_class(table["mask"].to_numpy(), table["gender"].to_numpy(), bands).astype(np.int64)


def decode_class(label):
    """class index 0..17 -> (mask, gender, age band); works on ints and arrays."""
    return label // 6, (label // 3) % 2, label % 3


def class_name(label):
    mask, gender, age = decode_class(int(label))
    return f"{MASK_NAMES[mask]}/{GENDER_NAMES[gender]}/{AGE_NAMES[age]}"
