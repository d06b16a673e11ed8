"""Denaturing schemes are reversible: renature(denature(x)) == x, unwrap(wrap(x)) == x."""

from hypothesis import given
from hypothesis import strategies as st

from syncpipe.builtin import carrier, renature
from syncpipe.config import syncerconfig
from syncpipe.config.mergedselection import Selection
from syncpipe.hooks.context import SyncContext

NAMES = st.from_regex(r"\A[a-z]([-a-z0-9]{0,20}[a-z0-9])?\Z")
DATA = st.dictionaries(NAMES, st.text(max_size=10), max_size=4)

EDGE_SYNC_CONFIG = {
    "apiVersion": "edge.kubestellar.io/v2alpha1",
    "kind": "EdgeSyncConfig",
    "metadata": {"name": "kyverno"},
    "spec": {
        "conversions": [
            {
                "upstream": {
                    "kind": "CustomResourceDefinition",
                    "group": "apiextensions.k8s.io",
                    "version": "v1",
                    "name": "policyreports.wgpolicyk8s.io.denatured",
                },
                "downstream": {
                    "kind": "CustomResourceDefinition",
                    "group": "apiextensions.k8s.io",
                    "version": "v1",
                    "name": "policyreports.wgpolicyk8s.io",
                },
            },
            {
                "upstream": {
                    "kind": "PolicyReport",
                    "group": "wgpolicyk8s.io.denatured",
                    "version": "v1alpha2",
                    "name": "*",
                },
                "downstream": {
                    "kind": "PolicyReport",
                    "group": "wgpolicyk8s.io",
                    "version": "v1alpha2",
                    "name": "*",
                },
            },
        ]
    },
}


def ctx() -> SyncContext:
    selection = Selection.from_configs([syncerconfig.parse_config(EDGE_SYNC_CONFIG)])
    return SyncContext(syncer_name="s", selection=selection)


def live_crd() -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "policyreports.wgpolicyk8s.io"},
        "spec": {"group": "wgpolicyk8s.io", "names": {"plural": "policyreports"}},
    }


def test_the_denatured_crd_renatures_with_its_group_and_back():
    c = ctx()
    denatured = renature.denature(live_crd(), c)
    assert denatured["metadata"]["name"] == "policyreports.wgpolicyk8s.io.denatured"
    assert denatured["spec"]["group"] == "wgpolicyk8s.io.denatured"
    assert renature.renature(denatured, c) == live_crd()


@given(NAMES, NAMES, DATA)
def test_renature_of_denature_is_identity_for_matching_custom_resources(name, namespace, spec):
    c = ctx()
    report = {
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "PolicyReport",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    denatured = renature.denature(report, c)
    assert denatured["apiVersion"] == "wgpolicyk8s.io.denatured/v1alpha2"
    assert renature.renature(denatured, c) == report


def test_objects_matching_no_rule_are_untouched_even_core_ones():
    c = ctx()
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    assert renature.renature(cm, c) is cm
    assert renature.denature(cm, c) is cm


@given(NAMES, st.one_of(st.just(""), NAMES), DATA)
def test_unwrap_of_wrap_is_identity(name, namespace, data):
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
    if namespace:
        obj["metadata"]["namespace"] = namespace
    assert carrier.unwrap(carrier.wrap(obj, namespace=namespace)) == obj


def test_a_namespaced_carrier_puts_a_namespace_less_object_in_its_own_namespace():
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"}}
    wrapped = carrier.wrap(role, namespace="apps")
    assert carrier.unwrap(wrapped)["metadata"] == {"name": "r", "namespace": "apps"}
