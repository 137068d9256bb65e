"""The synthetic patent world with known ground truth."""
