"""Record live sessions, replay the syncer's decisions offline: ``record``, ``replay``, ``plan``.

``snapshot`` (the versioned file format) · ``redaction`` (Secrets out of snapshots) ·
``capture`` + ``recorder`` (what to record, and recording it with the source stage's
informers) · ``served`` + ``selectors`` + ``memstore`` (an in-memory API server per side) ·
``sources`` (informers over it) · ``scheduler`` + ``engine`` (the runtime's flows driven
synchronously in virtual time) · ``plan`` + ``render`` (the result, as a table or JSON) ·
``live`` (the current state of live clusters, for ``plan``) · ``configs`` (config files).
"""
