"""The 18 classes, the attribute tasks (mask, gender, age) and the competition metric."""
