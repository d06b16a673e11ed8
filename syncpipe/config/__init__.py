"""SyncerConfig / EdgeSyncConfig parsing, validation and merged selection.

Input enters here and leaves as immutable values: ``syncerconfig`` and ``edgesyncconfig``
parse the two config kinds (reporting every problem with its JSON path), ``rules`` flattens
them, ``selection`` merges them into the ``Selection`` the pipeline asks per object, and
``crds`` ships the CustomResourceDefinitions of both kinds.
"""
