"""Namespace mappers: where an upstream namespace lives downstream, and back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs


def _same(namespace: str) -> str:
    return namespace


@attrs.frozen(kw_only=True)
class NamespaceMapper:
    """A reversible mapping between upstream and downstream namespace names.

    ``downstream_namespace_for`` must be injective; the reverse lookup should not parse names:
    mapped namespaces carry a locator annotation that ``upstream_namespace_for`` may be given.
    """

    name: str
    downstream_namespace_for: Callable[[str], str] = _same
    upstream_namespace_for: Callable[[str], str | None] = _same
    # Mappers that learn the reverse direction expose their index so the syncer can teach it
    # what it finds (namespaces carrying the locator annotation) after a restart.
    reverse_index: Any = None


IDENTITY = NamespaceMapper(name="identity")
