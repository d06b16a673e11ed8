"""syncpipe.replay."""
