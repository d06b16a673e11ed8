"""syncpipe.testing."""
