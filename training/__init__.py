"""Datasets, splits, training runs, evaluation, MLflow logging and registry promotion."""
