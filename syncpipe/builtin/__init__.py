"""syncpipe.builtin."""
