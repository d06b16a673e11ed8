"""The syncer's identity: one name per edge cluster, stable across syncer-gen runs.

``kubestellar-syncer-<name>-<suffix>`` names the upstream ServiceAccount, ClusterRole and
ClusterRoleBinding and the downstream Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding,
Secret and Deployment, as in the original. The original drew a new random suffix on every run,
so running syncer-gen twice made a second identity with its own token and RBAC (reference §5
item 12). Here the upstream ServiceAccount carries the label ``syncpipe.io/syncer-gen: <name>``
and a re-run finds it and keeps its suffix; the suffix is random only the first time.
"""

from __future__ import annotations

import re
import secrets
import string

import attrs

PREFIX = "kubestellar-syncer-"
SUFFIX_LENGTH = 8
# A Namespace name is a DNS-1123 label (63 characters) and carries the whole id.
NAME_MAX = 63 - len(PREFIX) - 1 - SUFFIX_LENGTH

SYNCER_GEN_LABEL = "syncpipe.io/syncer-gen"
"""On every object syncer-gen makes: the edge cluster's name; how a re-run finds them."""
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "syncpipe-syncer-gen"

_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUFFIX = re.compile(rf"[a-z]{{{SUFFIX_LENGTH}}}")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name an edge cluster's syncer, or ``None`` when it can."""
    if not _NAME.fullmatch(name):
        return f"{name!r} is not a DNS-1123 label (lowercase letters, digits and '-')"
    if len(name) > NAME_MAX:
        return (
            f"{name!r} is {len(name)} characters; at most {NAME_MAX} fit in "
            f"{PREFIX}<name>-<suffix> (a 63-character namespace name)"
        )
    return None


def random_suffix() -> str:
    """Eight random lowercase letters (26^8 ≈ 2·10^11 values: collisions are not a concern)."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(SUFFIX_LENGTH))


@attrs.frozen
class SyncerIdentity:
    """An edge cluster's syncer: its ``name`` (as given) and the ``suffix`` that makes it unique."""

    name: str = attrs.field()
    suffix: str = attrs.field()

    @name.validator
    def _check_name(self, _attribute: object, value: str) -> None:
        problem = name_problem(value)
        if problem:
            raise ValueError(problem)

    @suffix.validator
    def _check_suffix(self, _attribute: object, value: str) -> None:
        if not _SUFFIX.fullmatch(value):
            raise ValueError(f"suffix {value!r} is not {SUFFIX_LENGTH} lowercase letters")

    @classmethod
    def new(cls, name: str) -> SyncerIdentity:
        """A fresh identity with a random suffix (the first syncer-gen run for ``name``)."""
        return cls(name, random_suffix())

    @classmethod
    def from_id(cls, name: str, syncer_id: str) -> SyncerIdentity | None:
        """The identity whose id is ``syncer_id``, or ``None`` when it is not one for ``name``."""
        head = f"{PREFIX}{name}-"
        if not syncer_id.startswith(head):
            return None
        suffix = syncer_id.removeprefix(head)
        return cls(name, suffix) if _SUFFIX.fullmatch(suffix) else None

    @property
    def id(self) -> str:
        """``kubestellar-syncer-<name>-<suffix>``."""
        return f"{PREFIX}{self.name}-{self.suffix}"

    @property
    def labels(self) -> dict[str, str]:
        """The labels every object syncer-gen makes for this syncer carries."""
        return {SYNCER_GEN_LABEL: self.name, MANAGED_BY_LABEL: MANAGED_BY}

    @property
    def selector(self) -> str:
        """A label selector for this syncer's objects (any suffix)."""
        return f"{SYNCER_GEN_LABEL}={self.name}"
