"""KubeStellar's syncer e2e scenarios 4.1-4.4 and 4.6, run against ``syncpipe run``.

Each test runs its own ``syncpipe run`` subprocess (named after the test) and uses its own
namespaces and its own API group for CRDs (``<unique_name>.my.domain``), so tests never share
objects; the original's names (``test``, ``sampledownsyncs.my.domain``, ...) keep their role.
Upsync assertions are separate tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import helpers as h

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]


# -- 4.2 / 4.3 / 4.4: SyncerConfig with namespaceScope, clusterScope, namespacedObjects, upsync --


def _syncer_config_spec(variant: str, ns: str, group: str) -> dict[str, Any]:
    crd_names = [f"sampleupsyncs.{group}", f"sampledownsyncs.{group}"]
    objects = ["sample-downsync"] if variant == "named" else ["*"]
    upsync_names = ["sample-upsync"] if variant == "named" else ["*"]
    spec: dict[str, Any] = {
        "clusterScope": [
            {
                **h.resource("apiextensions.k8s.io", "customresourcedefinitions"),
                "objects": crd_names,
            },
            {**h.resource(group, "sampledownsyncs", "v1alpha1"), "objects": objects},
        ],
        "upsync": [{"apiGroup": group, "resources": ["sampleupsyncs"], "names": upsync_names}],
    }
    if variant == "namespaced-objects":
        # Only there to make the namespace required downstream (as in the original's testdata).
        spec["namespacedObjects"] = [
            {
                **h.resource("", "configmaps"),
                "objectsByNamespace": [{"namespace": ns, "names": [f"sampleupsyncs.{group}"]}],
            }
        ]
    else:
        spec["namespaceScope"] = {"namespaces": [ns], "resources": [h.resource("", "configmaps")]}
    return spec


def _downsync_scenario(variant: str, syncer_cli, up_rest, down_rest, unique_name) -> dict[str, Any]:
    """Steps 1-6 of the shared body of 4.2-4.4; returns what the upsync part needs."""
    ns, group = unique_name, h.group_for(unique_name)
    syncer_cli()
    up_rest.create(
        h.SYNCER_CONFIGS, "", h.syncer_config(unique_name, _syncer_config_spec(variant, ns, group))
    )
    up_rest.create(h.NS, "", h.namespace(ns, unique_name))
    upsyncs = h.create_crd_and_wait(
        up_rest, h.crd(group, "sampleupsyncs", "SampleUpsync", unique_name)
    )
    downsyncs = h.create_crd_and_wait(
        up_rest, h.crd(group, "sampledownsyncs", "SampleDownsync", unique_name)
    )
    up_rest.create(
        downsyncs,
        "",
        h.custom_object(
            group, "SampleDownsync", "sample-downsync", unique_name, spec={"foo": "bar downsync"}
        ),
    )
    up_rest.create(
        downsyncs,
        "",
        h.custom_object(group, "SampleDownsync", "sample-other", unique_name, spec={"foo": "x"}),
    )

    h.wait_get(down_rest, h.NS, "", ns)
    h.wait_get(down_rest, h.CRD, "", f"sampleupsyncs.{group}")
    h.wait_get(down_rest, h.CRD, "", f"sampledownsyncs.{group}")
    copy = h.wait_get(down_rest, downsyncs, "", "sample-downsync")
    return {"ns": ns, "group": group, "upsyncs": upsyncs, "downsyncs": downsyncs, "copy": copy}


@pytest.mark.parametrize("variant", ["named", "wildcard", "namespaced-objects"])
def test_syncer_config_downsyncs_namespace_crds_and_custom_resource(
    variant, syncer_cli, up_rest, down_rest, unique_name
):
    """4.2 (named objects), 4.3 (``"*"`` objects), 4.4 (namespace required by namespacedObjects)."""
    found = _downsync_scenario(variant, syncer_cli, up_rest, down_rest, unique_name)
    copy = found["copy"]
    assert copy["spec"] == {"foo": "bar downsync"}
    assert h.annotation(copy, h.DOWNSYNCED) == "SampleDownsync//sample-downsync"
    downsyncs = found["downsyncs"]
    if variant == "named":
        # Check once, as the original does for what must not be synced.
        assert down_rest.get_or_none(downsyncs, "", "sample-other") is None
    else:
        h.wait_get(down_rest, downsyncs, "", "sample-other")
    # The downsynced CRD serves the API downstream (it was copied whole, not just its name).
    crd_copy = down_rest.get(h.CRD, "", f"sampledownsyncs.{found['group']}")
    assert crd_copy["spec"]["scope"] == "Cluster"
    assert h.annotation(crd_copy, h.DOWNSYNCED) == (
        f"CustomResourceDefinition//sampledownsyncs.{found['group']}"
    )


@pytest.mark.parametrize("variant", ["named", "wildcard"])
def test_syncer_config_upsyncs_created_and_updated_custom_resource(
    variant, syncer_cli, up_rest, down_rest, unique_name
):
    """4.2/4.3 steps 7-10: an object created downstream appears upstream, and so do its updates."""
    found = _downsync_scenario(variant, syncer_cli, up_rest, down_rest, unique_name)
    upsyncs = found["upsyncs"]
    # The CRD copy must be served downstream before an object of it can be created there.
    h.create_when_served(
        down_rest,
        upsyncs,
        h.custom_object(
            found["group"], "SampleUpsync", "sample-upsync", unique_name, spec={"foo": "bar upsync"}
        ),
    )
    upsynced = h.wait_get(up_rest, upsyncs, "", "sample-upsync", where="upstream")
    assert upsynced["spec"] == {"foo": "bar upsync"}

    obj = down_rest.get(upsyncs, "", "sample-upsync")
    obj["spec"]["foo"] = "bar update"
    down_rest.replace(upsyncs, "", "sample-upsync", obj)
    h.wait_field(
        up_rest,
        upsyncs,
        "",
        "sample-upsync",
        lambda o: o.get("spec", {}).get("foo") == "bar update",
        where="upstream",
        what="spec.foo == 'bar update'",
    )


# -- 4.1: legacy EdgeSyncConfig ------------------------------------------------------------------


def _edge_sync_config_scenario(syncer_cli, up_rest, down_rest, unique_name) -> dict[str, Any]:
    ns, group = unique_name, h.group_for(unique_name)
    syncer_cli()
    # The original's default EdgeSyncConfig (empty spec, made by syncer-gen) coexists.
    up_rest.create(h.EDGE_SYNC_CONFIGS, "", h.edge_sync_config(f"{unique_name}-default", {}))
    up_rest.create(
        h.EDGE_SYNC_CONFIGS,
        "",
        h.edge_sync_config(
            unique_name,
            {
                "downSyncedResources": [
                    {"kind": "Namespace", "name": ns, "version": "v1"},
                    {"kind": "ConfigMap", "name": "test", "namespace": ns, "version": "v1"},
                    {
                        "group": "apiextensions.k8s.io",
                        "kind": "CustomResourceDefinition",
                        "name": f"samples.{group}",
                        "version": "v1",
                    },
                    {
                        "group": group,
                        "kind": "Sample",
                        "name": "sample-downsync",
                        "version": "v1alpha1",
                    },
                ],
                "upSyncedResources": [
                    {
                        "group": group,
                        "kind": "Sample",
                        "name": "sample-upsync",
                        "version": "v1alpha1",
                    }
                ],
            },
        ),
    )
    up_rest.create(h.NS, "", h.namespace(ns, unique_name))
    samples = h.create_crd_and_wait(up_rest, h.crd(group, "samples", "Sample", unique_name))
    up_rest.create(
        samples,
        "",
        h.custom_object(
            group, "Sample", "sample-downsync", unique_name, spec={"foo": "bar downsync"}
        ),
    )
    h.wait_get(down_rest, h.NS, "", ns)
    h.wait_get(down_rest, h.CRD, "", f"samples.{group}")
    copy = h.wait_get(down_rest, samples, "", "sample-downsync")
    return {"ns": ns, "group": group, "samples": samples, "copy": copy}


def test_edge_sync_config_downsyncs_namespace_crd_and_custom_resource(
    syncer_cli, up_rest, down_rest, unique_name
):
    """4.1 steps 1-4: all EdgeSyncConfigs are merged; named Namespace, CRD and CR arrive."""
    found = _edge_sync_config_scenario(syncer_cli, up_rest, down_rest, unique_name)
    assert found["copy"]["spec"] == {"foo": "bar downsync"}
    assert h.annotation(found["copy"], h.DOWNSYNCED) == "Sample//sample-downsync"
    assert h.annotation(down_rest.get(h.NS, "", found["ns"]), h.DOWNSYNCED) == (
        f"Namespace//{found['ns']}"
    )


def test_edge_sync_config_upsyncs_named_custom_resource(
    syncer_cli, up_rest, down_rest, unique_name
):
    """4.1 steps 5-6: ``Sample sample-upsync`` created downstream appears upstream."""
    found = _edge_sync_config_scenario(syncer_cli, up_rest, down_rest, unique_name)
    h.create_when_served(
        down_rest,
        found["samples"],
        h.custom_object(
            found["group"], "Sample", "sample-upsync", unique_name, spec={"foo": "bar upsync"}
        ),
    )
    upsynced = h.wait_get(up_rest, found["samples"], "", "sample-upsync", where="upstream")
    assert upsynced["spec"] == {"foo": "bar upsync"}


# -- 4.6: namespaceScope and namespacedObjects together ------------------------------------------


def test_namespaced_objects_sync_exactly_the_selected_objects_and_namespaces(
    syncer_cli, up_rest, down_rest, unique_name
):
    """4.6: which objects and namespaces appear downstream, and which must not."""
    t1, t2, t3, nope = (f"{unique_name}-{s}" for s in ("test1", "test2", "test3", "nosync"))
    syncer_cli()
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.syncer_config(
            unique_name,
            {
                "namespaceScope": {
                    "namespaces": [t1],
                    "resources": [h.resource("", "configmaps"), h.resource("", "secrets")],
                },
                "namespacedObjects": [
                    {
                        **h.resource("", "configmaps"),
                        "objectsByNamespace": [
                            {"namespace": t2, "names": ["cm1"]},
                            {"namespace": t3, "names": []},
                            {"namespace": nope, "names": []},
                        ],
                    },
                    {
                        **h.resource("", "secrets"),
                        "objectsByNamespace": [
                            {"namespace": t2, "names": []},
                            {"namespace": t3, "names": ["s1"]},
                            {"namespace": nope, "names": []},
                        ],
                    },
                ],
            },
        ),
    )
    for ns in (t1, t2, t3, nope):
        up_rest.create(h.NS, "", h.namespace(ns, unique_name))
    value = {"field1": "value1"}
    for ns, name in (
        (t1, "cm1"),
        (t1, "cm2"),
        (t2, "cm1"),
        (t2, "cm2"),
        (t3, "cm1"),
        (nope, "cm1"),
    ):
        up_rest.create(h.CM, ns, h.configmap(ns, name, value, unique_name))
    secret_data = {"field1": "dmFsdWUxCg=="}
    for ns in (t1, t2, t3, nope):
        up_rest.create(h.SECRETS, ns, h.secret(ns, "s1", secret_data, unique_name))

    for ns in (t1, t2, t3):
        h.wait_get(down_rest, h.NS, "", ns)
    for ns, name in ((t1, "cm1"), (t1, "cm2"), (t2, "cm1")):
        assert h.wait_get(down_rest, h.CM, ns, name)["data"] == value
    for ns in (t1, t3):
        assert h.wait_get(down_rest, h.SECRETS, ns, "s1")["data"] == secret_data

    # Check once (as the original): what was not selected is not there.
    assert down_rest.get_or_none(h.NS, "", nope) is None
    assert down_rest.get_or_none(h.CM, t2, "cm2") is None
    assert down_rest.get_or_none(h.CM, t3, "cm1") is None
    assert down_rest.get_or_none(h.SECRETS, t2, "s1") is None
