"""Which resource holds objects of a kind, without asking a cluster where that can be known.

A SyncerConfig selects by *resource* (``deployments``), manifests say *kind*
(``Deployment``). Discovery knows the mapping, but converting a rendered chart should not
need a cluster, so:

* the kinds Kubernetes itself serves are in ``BUILTIN_KINDS`` (plural and scope, as the API
  server's discovery of 1.20 to 1.30 reports them; a kind keeps its plural and scope across
  versions and across the groups that served it, e.g. ``extensions`` and ``apps``);
* kinds defined by a CustomResourceDefinition come from the CRD's ``spec.names.plural``
  and ``spec.scope`` (``kind_of_crd``);
* anything else needs discovery (``ResourceInfo`` from a live cluster), which the caller may
  pass in; without it the kind is unknown, and the caller reports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from syncpipe.model.resources import CRD_GVR, ResourceInfo


@attrs.frozen
class KindInfo:
    """Where objects of one kind live: the resource (lowercase plural) and its scope."""

    resource: str
    namespaced: bool


_NAMESPACED = True
_CLUSTER = False

# (group, kind) -> (resource, namespaced). A CRD's group needs a dot, and one in *.k8s.io an
# approval annotation, so a chart's CRDs do not redefine these.
_TABLE: dict[tuple[str, str], tuple[str, bool]] = {
    ("", "ConfigMap"): ("configmaps", _NAMESPACED),
    ("", "Endpoints"): ("endpoints", _NAMESPACED),
    ("", "Event"): ("events", _NAMESPACED),
    ("", "LimitRange"): ("limitranges", _NAMESPACED),
    ("", "Namespace"): ("namespaces", _CLUSTER),
    ("", "Node"): ("nodes", _CLUSTER),
    ("", "PersistentVolume"): ("persistentvolumes", _CLUSTER),
    ("", "PersistentVolumeClaim"): ("persistentvolumeclaims", _NAMESPACED),
    ("", "Pod"): ("pods", _NAMESPACED),
    ("", "PodTemplate"): ("podtemplates", _NAMESPACED),
    ("", "ReplicationController"): ("replicationcontrollers", _NAMESPACED),
    ("", "ResourceQuota"): ("resourcequotas", _NAMESPACED),
    ("", "Secret"): ("secrets", _NAMESPACED),
    ("", "Service"): ("services", _NAMESPACED),
    ("", "ServiceAccount"): ("serviceaccounts", _NAMESPACED),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): (
        "mutatingwebhookconfigurations",
        _CLUSTER,
    ),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): (
        "validatingwebhookconfigurations",
        _CLUSTER,
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"): (
        "validatingadmissionpolicies",
        _CLUSTER,
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"): (
        "validatingadmissionpolicybindings",
        _CLUSTER,
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): (CRD_GVR.resource, _CLUSTER),
    ("apiregistration.k8s.io", "APIService"): ("apiservices", _CLUSTER),
    ("apps", "ControllerRevision"): ("controllerrevisions", _NAMESPACED),
    ("apps", "DaemonSet"): ("daemonsets", _NAMESPACED),
    ("apps", "Deployment"): ("deployments", _NAMESPACED),
    ("apps", "ReplicaSet"): ("replicasets", _NAMESPACED),
    ("apps", "StatefulSet"): ("statefulsets", _NAMESPACED),
    ("autoscaling", "HorizontalPodAutoscaler"): ("horizontalpodautoscalers", _NAMESPACED),
    ("batch", "CronJob"): ("cronjobs", _NAMESPACED),
    ("batch", "Job"): ("jobs", _NAMESPACED),
    ("certificates.k8s.io", "CertificateSigningRequest"): (
        "certificatesigningrequests",
        _CLUSTER,
    ),
    ("coordination.k8s.io", "Lease"): ("leases", _NAMESPACED),
    ("discovery.k8s.io", "EndpointSlice"): ("endpointslices", _NAMESPACED),
    ("events.k8s.io", "Event"): ("events", _NAMESPACED),
    ("extensions", "DaemonSet"): ("daemonsets", _NAMESPACED),
    ("extensions", "Deployment"): ("deployments", _NAMESPACED),
    ("extensions", "Ingress"): ("ingresses", _NAMESPACED),
    ("extensions", "NetworkPolicy"): ("networkpolicies", _NAMESPACED),
    ("extensions", "PodSecurityPolicy"): ("podsecuritypolicies", _CLUSTER),
    ("extensions", "ReplicaSet"): ("replicasets", _NAMESPACED),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"): ("flowschemas", _CLUSTER),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"): (
        "prioritylevelconfigurations",
        _CLUSTER,
    ),
    ("networking.k8s.io", "Ingress"): ("ingresses", _NAMESPACED),
    ("networking.k8s.io", "IngressClass"): ("ingressclasses", _CLUSTER),
    ("networking.k8s.io", "NetworkPolicy"): ("networkpolicies", _NAMESPACED),
    ("node.k8s.io", "RuntimeClass"): ("runtimeclasses", _CLUSTER),
    ("policy", "PodDisruptionBudget"): ("poddisruptionbudgets", _NAMESPACED),
    ("policy", "PodSecurityPolicy"): ("podsecuritypolicies", _CLUSTER),
    ("rbac.authorization.k8s.io", "ClusterRole"): ("clusterroles", _CLUSTER),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): ("clusterrolebindings", _CLUSTER),
    ("rbac.authorization.k8s.io", "Role"): ("roles", _NAMESPACED),
    ("rbac.authorization.k8s.io", "RoleBinding"): ("rolebindings", _NAMESPACED),
    ("scheduling.k8s.io", "PriorityClass"): ("priorityclasses", _CLUSTER),
    ("storage.k8s.io", "CSIDriver"): ("csidrivers", _CLUSTER),
    ("storage.k8s.io", "CSINode"): ("csinodes", _CLUSTER),
    ("storage.k8s.io", "CSIStorageCapacity"): ("csistoragecapacities", _NAMESPACED),
    ("storage.k8s.io", "StorageClass"): ("storageclasses", _CLUSTER),
    ("storage.k8s.io", "VolumeAttachment"): ("volumeattachments", _CLUSTER),
}

BUILTIN_KINDS: Mapping[tuple[str, str], KindInfo] = {
    key: KindInfo(resource, namespaced) for key, (resource, namespaced) in _TABLE.items()
}
"""The kinds every Kubernetes API server serves, by (API group, kind)."""

CRD_KIND = ("apiextensions.k8s.io", "CustomResourceDefinition")


def kind_of_crd(crd: Mapping[str, Any]) -> tuple[tuple[str, str], KindInfo] | None:
    """The (group, kind) a CRD object defines and where its objects live; ``None`` if unclear.

    Reads ``spec.group``, ``spec.names.kind``, ``spec.names.plural`` and ``spec.scope``, which
    ``apiextensions.k8s.io/v1`` and ``v1beta1`` share.
    """
    spec = crd.get("spec")
    if not isinstance(spec, Mapping):
        return None
    group, scope, crd_names = spec.get("group"), spec.get("scope"), spec.get("names")
    if not isinstance(crd_names, Mapping):
        return None
    kind, plural = crd_names.get("kind"), crd_names.get("plural")
    if not all(isinstance(v, str) and v for v in (group, kind, plural)):
        return None
    if scope not in ("Namespaced", "Cluster"):
        return None
    return (str(group), str(kind)), KindInfo(str(plural), scope == "Namespaced")


def kinds_served(served: Iterable[ResourceInfo]) -> dict[tuple[str, str], KindInfo]:
    """(group, kind) -> where it lives, from a cluster's discovery (subresources left out)."""
    found: dict[tuple[str, str], KindInfo] = {}
    for info in served:
        if "/" not in info.gvr.resource:
            found.setdefault(
                (info.gvr.group, info.kind), KindInfo(info.gvr.resource, info.namespaced)
            )
    return found
