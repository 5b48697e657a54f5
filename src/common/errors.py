"""Exceptions for bad input (data, files between stages, pretrained weights): each names the offending
path and says what is wrong."""
import os


class BadInputError(ValueError):
    """The data on disk does not have the expected layout or content."""

    def __init__(self, path, reason):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    # DataLoader workers send exceptions between processes by pickling them; the default
    # pickling would call __init__ with the message alone and fail.
    def __reduce__(self):
        return type(self), (self.path, self.reason)


class BadImageError(BadInputError):
    """An image file cannot be decoded into an RGB array."""


def first_line(error):
    """An exception's message cut to its first line and sentence (library errors can run to many)."""
    text = str(error).strip()
    return text.splitlines()[0].split(". ")[0].rstrip(".") if text else type(error).__name__


class WeightsError(ValueError):
    """Pretrained weights that cannot be had or do not fit; the message says what to do."""
