"""The memory store behaves like the API server wherever the pipeline can tell.

Every case runs twice, on ``syncpipe.replay.memstore.MemoryApi`` and on a real
``kube-apiserver`` (through ``syncpipe.clients.rest.RestClient``): the memory store is only
trusted where both pass.
"""

from __future__ import annotations

from typing import Any

import pytest

from syncpipe import errors
from tests.contract.conftest import CM, NS, WITH_STATUS, WITHOUT_STATUS, ContractApi

GONE = "no-such-namespace-for-contract"


def configmap(api: ContractApi, name: str, data: dict[str, str], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": api.namespace, **meta},
        "data": data,
    }


def widget(api: ContractApi, name: str, plural: str = "widgets", **fields: Any) -> dict[str, Any]:
    kind = "Widget" if plural == "widgets" else "Gadget"
    return {
        "apiVersion": "contract.syncpipe.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": api.namespace},
        **fields,
    }


def rv(obj: dict[str, Any]) -> int:
    return int(obj["metadata"]["resourceVersion"])


def test_create_assigns_uid_resource_version_and_creation_timestamp(api):
    created = api.rest.create(CM, api.namespace, configmap(api, "a", {"k": "v"}))
    meta = created["metadata"]
    assert meta["uid"]
    assert rv(created) > 0
    assert meta["creationTimestamp"].endswith("Z")
    assert meta["namespace"] == api.namespace
    assert created["kind"] == "ConfigMap"
    assert created["apiVersion"] == "v1"
    assert created["data"] == {"k": "v"}


def test_get_returns_the_stored_object(api):
    created = api.rest.create(CM, api.namespace, configmap(api, "a", {"k": "v"}))
    got = api.rest.get(CM, api.namespace, "a")
    assert got["metadata"]["uid"] == created["metadata"]["uid"]
    assert got["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert got["data"] == {"k": "v"}


def test_get_of_a_missing_object_is_not_found_naming_the_resource(api):
    with pytest.raises(errors.ApiNotFound) as caught:
        api.rest.get(CM, api.namespace, "missing")
    assert caught.value.status == 404
    assert caught.value.reason == "NotFound"
    assert caught.value.details["kind"] == "configmaps"
    assert caught.value.details["name"] == "missing"
    assert api.rest.get_or_none(CM, api.namespace, "missing") is None


def test_resource_versions_grow_with_every_write_and_a_list_is_not_older_than_its_items(api):
    first = api.rest.create(CM, api.namespace, configmap(api, "a", {"k": "1"}))
    second = api.rest.create(CM, api.namespace, configmap(api, "b", {"k": "1"}))
    patched = api.rest.json_patch(
        CM, api.namespace, "a", [{"op": "replace", "path": "/data/k", "value": "2"}]
    )
    assert rv(first) < rv(second) < rv(patched)
    items, list_rv = api.rest.list(CM, api.namespace)
    assert {i["metadata"]["name"] for i in items} >= {"a", "b"}
    assert int(list_rv) >= max(rv(i) for i in items)
    again, _ = api.rest.list(CM, api.namespace, resource_version=list_rv)
    assert {i["metadata"]["name"] for i in again} == {i["metadata"]["name"] for i in items}


def test_list_with_a_label_selector_returns_only_matching_objects(api):
    api.rest.create(CM, api.namespace, configmap(api, "a", {}, labels={"team": "a", "tier": "x"}))
    api.rest.create(CM, api.namespace, configmap(api, "b", {}, labels={"team": "b"}))
    api.rest.create(CM, api.namespace, configmap(api, "c", {}))

    def names(selector: str) -> set[str]:
        items, _ = api.rest.list(CM, api.namespace, label_selector=selector)
        return {i["metadata"]["name"] for i in items} & {"a", "b", "c"}

    assert names("team=a") == {"a"}
    assert names("team") == {"a", "b"}
    assert names("!team") == {"c"}
    assert names("team!=a") == {"b", "c"}
    assert names("team in (a,b),tier=x") == {"a"}
    assert names("team notin (a)") == {"b", "c"}


def test_json_patch_replaces_and_adds_nested_fields(api):
    api.rest.create(CM, api.namespace, configmap(api, "a", {"k": "1"}, labels={"x": "1"}))
    patched = api.rest.json_patch(
        CM,
        api.namespace,
        "a",
        [
            {"op": "replace", "path": "/data/k", "value": "2"},
            {"op": "add", "path": "/data/new", "value": "3"},
            {"op": "add", "path": "/metadata/labels/y", "value": "2"},
            {"op": "add", "path": "/metadata/annotations", "value": {"a.io/b": "c"}},
            {"op": "add", "path": "/metadata/annotations/d.io~1e", "value": "f"},
            {"op": "remove", "path": "/metadata/labels/x"},
        ],
    )
    assert patched["data"] == {"k": "2", "new": "3"}
    assert patched["metadata"]["labels"] == {"y": "2"}
    assert patched["metadata"]["annotations"] == {"a.io/b": "c", "d.io/e": "f"}
    assert api.rest.get(CM, api.namespace, "a")["data"] == {"k": "2", "new": "3"}


def test_json_patch_leaves_the_previous_version_untouched(api):
    before = api.rest.create(CM, api.namespace, configmap(api, "a", {"k": "1"}))
    snapshot = {"data": dict(before["data"]), "rv": before["metadata"]["resourceVersion"]}
    api.rest.json_patch(
        CM, api.namespace, "a", [{"op": "replace", "path": "/data/k", "value": "2"}]
    )
    assert before["data"] == snapshot["data"]
    assert before["metadata"]["resourceVersion"] == snapshot["rv"]


def test_a_failed_test_operation_is_invalid(api):
    api.rest.create(CM, api.namespace, configmap(api, "a", {"k": "1"}))
    with pytest.raises(errors.ApiInvalid) as caught:
        api.rest.json_patch(
            CM,
            api.namespace,
            "a",
            [
                {"op": "test", "path": "/data/k", "value": "other"},
                {"op": "replace", "path": "/data/k", "value": "2"},
            ],
        )
    assert caught.value.status == 422
    assert api.rest.get(CM, api.namespace, "a")["data"] == {"k": "1"}


def test_a_patch_of_a_missing_path_is_invalid(api):
    api.rest.create(CM, api.namespace, configmap(api, "a", {"k": "1"}))
    with pytest.raises(errors.ApiInvalid):
        api.rest.json_patch(
            CM, api.namespace, "a", [{"op": "replace", "path": "/data/absent/deeper", "value": "x"}]
        )
    with pytest.raises(errors.ApiInvalid):
        api.rest.json_patch(CM, api.namespace, "a", [{"op": "remove", "path": "/data/absent"}])


def test_a_patch_carrying_a_stale_resource_version_conflicts(api):
    created = api.rest.create(CM, api.namespace, configmap(api, "a", {"k": "1"}))
    api.rest.json_patch(
        CM, api.namespace, "a", [{"op": "replace", "path": "/data/k", "value": "2"}]
    )
    stale = created["metadata"]["resourceVersion"]
    with pytest.raises(errors.ApiConflict) as caught:
        api.rest.json_patch(
            CM,
            api.namespace,
            "a",
            [
                {"op": "replace", "path": "/metadata/resourceVersion", "value": stale},
                {"op": "replace", "path": "/data/k", "value": "3"},
            ],
        )
    assert caught.value.status == 409
    assert not isinstance(caught.value, errors.ApiAlreadyExists)


def test_an_update_with_a_stale_resource_version_conflicts(api):
    created = api.rest.create(CM, api.namespace, configmap(api, "a", {"k": "1"}))
    current = api.rest.replace(CM, api.namespace, "a", {**created, "data": {"k": "2"}})
    assert current["data"] == {"k": "2"}
    with pytest.raises(errors.ApiConflict):
        api.rest.replace(CM, api.namespace, "a", {**created, "data": {"k": "3"}})


def test_a_second_create_is_already_exists(api):
    api.rest.create(CM, api.namespace, configmap(api, "a", {}))
    with pytest.raises(errors.ApiAlreadyExists) as caught:
        api.rest.create(CM, api.namespace, configmap(api, "a", {}))
    assert caught.value.status == 409
    assert caught.value.reason == "AlreadyExists"
    assert caught.value.details["kind"] == "configmaps"


def test_a_create_in_a_missing_namespace_is_not_found_naming_namespaces(api):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {}}
    with pytest.raises(errors.ApiNotFound) as caught:
        api.rest.create(CM, GONE, body)
    assert caught.value.details["kind"] == "namespaces"
    assert caught.value.details["name"] == GONE


def test_a_new_namespace_carries_the_kubernetes_finalizer(api):
    name = f"{api.namespace}-new"
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    created = api.rest.create(NS, "", body)
    try:
        assert created["spec"] == {"finalizers": ["kubernetes"]}
        assert api.rest.get(NS, "", name)["spec"] == {"finalizers": ["kubernetes"]}
    finally:
        api.rest.delete(NS, "", name)


def test_a_create_without_a_name_is_invalid(api):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}, "data": {}}
    with pytest.raises(errors.ApiInvalid):
        api.rest.create(CM, api.namespace, body)


def test_an_unserved_resource_is_not_found(api):
    from syncpipe.model.resources import GroupVersionResource

    nothing = GroupVersionResource("nothing.syncpipe.io", "v1", "things")
    with pytest.raises(errors.ApiNotFound):
        api.rest.list(nothing, api.namespace)
    with pytest.raises(errors.ApiNotFound):
        api.rest.create(
            nothing,
            api.namespace,
            {"apiVersion": "nothing.syncpipe.io/v1", "kind": "Thing", "metadata": {"name": "a"}},
        )


def test_delete_with_a_wrong_uid_precondition_conflicts_and_with_the_right_one_deletes(api):
    created = api.rest.create(CM, api.namespace, configmap(api, "a", {}))
    with pytest.raises(errors.ApiConflict) as caught:
        api.rest.delete(CM, api.namespace, "a", uid="00000000-0000-0000-0000-000000000000")
    assert caught.value.status == 409
    assert api.rest.get_or_none(CM, api.namespace, "a") is not None
    api.rest.delete(CM, api.namespace, "a", uid=created["metadata"]["uid"])
    assert api.rest.get_or_none(CM, api.namespace, "a") is None
    with pytest.raises(errors.ApiNotFound):
        api.rest.delete(CM, api.namespace, "a")


def test_a_create_drops_status_where_the_resource_has_a_status_subresource(api):
    created = api.rest.create(
        WITH_STATUS, api.namespace, widget(api, "w", spec={"size": 1}, status={"phase": "x"})
    )
    assert not created.get("status")
    plain = api.rest.create(
        WITHOUT_STATUS,
        api.namespace,
        widget(api, "g", "gadgets", spec={"size": 1}, status={"phase": "x"}),
    )
    assert plain["status"] == {"phase": "x"}


def test_writes_to_the_main_resource_ignore_status_and_writes_to_status_change_only_status(api):
    api.rest.create(WITH_STATUS, api.namespace, widget(api, "w", spec={"size": 1}))
    status_set = api.rest.json_patch(
        WITH_STATUS,
        api.namespace,
        "w",
        [
            {"op": "add", "path": "/status", "value": {"phase": "ready"}},
            {"op": "replace", "path": "/spec/size", "value": 9},
        ],
        subresource="status",
    )
    assert status_set["status"] == {"phase": "ready"}
    assert status_set["spec"] == {"size": 1}
    main = api.rest.json_patch(
        WITH_STATUS,
        api.namespace,
        "w",
        [
            {"op": "replace", "path": "/status/phase", "value": "hacked"},
            {"op": "replace", "path": "/spec/size", "value": 2},
        ],
    )
    assert main["status"] == {"phase": "ready"}
    assert main["spec"] == {"size": 2}


def test_without_a_status_subresource_status_is_an_ordinary_field(api):
    api.rest.create(WITHOUT_STATUS, api.namespace, widget(api, "g", "gadgets", spec={"size": 1}))
    patched = api.rest.json_patch(
        WITHOUT_STATUS,
        api.namespace,
        "g",
        [{"op": "add", "path": "/status", "value": {"phase": "x"}}],
    )
    assert patched["status"] == {"phase": "x"}
    with pytest.raises(errors.ApiNotFound):
        api.rest.json_patch(
            WITHOUT_STATUS,
            api.namespace,
            "g",
            [{"op": "replace", "path": "/status/phase", "value": "y"}],
            subresource="status",
        )


def test_generation_counts_spec_changes_only(api):
    created = api.rest.create(WITH_STATUS, api.namespace, widget(api, "w", spec={"size": 1}))
    assert created["metadata"]["generation"] == 1
    labelled = api.rest.json_patch(
        WITH_STATUS,
        api.namespace,
        "w",
        [{"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}],
    )
    assert labelled["metadata"]["generation"] == 1
    with_status = api.rest.json_patch(
        WITH_STATUS,
        api.namespace,
        "w",
        [{"op": "add", "path": "/status", "value": {"phase": "x"}}],
        subresource="status",
    )
    assert with_status["metadata"]["generation"] == 1
    resized = api.rest.json_patch(
        WITH_STATUS, api.namespace, "w", [{"op": "replace", "path": "/spec/size", "value": 2}]
    )
    assert resized["metadata"]["generation"] == 2


def test_writes_cannot_change_server_assigned_metadata(api):
    created = api.rest.create(CM, api.namespace, configmap(api, "a", {}))
    patched = api.rest.json_patch(
        CM,
        api.namespace,
        "a",
        [
            {"op": "add", "path": "/metadata/creationTimestamp", "value": "2000-01-01T00:00:00Z"},
            {"op": "add", "path": "/data", "value": {"k": "v"}},
        ],
    )
    assert patched["metadata"]["creationTimestamp"] == created["metadata"]["creationTimestamp"]
    assert patched["data"] == {"k": "v"}
    with pytest.raises(errors.ApiInvalid):
        api.rest.json_patch(
            CM, api.namespace, "a", [{"op": "replace", "path": "/metadata/uid", "value": "forged"}]
        )
    with pytest.raises(errors.ApiError) as caught:
        api.rest.json_patch(
            CM, api.namespace, "a", [{"op": "replace", "path": "/metadata/name", "value": "b"}]
        )
    assert caught.value.status == 400


def test_a_create_carrying_a_resource_version_is_refused(api):
    body = configmap(api, "a", {}, resourceVersion="5")
    with pytest.raises(errors.ApiServerError):
        api.rest.create(CM, api.namespace, body)


def test_a_malformed_patch_operation_is_invalid(api):
    api.rest.create(CM, api.namespace, configmap(api, "a", {"k": "1"}))
    for ops in ([{"op": "bogus", "path": "/data"}], [{"path": "/data"}]):
        with pytest.raises(errors.ApiInvalid):
            api.rest.json_patch(CM, api.namespace, "a", ops)


def test_a_malformed_label_selector_is_a_bad_request(api):
    with pytest.raises(errors.ApiError) as caught:
        api.rest.list(CM, api.namespace, label_selector="a in (b")
    assert caught.value.status == 400
