"""Install a throw-away plugin distribution into a directory, as pip would lay it out.

Putting the directory on ``sys.path`` (or ``PYTHONPATH`` for a subprocess) makes
``importlib.metadata`` find the distribution and its ``syncpipe.plugins`` entry point, so
the plugin is loaded exactly as an installed one is.
"""

from __future__ import annotations

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
