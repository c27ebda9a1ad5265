"""snapbridge adapter for spectrum. The plugin module is ``snapbridge_spectrum.plugin``."""

from importlib.metadata import version as _version

__version__ = _version("snapbridge-spectrum")
__all__ = ["__version__"]
