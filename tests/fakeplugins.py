"""Install a throw-away plugin distribution into a directory, as pip would lay it out.

Putting the directory on ``sys.path`` (or ``PYTHONPATH`` for a subprocess: ``plugin_env``) makes
``importlib.metadata`` find the distribution and its ``syncpipe.plugins`` entry point, so
the plugin is loaded exactly as an installed one is.

``install_vetoer`` installs a well-behaved vetoing plugin (entry point ``vetoer``, distribution
``syncpipe-vetoer``): its ``syncpipe_select`` vetoes every object whose ``example.com/veto``
label has the value of its declared option ``value`` (default ``yes``).
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from syncpipe.hooks.loading import ENTRY_POINT_GROUP


def install_plugin(
    site: Path,
    *,
    entry_point: str,
    module: str,
    source: str,
    distribution: str = "syncpipe-faulty-plugin",
    version: str = "0.0.1",
) -> Path:
    """Write ``module`` (``source``) and a ``distribution`` whose entry point ``entry_point``
    loads it; returns ``site``."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
    )
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry_point} = {module}\n")
    return site


def plugin_env(site: Path) -> dict[str, str]:
    """What to add to a subprocess's environment so it loads the plugins installed in ``site``
    (besides the ones installed already)."""
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path}


VETOER = "vetoer"
VETO_LABEL = "example.com/veto"
VETO_DEFAULT = "yes"

VETOER_SOURCE = f"""
from syncpipe.plugin import PluginOption, hookimpl, labels_of


@hookimpl
def syncpipe_declare_options():
    return [
        PluginOption(
            name="value",
            default={VETO_DEFAULT!r},
            help="veto the objects whose {VETO_LABEL} label has this value",
        )
    ]


@hookimpl
def syncpipe_select(key, obj, direction, ctx):
    vetoed = ctx.plugin_config({VETOER!r})["value"]
    return False if labels_of(obj).get({VETO_LABEL!r}) == vetoed else None
"""


def install_vetoer(site: Path) -> dict[str, str]:
    """Install the ``vetoer`` plugin in ``site``; the environment a subprocess needs to load it."""
    install_plugin(
        site,
        entry_point=VETOER,
        module="syncpipe_vetoer",
        source=VETOER_SOURCE,
        distribution="syncpipe-vetoer",
        version="0.1",
    )
    return plugin_env(site)
