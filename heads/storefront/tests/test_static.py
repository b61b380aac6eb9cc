"""What the files themselves must never hold, checked without a browser: HTML parsed from
strings (data must be text), inline script or style (the shop's CSP forbids them), and
anything loaded from another site at run time (no CDN)."""

from __future__ import annotations

import re
from pathlib import Path

HEAD = Path(__file__).resolve().parent.parent
SOURCES = sorted(p for p in HEAD.rglob("*") if p.suffix in {".js", ".html", ".css"})
HTML_SINKS = re.compile(
    r"\.(innerHTML|outerHTML)\s*\+?=|insertAdjacentHTML|document\.write|\beval\(|new Function\("
)
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)
REMOTE = re.compile(
    r"""(?:src|href|from|import|url)\s*[=(]?\s*["']?(?:https?:)?//""", re.IGNORECASE
)


def test_no_source_parses_strings_as_html_or_code() -> None:
    found = [
        f"{p.relative_to(HEAD)}:{n}: {line.strip()}"
        for p in SOURCES
        if p.suffix == ".js"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if HTML_SINKS.search(line) and not line.lstrip().startswith("//")
    ]
    assert found == []


def test_the_page_has_no_inline_script_or_style() -> None:
    page = (HEAD / "index.html").read_text()
    assert INLINE.findall(page) == []
    assert 'setAttribute("style"' not in "".join(p.read_text() for p in SOURCES)


def test_nothing_is_loaded_from_another_site() -> None:
    found = [
        f"{p.relative_to(HEAD)}:{n}: {line.strip()}"
        for p in SOURCES
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if REMOTE.search(line)
    ]
    assert found == []
