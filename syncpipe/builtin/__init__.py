"""Built-in behaviour, registered through the same PluginManager as third-party plugins."""

from types import ModuleType

from syncpipe.builtin import (
    carrier,
    namespaces,
    ownership,
    renature,
    selection,
    strip,
    writer,
)

MODULES: tuple[ModuleType, ...] = (
    selection,
    strip,
    carrier,
    renature,
    namespaces,
    ownership,
    writer,
)

__all__ = ["MODULES"]
