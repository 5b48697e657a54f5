"""Face-attribute classification library: everything the DVC stages call lives here."""
