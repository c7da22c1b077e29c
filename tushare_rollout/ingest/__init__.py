"""Ingestion: the dataset table, partition planning, and the loader that writes partitions with their checkpoints."""
