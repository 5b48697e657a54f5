"""Data: the competition layout's train and eval tables, image decoding, label corrections, person folds,
the crops manifest and the torch dataset of crops. Tables are built from directory listings only;
images are decoded later, one at a time (load_rgb), so a table of 18,900 images reads in under a second."""
