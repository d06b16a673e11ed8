"""Built-in behaviour, registered through the same PluginManager as third-party plugins."""

from types import ModuleType

from syncpipe.builtin import namespaces, ownership, selection, strip, writer

MODULES: tuple[ModuleType, ...] = (selection, strip, namespaces, ownership, writer)

__all__ = ["MODULES"]
