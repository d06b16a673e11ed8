"""Sample objects for the sink tests: a realistic Deployment and a ConfigMap, and JSON strategies.

The Deployment files in ``tests/data/sink`` are shaped as the API server serves them:
``deployment-live.json`` has every server default filled in (probe timings, port protocols,
``terminationMessagePath``, ``strategy``, ``dnsPolicy`` ...), ``managedFields`` and ``status``;
``deployment-desired.json`` is an upstream copy after the strip transform (so it carries the
upstream server's defaults too); ``deployment-manifest.json`` is what a user would apply.
"""

from __future__ import annotations

import copy
import json
import pathlib
from typing import Any

import jsonpatch
from hypothesis import strategies as st

from syncpipe.model.events import Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource

DATA = pathlib.Path(__file__).parents[2] / "data" / "sink"

DEPLOYMENT_KEY = ObjectKey(GroupVersionResource("apps", "v1", "deployments"), "shop", "checkout")
CONFIGMAP_KEY = ObjectKey(GroupVersionResource("", "v1", "configmaps"), "shop", "settings")
SIDE = Side.DOWNSTREAM


def load(name: str) -> dict[str, Any]:
    """A fresh copy of ``tests/data/sink/<name>.json``."""
    return json.loads((DATA / f"{name}.json").read_text())


def configmap(keys: int = 50, *, served: bool = False) -> dict[str, Any]:
    """A ConfigMap with ``keys`` data entries (``key-000``...); ``served`` adds server fields."""
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "shop", "labels": {"app": "shop"}},
        "data": {f"key-{i:03d}": f"value number {i}" for i in range(keys)},
    }
    if served:
        obj["metadata"].update(
            {
                "uid": "1d3c5e7f-0000-4000-8000-000000000001",
                "resourceVersion": "812",
                "creationTimestamp": "2024-05-02T09:14:31Z",
                "managedFields": [{"manager": "syncpipe", "operation": "Update"}],
            }
        )
    return obj


def apply(doc: Any, ops: Any) -> Any:
    """``doc`` with ``ops`` applied by jsonpatch (the reference implementation), ``doc`` kept."""
    return jsonpatch.apply_patch(copy.deepcopy(doc), list(ops))


def canonical(value: Any) -> str:
    """A type-exact text form: ``true`` and ``1`` differ here, unlike under ``==``."""
    return json.dumps(value, sort_keys=True)


# --- hypothesis strategies ---------------------------------------------------------------------

# Keys from a tiny alphabet so that collisions (same key in both documents) are common, with
# "/" and "~" so that JSON Pointer escaping is exercised, and "" (a legal, if odd, key).
keys = st.text(alphabet="ab/~1", max_size=3)

# Small ints and bools together, so that 1/True and 0/False meet often.
scalars = st.none() | st.booleans() | st.integers(-2, 2) | st.text(alphabet="xy", max_size=2)

json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=4),
    max_leaves=16,
)

json_objects = st.dictionaries(keys, json_values, max_size=4)


@st.composite
def mutated(draw: st.DrawFn, value: Any, *, top: bool = False) -> Any:
    """A value like ``value``: some nodes kept, some changed, added or dropped.

    With ``top``, ``value`` itself is never replaced (an object stays an object).
    """
    choice = draw(st.integers(1 if top else 0, 9))
    if choice == 0:
        return draw(json_values)
    if type(value) is dict:
        result = {}
        for key, child in value.items():
            action = draw(st.integers(0, 5))
            if action == 0:
                continue  # dropped
            result[key] = draw(mutated(child)) if action == 1 else child
        result.update(draw(st.dictionaries(keys, json_values, max_size=2)))
        return result
    if type(value) is list:
        if choice == 1:
            return [*value, draw(json_values)]
        return [draw(mutated(child)) for child in value]
    return value


@st.composite
def with_extras(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with extra dict members, as an API server's defaults or another writer add.

    Existing non-null members keep their value (recursively); a null member, which the diff
    reads as "no opinion", may come back with any value; list lengths never change.
    """
    if type(value) is dict:
        result = {}
        for key, child in value.items():
            result[key] = draw(json_values) if child is None else draw(with_extras(child))
        for key, extra in draw(st.dictionaries(keys, json_values, max_size=2)).items():
            result.setdefault(key, extra)
        return result
    if type(value) is list:
        return [draw(with_extras(child)) for child in value]
    return value
