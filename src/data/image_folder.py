"""The photos of any folder (a user's own, not the competition layout): every .jpg/.jpeg/.png under it.

Extensions match in any case (IMG_01.JPG). Hidden names are skipped as the train table skips them, with
macOS litter in mind: AppleDouble files `._photo.jpg` (metadata, not images), .DS_Store, and hidden
folders such as .git. Other files are skipped too; every skip is listed with its reason, never silent."""
import os
from pathlib import Path

from src.common.errors import BadInputError
from src.data.train_table import IMAGE_EXTENSIONS

APPLE_DOUBLE = "AppleDouble ._*"
HIDDEN = "hidden"
NOT_IMAGE = "not " + "/".join(IMAGE_EXTENSIONS)


def list_images(folder):
    """(images, skipped) under `folder`, recursively: images are posix paths relative to it, sorted;
    skipped are (relative path, reason) for the files and hidden folders left out."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInputError(folder, "not a folder" if folder.exists() else "folder does not exist")
    images, skipped = [], []
    for root, dirs, files in os.walk(folder):
        relative = Path(root).relative_to(folder)
        for name in [d for d in dirs if d.startswith(".")]:
            dirs.remove(name)  # not walked into
            skipped.append(((relative / name).as_posix(), HIDDEN))
        for name in files:
            path = (relative / name).as_posix()
            reason = image_skip_reason(name)
            if reason:
                skipped.append((path, reason))
            else:
                images.append(path)
    return sorted(images), sorted(skipped)


def image_skip_reason(name):
    """Why a file name is not taken as a photo, or None when it is one."""
    if name.startswith("._"):
        return APPLE_DOUBLE
    if name.startswith("."):
        return HIDDEN
    if os.path.splitext(name)[1].lower() not in IMAGE_EXTENSIONS:
        return NOT_IMAGE
    return None
