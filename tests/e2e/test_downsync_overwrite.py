"""KubeStellar's e2e scenario 4.5: ``edge.kubestellar.io/downsync-overwrite``, sub-tests 1-3.

Fixture (fresh for each sub-test, as in the original): ConfigMaps ``cm`` (plain) and
``cm-not-downsync-overwrite`` (annotated ``"false"``) in two namespaces, selected by
``namespacedObjects`` by name in the first namespace and by ``"*"`` in the second.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import helpers as h

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]

PLAIN = "cm"
FROZEN = "cm-not-downsync-overwrite"


def _overwrite_fixture(syncer_cli, up_rest, down_rest, unique_name) -> tuple[str, str]:
    test, test2 = f"{unique_name}-test", f"{unique_name}-test2"
    syncer_cli()
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.syncer_config(
            unique_name,
            {
                "namespacedObjects": [
                    {
                        **h.resource("", "configmaps"),
                        "objectsByNamespace": [
                            {"namespace": test, "names": [PLAIN, FROZEN]},
                            {"namespace": test2, "names": ["*"]},
                        ],
                    }
                ]
            },
        ),
    )
    for ns in (test, test2):
        up_rest.create(h.NS, "", h.namespace(ns, unique_name))
    for ns in (test, test2):
        up_rest.create(h.CM, ns, h.configmap(ns, PLAIN, {"field1": "value1"}, unique_name))
        up_rest.create(
            h.CM,
            ns,
            h.configmap(ns, FROZEN, {"field1": "value1"}, unique_name, {h.OVERWRITE: "false"}),
        )
    for ns in (test, test2):
        h.wait_get(down_rest, h.NS, "", ns)
        for name in (PLAIN, FROZEN):
            h.wait_get(down_rest, h.CM, ns, name)
    return test, test2


def _update_downstream(down_rest, ns: str, name: str, value: str) -> None:
    """GET + Update, as the original does (a full PUT of the edited object)."""
    obj: dict[str, Any] = down_rest.get(h.CM, ns, name)
    obj["data"]["field1"] = value
    down_rest.replace(h.CM, ns, name, obj)


def _field1(value: str):
    return lambda obj: (obj.get("data") or {}).get("field1") == value


def _annotated(value: str):
    return lambda obj: h.annotation(obj, h.OVERWRITE) == value


def _edit_all_and_check_reverts(down_rest, namespaces, value: str) -> None:
    for ns in namespaces:
        for name in (PLAIN, FROZEN):
            _update_downstream(down_rest, ns, name, value)
    for ns in namespaces:
        h.wait_field(down_rest, h.CM, ns, PLAIN, _field1("value1"), what="reverted to value1")
    for ns in namespaces:
        # Check once, as the original: the frozen copies keep the downstream edit.
        assert down_rest.get(h.CM, ns, FROZEN)["data"]["field1"] == value


def test_downsync_overwrite_downstream_edits_reverted_unless_overwrite_is_false(
    syncer_cli, up_rest, down_rest, unique_name
):
    """Sub-test 1: edits reverted; "false" keeps them; false->true re-imposes; true->false marks."""
    namespaces = _overwrite_fixture(syncer_cli, up_rest, down_rest, unique_name)
    _edit_all_and_check_reverts(down_rest, namespaces, "bar update")

    for ns in namespaces:
        assert h.annotation(up_rest.get(h.CM, ns, FROZEN), h.OVERWRITE) == "false"
        h.set_annotation(up_rest, h.CM, ns, FROZEN, h.OVERWRITE, "true")
    for ns in namespaces:
        h.wait_field(down_rest, h.CM, ns, FROZEN, _annotated("true"), what='annotation "true"')
        h.wait_field(down_rest, h.CM, ns, FROZEN, _field1("value1"), what="upstream re-imposed")

    for ns in namespaces:
        h.set_annotation(up_rest, h.CM, ns, FROZEN, h.OVERWRITE, "false")
    for ns in namespaces:
        h.wait_field(down_rest, h.CM, ns, FROZEN, _annotated("false"), what='annotation "false"')

    _edit_all_and_check_reverts(down_rest, namespaces, "bar update2")


def test_downsync_overwrite_false_copies_survive_upstream_deletion(
    syncer_cli, up_rest, down_rest, unique_name
):
    """Sub-test 2: upstream delete deletes plain copies and leaves the "false" ones."""
    namespaces = _overwrite_fixture(syncer_cli, up_rest, down_rest, unique_name)
    for ns in namespaces:
        for name in (PLAIN, FROZEN):
            up_rest.delete(h.CM, ns, name)
    for ns in namespaces:
        h.wait_gone(down_rest, h.CM, ns, PLAIN)
    for ns in namespaces:
        assert down_rest.get_or_none(h.CM, ns, FROZEN) is not None


def test_downsync_overwrite_flipped_to_true_copies_follow_upstream_deletion(
    syncer_cli, up_rest, down_rest, unique_name
):
    """Sub-test 3: after "false" -> "true" upstream, deleting upstream deletes every copy."""
    namespaces = _overwrite_fixture(syncer_cli, up_rest, down_rest, unique_name)
    for ns in namespaces:
        h.set_annotation(up_rest, h.CM, ns, FROZEN, h.OVERWRITE, "true")
    for ns in namespaces:
        h.wait_field(down_rest, h.CM, ns, FROZEN, _annotated("true"), what='annotation "true"')
    for ns in namespaces:
        for name in (PLAIN, FROZEN):
            up_rest.delete(h.CM, ns, name)
    for ns in namespaces:
        h.wait_gone(down_rest, h.CM, ns, FROZEN)
        h.wait_gone(down_rest, h.CM, ns, PLAIN)
