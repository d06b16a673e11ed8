"""Keep Secret values out of snapshots and plans, but keep their changes visible.

A snapshot is a file that gets copied around (attached to bug reports, kept as benchmark
data), so by default no Secret value is written to it: each value of a Secret's ``data`` and
``stringData`` is replaced by a digest, and so is the ``kubectl.kubernetes.io/last-applied-
configuration`` annotation, which ``kubectl apply`` fills with the whole Secret, values
included.

Why a digest rather than a fixed placeholder: the replay must still see that a value changed
(a rotated password is a patch the syncer makes) and that the upstream value and its copy
downstream are equal (no patch). The digest is an HMAC keyed with a random key that lives
only as long as one ``Redactor`` (one recording, one ``plan`` run) and is never written: equal
values get equal digests within a recording, and a digest cannot be checked against guessed
passwords afterwards, which a plain hash of a short secret could.

``--keep-secret-data`` turns this off (the header then says ``"secret_data": "kept"``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any, Final

from syncpipe.model.objects import RawObject

LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
PREFIX: Final = "redacted:"
# Hex digits of the digest kept: 64 bits tell changed values apart in any realistic recording.
DIGEST_HEX: Final = 16


class Redactor:
    """Replaces Secret values with keyed digests; one instance per recording."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)

    def digest(self, value: object) -> str:
        """``redacted:<hex>``: equal for equal values under this redactor, and nothing else."""
        text = value if isinstance(value, str) else repr(value)
        mac = hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()
        return PREFIX + mac[:DIGEST_HEX]

    def redact(self, obj: RawObject) -> RawObject:
        """``obj`` itself unless it is a Secret; else a copy with every value digested."""
        if obj.get("kind") != "Secret" or obj.get("apiVersion") != "v1":
            return obj
        out = dict(obj)
        for field in ("data", "stringData"):
            values = obj.get(field)
            if isinstance(values, Mapping):
                out[field] = {k: self.digest(v) for k, v in values.items()}
        metadata = obj.get("metadata")
        if isinstance(metadata, Mapping):
            annotations = metadata.get("annotations")
            if isinstance(annotations, Mapping) and LAST_APPLIED in annotations:
                kept: dict[str, Any] = dict(annotations)
                kept[LAST_APPLIED] = self.digest(annotations[LAST_APPLIED])
                out["metadata"] = {**metadata, "annotations": kept}
        return out


def keep(obj: RawObject) -> RawObject:
    """The identity: what ``--keep-secret-data`` uses in place of ``Redactor.redact``."""
    return obj
