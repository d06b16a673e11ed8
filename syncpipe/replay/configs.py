"""SyncerConfigs given as files (``--syncer-config``) to ``record``, ``replay`` and ``plan``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from syncpipe import errors
from syncpipe.config import syncerconfig
from syncpipe.config.mergedselection import Selection
from syncpipe.model.objects import RawObject


def _documents(path: Path) -> list[Any]:
    try:
        return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    except (OSError, yaml.YAMLError) as exc:
        raise errors.ConfigError([("$", f"cannot read: {exc}")], source=str(path)) from exc


def load_config_files(paths: Iterable[str | Path]) -> list[RawObject]:
    """Every SyncerConfig/EdgeSyncConfig object in the files (``kind: List`` unpacked).

    Each is parsed once here, so a malformed one stops the command with every problem and
    its ``$.path`` (``syncpipe config validate`` shows the same).
    """
    found: list[RawObject] = []
    for path in map(Path, paths):
        for doc in _documents(path):
            items = doc.get("items") if isinstance(doc, Mapping) else None
            kind = doc.get("kind") if isinstance(doc, Mapping) else None
            objs = items if isinstance(kind, str) and kind.endswith("List") else [doc]
            for obj in objs or ():
                syncerconfig.parse_config(obj, source=str(path))
                found.append(obj)
    return found


def selection_of(configs: Iterable[RawObject]) -> Selection:
    """The merged selection of config objects; malformed ones raise ``ConfigError``."""
    return Selection.from_configs(
        syncerconfig.parse_config(obj, source=f"{obj.get('kind')}") for obj in configs
    )
