"""Stage 1: list+watch sources that turn API state into events and a local cache."""
