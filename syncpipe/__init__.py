"""syncpipe: a declarative Kubernetes object syncer with pluggable transforms.

Plugin authors import from ``syncpipe.plugin``, the stable plugin API; everything else is
internal. This module only holds the version.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
