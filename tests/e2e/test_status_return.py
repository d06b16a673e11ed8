"""KubeStellar's e2e scenarios 4.8 and 4.9: downstream ``.status`` returns upstream.

4.8's downstream had no controllers, so the test wrote a Deployment's status itself; here the
downstream runs kube-controller-manager, which owns a Deployment's status, so the Deployment
part waits for the status the controller writes, and the "set it explicitly, twice" part is
done on a custom resource through its ``/status`` subresource.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import helpers as h

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]


def _statuses_equal(up_rest, down_rest, gvr, ns: str, name: str) -> dict[str, Any] | None:
    """Both statuses read now; the (non-empty) downstream one when they deep-equal."""
    down = (down_rest.get(gvr, ns, name) or {}).get("status")
    up = (up_rest.get(gvr, ns, name) or {}).get("status")
    return down if down and down == up else None


def test_deployment_status_written_downstream_returns_upstream(
    syncer_cli, up_rest, down_rest, unique_name
):
    """4.8: the Deployment's status (by the downstream controller) deep-equals upstream."""
    ns = unique_name
    syncer_cli()
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.syncer_config(
            unique_name,
            {
                "namespaceScope": {
                    "namespaces": [ns],
                    "resources": [h.resource("apps", "deployments")],
                }
            },
        ),
    )
    up_rest.create(h.NS, "", h.namespace(ns, unique_name))
    up_rest.create(h.DEPLOY, ns, h.deployment(ns, "busybox", unique_name))
    h.wait_get(down_rest, h.NS, "", ns)
    h.wait_field(
        down_rest,
        h.DEPLOY,
        ns,
        "busybox",
        lambda o: (o.get("status") or {}).get("observedGeneration"),
        timeout=h.SLOW_TIMEOUT,
        what="status written by the deployment controller",
    )
    status = h.wait_until(
        lambda: _statuses_equal(up_rest, down_rest, h.DEPLOY, ns, "busybox"),
        timeout=h.SLOW_TIMEOUT,
        message="upstream Deployment status never equalled the downstream one",
    )
    assert status.get("observedGeneration") == 1


def _status_fixture(syncer_cli, up_rest, down_rest, unique_name) -> dict[str, Any]:
    """4.9's objects: ``Sample`` without and ``SampleSubresource`` with a status subresource."""
    group = h.group_for(unique_name)
    syncer_cli()
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.syncer_config(
            unique_name,
            {
                "clusterScope": [
                    {
                        **h.resource("apiextensions.k8s.io", "customresourcedefinitions"),
                        "objects": [f"samples.{group}", f"samplesubresources.{group}"],
                    },
                    {
                        **h.resource(group, "samples", "v1alpha1"),
                        "objects": ["sample", "sample-plain"],
                    },
                    {
                        **h.resource(group, "samplesubresources", "v1alpha1"),
                        "objects": ["sample-subresource"],
                    },
                ]
            },
        ),
    )
    samples = h.create_crd_and_wait(
        up_rest, h.crd(group, "samples", "Sample", unique_name, status_subresource=False)
    )
    subresources = h.create_crd_and_wait(
        up_rest, h.crd(group, "samplesubresources", "SampleSubresource", unique_name)
    )
    spec = {"foo": "bar downsync"}
    up_rest.create(
        samples,
        "",
        h.custom_object(
            group, "Sample", "sample", unique_name, spec=spec, annotations={h.OVERWRITE: "false"}
        ),
    )
    up_rest.create(
        samples, "", h.custom_object(group, "Sample", "sample-plain", unique_name, spec=spec)
    )
    up_rest.create(
        subresources,
        "",
        h.custom_object(group, "SampleSubresource", "sample-subresource", unique_name, spec=spec),
    )
    for gvr, name in (
        (samples, "sample"),
        (samples, "sample-plain"),
        (subresources, "sample-subresource"),
    ):
        h.wait_get(down_rest, gvr, "", name)
    return {"samples": samples, "subresources": subresources}


def _upstream_status_is(up_rest, gvr, name: str, status: dict[str, Any]) -> None:
    h.wait_until(
        lambda: up_rest.get(gvr, "", name).get("status") == status,
        timeout=h.SYNC_TIMEOUT,
        interval=1.0,
        message=lambda: (
            f"upstream {gvr.resource} {name}: status {up_rest.get(gvr, '', name).get('status')!r}"
            f", want {status!r}"
        ),
    )


def test_custom_resource_status_set_through_status_subresource_returns_upstream_each_time(
    syncer_cli, up_rest, down_rest, unique_name
):
    """4.8's two successive UpdateStatus calls, on a CR with ``/status``: full map equality."""
    found = _status_fixture(syncer_cli, up_rest, down_rest, unique_name)
    gvr = found["subresources"]
    for status in ({"state": "pass", "total": 1}, {"state": "pass2", "total": 2}):
        obj = down_rest.get(gvr, "", "sample-subresource")
        obj["status"] = status
        remembered = down_rest.replace(gvr, "", "sample-subresource", obj, subresource="status")
        assert remembered["status"] == status
        _upstream_status_is(up_rest, gvr, "sample-subresource", remembered["status"])


def test_status_of_kind_without_status_subresource_returns_through_main_resource(
    syncer_cli, up_rest, down_rest, unique_name
):
    """4.9: Update (no /status) on ``Sample``, UpdateStatus on ``SampleSubresource``."""
    found = _status_fixture(syncer_cli, up_rest, down_rest, unique_name)
    samples, subresources = found["samples"], found["subresources"]
    passed = {"state": "pass"}
    for name in ("sample", "sample-plain"):
        obj = down_rest.get(samples, "", name)
        obj["status"] = passed
        assert down_rest.replace(samples, "", name, obj)["status"] == passed
    obj = down_rest.get(subresources, "", "sample-subresource")
    obj["status"] = passed
    down_rest.replace(subresources, "", "sample-subresource", obj, subresource="status")

    for gvr, name in (
        (samples, "sample"),
        (samples, "sample-plain"),
        (subresources, "sample-subresource"),
    ):
        _upstream_status_is(up_rest, gvr, name, passed)
    # The status that came back up is not pushed down again over the downstream one.
    for name in ("sample", "sample-plain"):
        copy = down_rest.get(samples, "", name)
        assert copy.get("status") == passed
        assert copy["spec"] == {"foo": "bar downsync"}
