"""Augmentation factory: a list of {"name": <albumentations class>, **arguments} -> A.Compose.

Inputs are uint8 face crops already at training size; every augmentation here keeps that size and
the output "image" stays uint8 H x W x 3. collate_pixels stacks a uint8 batch; conversion to float
and normalisation happen in the model's first layer (src.models.networks.PixelInput), on its device.

The shipped recipe (params.yaml train.augment) is the mask competition's "AlbuAugmentation" in
albumentations-2 names: Affine replaces the deprecated ShiftScaleRotate (border_mode 4 =
cv2.BORDER_REFLECT_101, its old default), and GaussNoise takes std_range as a fraction of 255
(var_limit is silently ignored by albumentations 2, hence the argument check below).
"""

import albumentations as A
from albumentations.core.transforms_interface import BasicTransform

from src.common.factory import accepted_arguments, check_arguments, pick, split_spec

_BASES = {"BasicTransform", "DualTransform", "ImageOnlyTransform", "Transform3D"}
# The model normalises its input (train.mean/std) and the batch is made a tensor by collation.
_APPENDED = {"Normalize", "ToTensorV2"}
TRANSFORMS = {name: cls for name, cls in vars(A).items()
              if isinstance(cls, type) and issubclass(cls, BasicTransform)
              and name not in _BASES | _APPENDED}


def _explain(error: ValueError) -> str:
    """One line per bad argument instead of pydantic's multi-line dump of every union branch."""
    cause = error.__cause__
    if not hasattr(cause, "errors"):
        return str(error)
    first = {}
    for e in cause.errors(include_url=False):
        first.setdefault(e["loc"][0] if e["loc"] else "?", f"{e['msg']} (got {e['input']!r})")
    return "; ".join(f"{field}: {msg}" for field, msg in first.items())


def build_one(item: dict) -> BasicTransform:
    name, kwargs = split_spec("train.augment", item)
    if name in _APPENDED:
        raise ValueError(f"train.augment: {name} is done by the pipeline itself (the model normalises with "
                         f"train.mean/std, batches become tensors when collated); remove it from the list")
    cls = pick("train.augment", TRANSFORMS, name, "albumentations transform")
    # albumentations 2 only warns about an unknown argument and then uses its default: fail instead
    check_arguments("train.augment", name, kwargs, accepted_arguments(cls.__init__, skip=("strict",)))
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as e:
        raise ValueError(f"train.augment: {name}: bad argument(s): {_explain(e)}") from e


def build_transform(spec: list[dict], train: bool) -> A.Compose | None:
    """Train: the augmentations in order (uint8 in, uint8 out). Eval: None (crops are used as stored).

    The spec is validated in both cases so a bad config fails before any training starts."""
    augment = [build_one(item) for item in spec or []]
    if not train or not augment:
        return None
    # Shapes are fixed by faceCrop; the per-call shape check is pure overhead.
    return A.Compose(augment, is_check_shapes=False)
