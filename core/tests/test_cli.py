"""The CLI: plugins list, config check/schema, exit codes, fast help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from snapbridge.cli import app

runner = CliRunner()


def test_plugins_list_json_has_every_adapter() -> None:
    result = runner.invoke(app, ["plugins", "list", "-o", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    for name in ("csi", "trilio", "spectrum", "kasten"):
        assert rows[name]["state"] == "active"
        assert rows[name]["distribution"].startswith("snapbridge")
        assert rows[name]["version"]
        assert rows[name]["capabilities"]


def test_config_check_names_the_field(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("backend:\n  name: csi\n  exportTarget: s3://nope\n")
    result = runner.invoke(app, ["config", "check", str(f)])
    assert result.exit_code == 2
    assert "backend.csi.exportTarget" in result.output


def test_config_check_ok(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("backend:\n  name: csi\n  exportTarget: file:///tmp/x\n")
    result = runner.invoke(app, ["config", "check", str(f)])
    assert result.exit_code == 0, result.output


def test_config_schema_is_json() -> None:
    result = runner.invoke(app, ["config", "schema"])
    assert result.exit_code == 0
    assert "backend" in json.loads(result.output)["properties"]


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; sys.argv=['snapbridge','--help']\n"
        "from snapbridge import cli\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "heavy=[m for m in ('kubernetes', 'snapbridge._internal.engine',"
        " 'snapbridge._internal.k8s', 'pydantic_settings') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr
