"""Built-in ``exec_hooks`` plugin: quiesce/thaw commands run in pods through ``pods/exec``."""

from __future__ import annotations
