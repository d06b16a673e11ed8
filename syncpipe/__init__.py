"""syncpipe: a declarative Kubernetes object syncer with pluggable transforms.

This module re-exports the public API for plugin authors; inside the package, code imports
from the defining subpackage.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
