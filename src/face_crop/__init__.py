"""Face cropping: detect a face box per image, fall back sensibly, crop at the training size."""
