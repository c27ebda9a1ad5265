"""A private apt configuration derived from the machine's own apt sources.

The asset build downloads Debian packages (a source package and a few binary .debs) without touching
the system's apt state: every apt call gets its own sources file, lists directory and cache. The
archive address is never chosen here; it is copied from whatever the machine is configured with.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

SYSTEM_SOURCES_DIR = Path("/etc/apt/sources.list.d")
SYSTEM_SOURCES_LIST = Path("/etc/apt/sources.list")


@dataclass(frozen=True)
class AptSource:
    """One archive entry: where it is, which suites/components, which key signs it."""

    uris: tuple[str, ...]
    suites: tuple[str, ...]
    components: tuple[str, ...]
    signed_by: str | None


def _parse_deb822(text: str) -> list[dict[str, str]]:
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last_key: str | None = None
    for raw in [*text.splitlines(), ""]:
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if current:
                stanzas.append(current)
            current, last_key = {}, None
            continue
        if raw[0] in " \t" and last_key is not None:
            current[last_key] += "\n" + raw.strip()
            continue
        key, _, value = raw.partition(":")
        last_key = key.strip().lower()
        current[last_key] = value.strip()
    return stanzas


def _sources_from_deb822(text: str) -> list[AptSource]:
    found = []
    for stanza in _parse_deb822(text):
        if stanza.get("enabled", "yes").lower() == "no":
            continue
        if "deb" not in stanza.get("types", "").split():
            continue
        found.append(
            AptSource(
                uris=tuple(stanza.get("uris", "").split()),
                suites=tuple(stanza.get("suites", "").split()),
                components=tuple(stanza.get("components", "").split()),
                signed_by=stanza.get("signed-by") or None,
            )
        )
    return found


def _sources_from_one_line(text: str) -> list[AptSource]:
    found = []
    for raw in text.splitlines():
        words = shlex.split(raw, comments=True)
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        signed_by = None
        if words and words[0].startswith("["):
            options: list[str] = []
            while words:
                word = words.pop(0)
                options.append(word.strip("[]"))
                if word.endswith("]"):
                    break
            for option in options:
                key, _, value = option.partition("=")
                if key == "signed-by":
                    signed_by = value
        if len(words) >= 2:
            found.append(AptSource((words[0],), (words[1],), tuple(words[2:]), signed_by))
    return found


def system_sources() -> list[AptSource]:
    """Every enabled binary (`deb`) entry the machine's apt is configured with."""
    found: list[AptSource] = []
    if SYSTEM_SOURCES_LIST.is_file():
        found += _sources_from_one_line(SYSTEM_SOURCES_LIST.read_text())
    if SYSTEM_SOURCES_DIR.is_dir():
        for path in sorted(SYSTEM_SOURCES_DIR.iterdir()):
            if path.suffix == ".sources":
                found += _sources_from_deb822(path.read_text())
            elif path.suffix == ".list":
                found += _sources_from_one_line(path.read_text())
    return found


def source_for_suite(suite: str) -> AptSource | None:
    """The machine's archive entry that carries `suite` (e.g. `bookworm`), if any."""
    for source in system_sources():
        if suite in source.suites and source.uris and source.components:
            return source
    return None


def private_sources_text(source: AptSource, suite: str) -> str:
    """A deb822 sources file with both binary and source entries for `suite` of `source`."""
    lines = [
        "Types: deb deb-src",
        f"URIs: {' '.join(source.uris)}",
        f"Suites: {suite}",
        f"Components: {' '.join(source.components)}",
    ]
    if source.signed_by:
        signed_by = source.signed_by.replace("\n", "\n ")
        lines.append(f"Signed-By: {signed_by}")
    return "\n".join(lines) + "\n"


def prepare_private_apt(apt_dir: Path, source: AptSource, suite: str) -> list[str]:
    """Create a private apt tree for `suite` and return the options that confine apt-get to it."""
    (apt_dir / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (apt_dir / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    # apt reads a sources file as deb822 when its name ends in `.sources`.
    sources = apt_dir / "snapbridge.sources"
    sources.write_text(private_sources_text(source, suite))
    return [
        "-o",
        f"Dir::Etc::SourceList={sources}",
        "-o",
        "Dir::Etc::SourceParts=/nonexistent",
        "-o",
        f"Dir::State::Lists={apt_dir / 'lists'}",
        "-o",
        f"Dir::Cache={apt_dir / 'cache'}",
    ]
