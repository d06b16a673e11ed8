"""Hypothesis strategies for parsed configs.

Values come from deliberately small alphabets (three namespaces, three names, a wildcard in
each) so that generated configs overlap often: merge properties are only interesting when
configs select the same objects.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st

from syncpipe.config.edgesyncconfig import Conversion, EdgeSyncConfig, EdgeSyncResource
from syncpipe.config.syncerconfig import (
    ClusterScopeObjects,
    DownsyncResource,
    NamespaceAndNames,
    NamespacedObjects,
    NamespaceScope,
    SyncerConfig,
    UpsyncSet,
)

# Timings on shared machines vary too much for hypothesis' per-example deadline; benchmarks,
# not tests, are where time is measured.
no_deadline = settings(deadline=None)

GROUPS = ("", "apps", "cheese.testing.k8s.io")
VERSIONS = ("v1", "v1beta1", "v2alpha1")
PLURALS = ("configmaps", "secrets", "namespaces", "cheddars")
KINDS = ("ConfigMap", "Secret", "Namespace", "Cheddar")
NAMESPACES = ("ns-a", "ns-b", "kube-system")
OBJECT_NAMES = ("x", "y", "kyverno:view")
CONFIG_NAMES = ("one", "two", "three")

groups = st.sampled_from(GROUPS)
versions = st.sampled_from(VERSIONS)
plurals = st.sampled_from((*PLURALS, "*"))
namespaces = st.sampled_from((*NAMESPACES, "*"))
object_names = st.sampled_from((*OBJECT_NAMES, "*"))


def small_tuples(elements: st.SearchStrategy[str], max_size: int = 3) -> st.SearchStrategy:
    return st.lists(elements, max_size=max_size).map(tuple)


downsync_resources = st.builds(DownsyncResource, group=groups, version=versions, resource=plurals)

namespace_scopes = st.builds(
    NamespaceScope,
    namespaces=small_tuples(namespaces),
    resources=st.lists(downsync_resources, max_size=2).map(tuple),
)

namespaced_objects = st.builds(
    NamespacedObjects,
    resource=downsync_resources,
    objects_by_namespace=st.lists(
        st.builds(NamespaceAndNames, namespaces, small_tuples(object_names)), max_size=2
    ).map(tuple),
)

cluster_scope_objects = st.builds(
    ClusterScopeObjects,
    resource=downsync_resources,
    objects=st.none() | small_tuples(object_names),
)

upsync_sets = st.builds(
    UpsyncSet,
    api_group=groups,
    resources=small_tuples(plurals, max_size=2),
    namespaces=small_tuples(namespaces, max_size=2),
    names=small_tuples(object_names, max_size=2),
)

syncer_configs = st.builds(
    SyncerConfig,
    name=st.sampled_from(CONFIG_NAMES),
    namespace_scope=namespace_scopes,
    namespaced_objects=st.lists(namespaced_objects, max_size=2).map(tuple),
    cluster_scope=st.lists(cluster_scope_objects, max_size=2).map(tuple),
    upsync=st.lists(upsync_sets, max_size=2).map(tuple),
)

edge_sync_resources = st.builds(
    EdgeSyncResource,
    kind=st.sampled_from(KINDS),
    name=object_names,
    group=groups,
    version=st.sampled_from(("", *VERSIONS)),
    namespace=st.sampled_from(("", *NAMESPACES, "*")),
)

edge_sync_configs = st.builds(
    EdgeSyncConfig,
    name=st.sampled_from(CONFIG_NAMES),
    down_synced=st.lists(edge_sync_resources, max_size=3).map(tuple),
    up_synced=st.lists(edge_sync_resources, max_size=2).map(tuple),
    conversions=st.lists(
        st.builds(Conversion, edge_sync_resources, edge_sync_resources), max_size=1
    ).map(tuple),
)

any_configs = syncer_configs | edge_sync_configs
config_lists = st.lists(any_configs, max_size=4)

# Objects to ask about: (group, resource, kind, namespace, name); namespace "" = cluster-scoped.
object_keys = st.tuples(
    groups,
    st.sampled_from(PLURALS),
    st.sampled_from(KINDS),
    st.sampled_from(("", *NAMESPACES)),
    st.sampled_from(OBJECT_NAMES),
)
