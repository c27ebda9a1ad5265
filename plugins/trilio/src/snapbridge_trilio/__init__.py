"""snapbridge adapter for trilio. The plugin module is ``snapbridge_trilio.plugin``."""

from importlib.metadata import version as _version

__version__ = _version("snapbridge-trilio")
__all__ = ["__version__"]
