"""Point-in-time feature pipelines, labels and training snapshots."""
