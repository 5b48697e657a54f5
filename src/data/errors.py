"""Exceptions for bad input data: each names the offending path and says what is wrong."""
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
