"""Small plugins for the hook-layer tests."""

from __future__ import annotations

from syncpipe.hooks import manager
from syncpipe.plugin import GroupVersionResource, ObjectKey, RawObject, ResourceInfo, SyncContext

GVR = GroupVersionResource("", "v1", "configmaps")
KEY = ObjectKey(GVR, "ns", "cm")
OBJ: RawObject = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "cm", "namespace": "ns"},
}
RESOURCE = ResourceInfo(gvr=GVR, kind="ConfigMap", namespaced=True)


def hooks_with(*plugins: tuple[str, object], settings: dict | None = None) -> manager.Hooks:
    """Hooks over a manager holding only our specs and ``plugins`` (name, plugin), registered
    in the order given."""
    pm = manager.build(load_entry_points=False)
    for name, plugin in plugins:
        pm.register(plugin, name=name)
    return manager.Hooks(pm=pm, ctx=SyncContext(syncer_name="s", plugin_settings=settings or {}))
