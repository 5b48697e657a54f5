"""Face-attribute classification library: everything the DVC stages call lives here."""
import os

# albumentations asks PyPI for a newer version on import: the pipeline makes no network calls.
if not os.environ.get("NO_ALBUMENTATIONS_UPDATE"):
    os.environ["NO_ALBUMENTATIONS_UPDATE"] = "1"
