"""syncpipe.hooks."""
