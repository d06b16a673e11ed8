"""SyncerConfig / EdgeSyncConfig parsing, validation and merged selection."""
