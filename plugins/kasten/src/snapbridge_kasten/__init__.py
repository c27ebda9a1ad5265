"""snapbridge adapter for kasten. The plugin module is ``snapbridge_kasten.plugin``."""

from importlib.metadata import version as _version

__version__ = _version("snapbridge-kasten")
__all__ = ["__version__"]
