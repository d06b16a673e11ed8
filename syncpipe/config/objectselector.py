"""Label selectors as Kubernetes writes them in objects (``matchLabels`` / ``matchExpressions``).

A SyncerConfig entry's ``objectSelector`` is a ``metav1.LabelSelector``, named as in admission
webhooks' ``objectSelector``, with the API server's semantics:

* every ``matchLabels`` pair and every ``matchExpressions`` requirement must hold (AND);
* ``In``: the label is present with one of ``values``; ``NotIn``: absent, or not one of them;
  ``Exists`` / ``DoesNotExist``: present / absent (no ``values`` allowed);
* an empty selector (``{}``) matches every object, as in the API.

``LabelSelector.query`` is the same selector in the ``?labelSelector=`` string syntax, for
watches the API server can filter itself. Matching runs per object event on the hot path, so
a selector is compiled once into tuples and matched with dictionary lookups only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from syncpipe.config import names
from syncpipe.config.reader import Reader, child, json_type

IN = "In"
NOT_IN = "NotIn"
EXISTS = "Exists"
DOES_NOT_EXIST = "DoesNotExist"
OPERATORS = (IN, NOT_IN, EXISTS, DOES_NOT_EXIST)


def _values(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


@attrs.frozen
class Requirement:
    """One ``matchExpressions`` entry (``matchLabels`` pairs become ``In`` with one value)."""

    key: str
    operator: str
    values: tuple[str, ...] = attrs.field(default=(), converter=_values)

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == IN:
            return labels.get(self.key) in self.values
        if self.operator == NOT_IN:
            return labels.get(self.key) not in self.values
        if self.operator == EXISTS:
            return self.key in labels
        return self.key not in labels

    @property
    def query(self) -> str:
        """This requirement in ``?labelSelector=`` syntax."""
        if self.operator == EXISTS:
            return self.key
        if self.operator == DOES_NOT_EXIST:
            return f"!{self.key}"
        if self.operator == IN and len(self.values) == 1:
            return f"{self.key}={self.values[0]}"
        word = "in" if self.operator == IN else "notin"
        return f"{self.key} {word} ({','.join(self.values)})"


def _requirements(values: Iterable[Requirement]) -> tuple[Requirement, ...]:
    # Sorted and de-duplicated: two selectors that mean the same compare equal, so a config
    # rewritten with its expressions in another order changes nothing.
    return tuple(sorted(set(values), key=lambda r: (r.key, r.operator, r.values)))


@attrs.frozen
class LabelSelector:
    """A parsed label selector; ``requirements`` all hold for a match (empty: everything)."""

    requirements: tuple[Requirement, ...] = attrs.field(default=(), converter=_requirements)

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with ``labels`` (``None``: no labels) is selected."""
        found = labels or {}
        return all(requirement.matches(found) for requirement in self.requirements)

    @property
    def query(self) -> str:
        """The selector in ``?labelSelector=`` syntax (``""`` selects everything)."""
        return ",".join(requirement.query for requirement in self.requirements)

    def __str__(self) -> str:
        return self.query or "(every object)"

    def to_dict(self) -> dict[str, Any]:
        """The ``metav1.LabelSelector`` form, every requirement as a match expression."""
        return {
            "matchExpressions": [
                {
                    "key": r.key,
                    "operator": r.operator,
                    **({"values": list(r.values)} if r.values else {}),
                }
                for r in self.requirements
            ]
        }


def read_object_selector(
    reader: Reader, entry: Mapping[str, Any], path: str, *, key: str = "objectSelector"
) -> LabelSelector | None:
    """Field ``key`` of ``entry`` as a ``LabelSelector``; ``None`` when absent or wrong.

    Every problem is recorded on ``reader`` with its path.
    """
    value = entry.get(key)
    if value is None:
        return None
    here = child(path, key)
    before = len(reader.problems)
    selector = reader.mapping(value, here, fields=("matchLabels", "matchExpressions"))
    if selector is None:
        return None
    found: list[Requirement] = []
    match_labels = selector.get("matchLabels")
    labels_path = child(here, "matchLabels")
    if match_labels is not None and not isinstance(match_labels, Mapping):
        reader.problem(labels_path, f"must be an object, not {json_type(match_labels)}")
    elif match_labels is not None:
        for label, wanted in match_labels.items():
            label_path = child(labels_path, str(label))
            if not isinstance(wanted, str):
                reader.problem(label_path, f"must be a string, not {json_type(wanted)}")
                continue
            reader.check(label_path, str(label), names.label_key_problem)
            reader.check(label_path, wanted, names.label_value_problem)
            found.append(Requirement(str(label), IN, (wanted,)))
    for expr_path, expr in reader.array(selector, "matchExpressions", here):
        requirement = _expression(reader, expr, expr_path)
        if requirement is not None:
            found.append(requirement)
    if len(reader.problems) > before:
        return None
    return LabelSelector(found)


def _expression(reader: Reader, value: object, path: str) -> Requirement | None:
    expr = reader.mapping(
        value, path, fields=("key", "operator", "values"), required=("key", "operator")
    )
    if expr is None:
        return None
    key = reader.string(expr, "key", path, check=names.label_key_problem)
    operator = reader.string(expr, "operator", path)
    if operator is not None and operator not in OPERATORS:
        reader.problem(
            child(path, "operator"), f"{operator!r} is not one of {', '.join(OPERATORS)}"
        )
        return None
    values = reader.strings(expr, "values", path, check=names.label_value_problem)
    if operator in (IN, NOT_IN) and not values:
        reader.problem(child(path, "values"), f"{operator} needs at least one value")
        return None
    if operator in (EXISTS, DOES_NOT_EXIST) and values:
        reader.problem(child(path, "values"), f"{operator} takes no values")
        return None
    if key is None or operator is None:
        return None
    return Requirement(key, operator, values or ())
