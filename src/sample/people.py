"""Who is in the synthetic sample: ids, genders, ages, looks and the real data's quirks.

Counts per (gender, age band) are exact shares of the real set (largest remainder), so a
300-person sample has the real proportions rather than sampling noise. Every random draw comes
from a generator keyed by integers (seed, stream, index): never Python's salted hash().
"""
from dataclasses import dataclass, field

import numpy as np

# Persons of the real set per (gender, age band): male <30, 30-59, >=60, then female.
REAL_PERSONS = {(0, 0): 549, (0, 1): 410, (0, 2): 83, (1, 0): 732, (1, 1): 817, (1, 2): 109}
TOP_BAND_AGE = 60  # the real >= 60 band holds age 60 only
MAX_ID = 6959  # real ids run up to about this

# Integer stream keys that keep the generators of different uses apart. Keys are always
# [seed, stream, ...] with a fixed length per stream: numpy's SeedSequence ignores trailing
# zeros, so [s, 4] and [s, 4, 0, 0] would be the same generator.
STREAM_TABLE, STREAM_LOOKS, STREAM_IMAGE, STREAM_EVAL_NAMES, STREAM_EVAL_ORDER, STREAM_QUIRKS = 1, 2, 3, 4, 5, 6
ROLE_TRAIN, ROLE_EVAL = 0, 1


@dataclass
class Looks:
    """A person's identity, fixed across their 7 photos. Sizes are relative to face half-width."""
    skin: tuple
    hair: tuple
    hair_length: float  # 0 buzz cut .. 0.5 ear .. 1 jaw .. 2 below shoulders
    bun: bool  # long hair tied up: looks short from the front
    fringe: float  # 0 none .. 1 down to the brows
    hairline: float  # 0 normal .. 1 receding
    jaw: float  # 0 narrow/pointy .. 1 wide/square
    aspect: float  # face height / width
    face_size: float  # face half-width in pixels of the 384x512 image
    brow: float
    lips: tuple
    wrinkles: float  # 0 none .. 1 many and deep
    beard: float  # 0 none .. 1 dark stubble
    iris: tuple
    clothes: tuple
    clothes_pattern: int  # 0 plain, 1 stripes, 2 collar


@dataclass
class Person:
    index: int  # position in the train or eval list: keys this person's generators
    id: str
    gender: str  # 'male' / 'female'
    age: int
    looks: Looks = field(default=None, repr=False)

    @property
    def folder(self):
        return f"{self.id}_{self.gender}_Asian_{self.age}"

    @property
    def gender_label(self):
        return 0 if self.gender == "male" else 1

    @property
    def age_band(self):
        return 0 if self.age < 30 else (1 if self.age < 60 else 2)


def exact_counts(n, weights):
    """Split n into integer counts proportional to weights (largest remainder, ties by order)."""
    weights = np.asarray(list(weights), dtype=float)
    quotas = n * weights / weights.sum()
    counts = np.floor(quotas).astype(int)
    order = np.argsort(-(quotas - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


def draw_age(band, rng):
    """Ages inside a band, skewed like the real set (many students ~20, many parents ~50s)."""
    if band == 2:
        return TOP_BAND_AGE
    ages = np.arange(18, 30) if band == 0 else np.arange(30, 60)
    weights = np.exp(-(ages - 18) / 4.0) if band == 0 else np.exp((ages - 59) / 8.0)
    return int(rng.choice(ages, p=weights / weights.sum()))


def make_people(n, seed, role=ROLE_TRAIN, quirks=True):
    """The person list of a train (role 0) or eval (role 1) sample, ordered by id.

    quirks adds the real set's odd ids (a '-1' suffixed id, one id shared by two folders with
    ages one year apart) when there are enough persons for them.
    """
    rng = np.random.default_rng([seed, STREAM_TABLE, role])
    cells = [cell for cell, k in zip(REAL_PERSONS, exact_counts(n, REAL_PERSONS.values()))
             for _ in range(k)]
    cells = [cells[i] for i in rng.permutation(n)]
    people = [dict(gender=g, age=draw_age(b, rng)) for g, b in cells]
    numbers = np.sort(rng.choice(np.arange(1, max(MAX_ID, 3 * n) + 1), size=n, replace=False))
    for p, number in zip(people, numbers):
        p["id"] = f"{number:06d}"
    if quirks:
        add_id_quirks(people, rng)
    people.sort(key=lambda p: (p["id"], p["age"]))
    persons = []
    for index, p in enumerate(people):
        gender = "male" if p["gender"] == 0 else "female"
        looks = draw_looks(p["gender"], p["age"], looks_rng(seed, role, index))
        persons.append(Person(index, p["id"], gender, p["age"], looks))
    return persons


def add_id_quirks(people, rng):
    """Give one person a '-1' id suffix and make two young women share one id, ages a year apart."""
    young_women = [p for p in people if p["gender"] == 1 and p["age"] < 30]
    if len(young_women) >= 2:
        first, second = (young_women[i] for i in rng.choice(len(young_women), 2, replace=False))
        first["age"] = min(first["age"], 28)
        second["id"], second["age"] = first["id"], first["age"] + 1
    others = [p for p in people if not any(p is w for w in young_women)]
    if others:
        chosen = others[int(rng.integers(len(others)))]
        chosen["id"] += "-1"


def quirk_folders(persons, seed, share=0.02):
    """Which train folders get .png / .jpeg files and which get AppleDouble '._' files.

    Real files are .jpg except a few folders; ~share of the persons each, at least 2.
    Returns ({folder index: extension}, set of folder indices with '._' files).
    """
    n = len(persons)
    k = max(2, round(share * n)) if n >= 4 else 0
    rng = np.random.default_rng([seed, STREAM_QUIRKS])
    picked = rng.choice(n, size=min(n, 2 * k), replace=False)
    extensions = {int(i): (".png" if j % 2 == 0 else ".jpeg") for j, i in enumerate(picked[:k])}
    apple_double = {int(i) for i in picked[k:]}
    return extensions, apple_double


def muted(colour, saturation):
    """Pull a colour towards its grey: most clothes are not neon."""
    return colour.mean() + saturation * (colour - colour.mean())


def looks_rng(seed, role, index):
    """The random stream of one person's looks (draw_looks)."""
    return np.random.default_rng([seed, STREAM_LOOKS, role, index])


def hidden_traits(gender, age, rng):
    """(femininity score, apparent age): the first draws of draw_looks, which every gender and age cue
    of the photos derives from (each with noise of its own)."""
    return (0.9 if gender == 1 else -0.9) + rng.normal(0, 0.6), age + rng.normal(0, 5.0)


def draw_looks(gender, age, rng):
    """Gender and age cues that overlap, so those two are the hard part as in real photos.

    A hidden 'femininity' score and an 'apparent age' (true age + noise) drive the cues;
    each cue adds its own noise on top.
    """
    fem, seen_age = hidden_traits(gender, age, rng)
    tone = rng.normal(0, 1)
    skin = np.array([226, 190, 163]) + tone * np.array([14, 15, 15]) + rng.normal(0, 5, 3)
    skin = skin - max(0, seen_age - 40) * np.array([0.35, 0.5, 0.55])  # older skin: duller
    grey = np.clip(1 / (1 + np.exp(-(seen_age - 50) / 5)) + rng.normal(0, 0.1), 0, 1)
    if seen_age > 45 and rng.random() < 0.3:
        grey *= 0.2  # dyed hair hides the age
    base_hair = np.array([28, 24, 22]) + rng.random() * np.array([60, 38, 20]) * (fem > 0.5)
    hair = (1 - grey) * base_hair + grey * np.array([185, 183, 178])
    length = float(np.clip(0.75 + 0.6 * fem + rng.normal(0, 0.35), 0.05, 2.2))
    redness = np.clip(0.25 + 0.25 * fem + rng.normal(0, 0.2), 0, 1)
    lips = (1 - redness) * (skin * np.array([0.85, 0.68, 0.68])) + redness * np.array([190, 60, 75])
    wrinkles = float(np.clip((seen_age - 32) / 26 + rng.normal(0, 0.12), 0, 1))
    return Looks(
        skin=tuple(np.clip(skin, 60, 255).astype(int).tolist()),
        hair=tuple(np.clip(hair, 0, 255).astype(int).tolist()),
        hair_length=length,
        bun=bool(length > 1.1 and rng.random() < 0.2),
        fringe=float(np.clip(rng.normal(0.35, 0.35), 0, 1)) if rng.random() < 0.5 else 0.0,
        hairline=float(np.clip((seen_age - 45) / 20 - fem * 0.5 + rng.normal(0, 0.2), 0, 1)),
        jaw=float(np.clip(0.5 - 0.25 * fem + rng.normal(0, 0.15), 0, 1)),
        aspect=float(np.clip(1.28 + 0.04 * fem + rng.normal(0, 0.04), 1.15, 1.42)),
        face_size=float(np.clip(68 - 3 * fem + rng.normal(0, 5), 54, 84)),
        brow=float(np.clip(0.075 - 0.015 * fem + rng.normal(0, 0.012), 0.035, 0.12)),
        lips=tuple(np.clip(lips, 0, 255).astype(int).tolist()),
        wrinkles=wrinkles,
        beard=float(np.clip(rng.normal(0.6, 0.2), 0, 1)) if fem < -0.6 and rng.random() < 0.35 else 0.0,
        iris=tuple(int(v) for v in rng.integers(25, 70, 3)),
        clothes=tuple(int(v) for v in muted(rng.uniform(15, 235, 3), rng.uniform(0.2, 0.9))),
        clothes_pattern=int(rng.integers(3)),
    )
