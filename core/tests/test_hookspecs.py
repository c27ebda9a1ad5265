"""The contract file documents every hook (like datasette's docs test)."""

from __future__ import annotations

import inspect

import pytest

from snapbridge import hookspecs

HOOKS = [
    n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("snapbridge_")
]


def test_contract_has_the_phase_hooks() -> None:
    assert {
        "snapbridge_adapters",
        "snapbridge_discover",
        "snapbridge_quiesce",
        "snapbridge_thaw",
        "snapbridge_snapshot",
        "snapbridge_export",
        "snapbridge_restore",
        "snapbridge_plan",
        "snapbridge_progress",
        "snapbridge_wait_ready",
    } <= set(HOOKS)


def test_every_hook_is_prefixed() -> None:
    public = [
        n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if not n.startswith("_")
    ]
    assert all(n.startswith("snapbridge_") for n in public)


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented(name: str) -> None:
    fn = getattr(hookspecs, name)
    doc = inspect.getdoc(fn) or ""
    assert doc, f"{name} has no docstring"
    for section in ("Args:", "Returns:", "Example::"):
        assert section in doc, f"{name} docstring lacks {section!r}"
    for param in inspect.signature(fn).parameters:
        assert f"{param}:" in doc, f"{name} does not document its argument {param!r}"
    assert "firstresult" in doc or "Broadcast" in doc, f"{name} does not say how it is called"
