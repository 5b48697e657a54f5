"""Class probabilities from fold models (TTA), and the fold ensemble of the ensemble stage."""
