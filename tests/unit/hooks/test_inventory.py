"""What ``syncpipe plugins`` is built from: plugins, their hooks, transforms in run order."""

from __future__ import annotations

from syncpipe.hooks.inventory import inventory
from syncpipe.plugin import Phase, PluginOption, ResourceInfo, SyncContext, Transform, hookimpl
from tests.unit.hooks.plugins import hooks_with


def only_deployments(resource: ResourceInfo) -> bool:
    """Deployments only."""
    return resource.kind == "Deployment"


def inject(obj: dict, _ctx: SyncContext) -> dict:
    """Add the sidecar."""
    return obj


class Sidecar:
    @hookimpl
    def syncpipe_register_transforms(self) -> list[Transform]:
        return [
            Transform(name="sidecar", forward=inject, reverse=inject, applies_to=only_deployments),
            Transform(name="early", forward=lambda obj, _ctx: obj, phase=Phase.STRIP),
        ]

    @hookimpl
    def syncpipe_declare_options(self) -> list[PluginOption]:
        return [PluginOption(name="image", default="busybox", help="sidecar image")]


def test_the_inventory_lists_transforms_in_run_order_with_directions_and_what_they_apply_to() -> (
    None
):
    hooks = hooks_with(("sidecar", Sidecar()), settings={"sidecar": {"image": "alpine"}})
    hooks.configure()
    found = inventory(hooks)
    assert [(t.position, t.name, t.phase) for t in found.transforms] == [
        (1, "early", "strip"),
        (2, "sidecar", "custom"),
    ]
    sidecar = found.transforms[1]
    assert (sidecar.directions, sidecar.applies_to, sidecar.description) == (
        ("down", "up"),
        "Deployments only.",
        "Add the sidecar.",
    )
    assert found.transforms[0].applies_to == "every resource"
    (plugin,) = found.plugins
    assert plugin.hooks == ("syncpipe_declare_options", "syncpipe_register_transforms")
    (option,) = found.options
    assert (option.value, option.default, option.given) == ("alpine", "busybox", True)
