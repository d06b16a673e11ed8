"""Kubernetes naming rules, applied to configs before they reach the API server or the syncer.

Each ``*_problem`` function returns a message saying what is wrong with a value, or ``None``
when it is acceptable, so the parser can collect every problem with its path instead of
raising at the first. The rules are the API server's own (DNS-1123 labels and subdomains,
path-segment names), checked here because ``syncpipe config validate`` runs without a server
and because a SyncerConfig read back from the server was only checked against the lenient
patterns of the CRD.

Regular expressions run at parse time only, never per object event.
"""

from __future__ import annotations

import re

WILDCARD = "*"
"""Matches every name, namespace or resource where a list of them is expected."""

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_KIND = re.compile(r"[A-Z][A-Za-z0-9]*")
_KUBE_VERSION = re.compile(r"v([0-9]+)(?:(alpha|beta)([0-9]+))?")
_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")

LABEL_MAX = 63
SUBDOMAIN_MAX = 253


def group_problem(value: str) -> str | None:
    """An API group is ``""`` (the core group) or a DNS-1123 subdomain such as ``apps``.

    ``"*"`` is refused: the original looked up a group literally named ``*`` (so it matched
    nothing), and "every group" would sweep up the whole cluster.
    """
    if value == "":
        return None
    if value == WILDCARD:
        return 'an API group must be named; "*" (every group) is not supported'
    if "/" in value:
        return "the API group holds the group only (e.g. apps), without a version"
    if len(value) > SUBDOMAIN_MAX or not _DNS1123_SUBDOMAIN.fullmatch(value):
        return f'{value!r} is not an API group: use "" for the core group or e.g. apps'
    return None


def label_key_problem(value: str) -> str | None:
    """A label key: an optional DNS-subdomain prefix and ``/``, then a name of at most 63
    letters, digits, ``-``, ``_`` or ``.``, starting and ending with a letter or digit."""
    prefix, slash, name = value.rpartition("/")
    if slash and (len(prefix) > SUBDOMAIN_MAX or not _DNS1123_SUBDOMAIN.fullmatch(prefix)):
        return f"{value!r}: the prefix of a label key must be a DNS subdomain"
    if len(name) > LABEL_MAX or not _LABEL_NAME.fullmatch(name):
        return (
            f"{value!r}: a label key's name is at most {LABEL_MAX} letters, digits, '-', '_' or "
            "'.', starting and ending with a letter or digit"
        )
    return None


def label_value_problem(value: str) -> str | None:
    """A label value: empty, or as a label key's name."""
    if value and (len(value) > LABEL_MAX or not _LABEL_NAME.fullmatch(value)):
        return (
            f"{value!r}: a label value is empty or at most {LABEL_MAX} letters, digits, '-', "
            "'_' or '.', starting and ending with a letter or digit"
        )
    return None


def version_problem(value: str) -> str | None:
    """A version is a DNS-1035 label such as ``v1`` or ``v2alpha1`` (what CRDs allow)."""
    if "/" in value:
        return "apiVersion holds the version only, e.g. v1"
    if len(value) > LABEL_MAX or not _DNS1035_LABEL.fullmatch(value):
        return f"{value!r} is not an API version such as v1, v1beta1 or v2alpha1"
    return None


def resource_problem(value: str) -> str | None:
    """A resource is the lowercase plural of a kind (``deployments``) or ``"*"``."""
    if value == WILDCARD:
        return None
    if "/" in value:
        return f"{value!r} is a subresource; select the resource itself"
    if value != value.lower():
        return f"{value!r} looks like a kind; a resource is the lowercase plural (e.g. deployments)"
    if len(value) > LABEL_MAX or not _DNS1123_LABEL.fullmatch(value):
        return f"{value!r} is not a resource name (lowercase plural, e.g. configmaps) or *"
    return None


def namespace_problem(value: str) -> str | None:
    """A namespace is a DNS-1123 label or ``"*"`` (every namespace)."""
    if value == WILDCARD:
        return None
    if len(value) > LABEL_MAX or not _DNS1123_LABEL.fullmatch(value):
        return f"{value!r} is not a namespace name (a DNS-1123 label) or *"
    return None


def object_name_problem(value: str) -> str | None:
    """An object name, or ``"*"``.

    Only what no resource accepts is refused (the API server's path-segment rule): many
    resources insist on DNS-1123 subdomains, but RBAC objects are named ``kyverno:view`` and
    the like, and a config naming them must stay valid.
    """
    if value == WILDCARD:
        return None
    if value in ("", ".", ".."):
        return f"{value!r} is not an object name"
    if "/" in value or "%" in value:
        return f"{value!r} is not an object name: it may not contain '/' or '%'"
    if len(value) > SUBDOMAIN_MAX:
        return f"an object name is at most {SUBDOMAIN_MAX} characters"
    return None


def config_name_problem(value: str) -> str | None:
    """The name of a SyncerConfig or EdgeSyncConfig: a DNS-1123 subdomain (as for any CR)."""
    if len(value) > SUBDOMAIN_MAX or not _DNS1123_SUBDOMAIN.fullmatch(value):
        return f"{value!r} is not a valid object name (a DNS-1123 subdomain)"
    return None


def kind_problem(value: str) -> str | None:
    """A kind is a CamelCase type name such as ``ConfigMap``, never a resource or ``"*"``."""
    if not _KIND.fullmatch(value) or len(value) > LABEL_MAX:
        return f"{value!r} is not a kind (a CamelCase type name such as ConfigMap)"
    return None


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key putting the most preferred version first, as kubectl orders versions.

    GA before beta before alpha; within each, the higher major (then minor) number first;
    versions that follow no convention come last, alphabetically.
    """
    match = _KUBE_VERSION.fullmatch(version)
    if match is None:
        return (3, 0, 0, version)
    major = int(match.group(1))
    stability = match.group(2)
    minor = int(match.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stability]
    return (rank, -major, -minor, version)
