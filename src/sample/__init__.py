"""Synthetic face-photo sample in the layout of the real competition data."""
