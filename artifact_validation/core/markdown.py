"""Untrusted text in reports: the one escaping renderer for terminals, Markdown and annotations.

Paths, names and messages come from hostile archives and payloads. Every
report (terminal, job summary, feedstock issue, pull request body, scan
tables) renders them through these functions, never by hand.
"""

from __future__ import annotations

import re
import unicodedata

#: Characters that start Markdown syntax; escaped in untrusted text (names, messages).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")
_SAFE_URL = re.compile(r"https://[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
#: Unicode categories that never belong in a name: controls, surrogates, line separators, and
#: format characters (U+202E and other bidirectional overrides make a report show another name).
BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def display_path(name: str) -> str:
    """``name`` made safe for reports and logs: control characters and non-UTF-8 bytes escaped."""
    if name.isprintable():
        return name
    out = []
    for char in name:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif unicodedata.category(char) in BAD_CATEGORIES:
            out.append(char.encode("unicode_escape", "backslashreplace").decode("ascii"))
        else:
            out.append(char)
    return "".join(out)


def plain_text(text: str) -> str:
    """Untrusted text for a terminal or a CI log: escaped, and never a workflow command.

    ``::`` is broken with a zero-width space, so no name can make the runner
    read ``::warning::`` or ``::add-mask::`` out of a report line.
    """
    return display_path(text).replace("::", ":\u200b:")


def md_text(text: str) -> str:
    """Untrusted text as inert Markdown: one line, syntax escaped, no @mention."""
    text = _MD_SPECIAL.sub(r"\\\1", _CONTROL.sub(" ", text))
    return text.replace("@", "@\u200b")


def md_code(text: str) -> str:
    """Untrusted text as one inline code span (no backtick or line break can end it).

    Control characters are shown escaped (``display_path``), as in every report.
    """
    return "`" + display_path(text).replace("`", "'") + "`"


def md_link(text: str, url: str) -> str:
    """A Markdown link: ``text`` escaped, ``url`` an https URL with no character that ends it.

    Anything else (another scheme, white space, parentheses, ``<>``) is shown as code, not linked.
    """
    if not _SAFE_URL.fullmatch(url):
        return f"{md_text(text)} ({md_code(url)})"
    return f"[{md_text(text)}]({url})"


def md_cell(text: str) -> str:
    """Untrusted text as a code span inside a Markdown table cell (``|`` cannot end the cell)."""
    return md_code(text).replace("|", "\\|")


def shown(value: object, limit: int = 80) -> str:
    """A bounded, display-safe ``repr`` of an untrusted value for an error message.

    Only the type of a container is named: its ``repr`` could be huge (a YAML
    alias bomb expands to gigabytes).
    """
    if isinstance(value, str | int | float | bool) or value is None:
        return shorten(display_path(repr(value)), limit)
    return f"a {type(value).__name__}"


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ``...`` marking the cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
