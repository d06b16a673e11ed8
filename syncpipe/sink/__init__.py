"""Stage 3: diff desired against live state and write minimal patches."""
