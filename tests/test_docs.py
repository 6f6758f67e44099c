"""The documentation stays true to the code: check codes, CLI examples and links.

- docs/checks.md has one `### AVnnn: <title>` section per finding code, with the enum's
  title and a "How to fix" part;
- every `python <script>.py ...` command of a bash/console block in docs/cli.md parses with
  that script's own argument parser;
- every relative link of README.md and docs/*.md points to an existing file (and, into
  docs/checks.md, to an existing heading).
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from pathlib import Path
from types import ModuleType

import pytest

from artifact_validation.core.findings import Code

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: Pages written in parallel on other branches; links to them may dangle until they merge.
PENDING_PAGES = {"docs/sarif.md", "docs/waivers.md", "docs/status-page.md"}

HEADING = re.compile(r"^### (AV\d{3}): (.+)$", re.MULTILINE)
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S*$")


def checks_sections() -> dict[str, tuple[str, str]]:
    """Code -> (title, section text) for each `### AVnnn: title` of docs/checks.md."""
    text = (DOCS / "checks.md").read_text(encoding="utf-8")
    matches = list(HEADING.finditer(text))
    sections = {}
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        body = text[match.end() : end].split("\n## ", 1)[0]
        assert match.group(1) not in sections, f"two sections for {match.group(1)}"
        sections[match.group(1)] = (match.group(2), body)
    return sections


def test_checks_md_has_one_section_per_code_with_the_enum_title() -> None:
    sections = checks_sections()
    assert set(sections) == {code.name for code in Code}
    for code in Code:
        assert sections[code.name][0] == code.value, code.name


@pytest.mark.parametrize("code", [code.name for code in Code])
def test_each_check_section_says_how_to_fix(code: str) -> None:
    body = checks_sections()[code][1]
    assert "- Means:" in body, code
    assert "- Common causes" in body, code
    assert "- How to fix:" in body, code


def load_script(name: str) -> ModuleType:
    """Import a root script (validate.py, ...) by path, as its own module."""
    path = ROOT / name
    spec = importlib.util.spec_from_file_location(f"_docs_cli_{path.stem}", path)
    assert spec and spec.loader, name
    module = importlib.util.module_from_spec(spec)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    spec.loader.exec_module(module)
    return module


def shell_commands(markdown: str) -> list[str]:
    """The commands of the bash/console blocks, continuation lines joined, prompts dropped."""
    commands = []
    for match in FENCE.finditer(markdown):
        if match.group(1) not in ("bash", "console", "sh", "shell"):
            continue
        joined = re.sub(r"\\\n\s*", " ", match.group(2))
        for raw in joined.splitlines():
            line = raw.strip().removeprefix("$ ")
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def script_invocation(command: str) -> tuple[str, list[str]] | None:
    """(script, argv) when the command runs `python <script>.py` (after env assignments)."""
    words = shlex.split(command, comments=True)
    while words and ENV_ASSIGNMENT.match(words[0]):
        words = words[1:]
    if len(words) < 2 or Path(words[0]).name not in ("python", "python3"):
        return None
    if not re.fullmatch(r"[a-z_]+\.py", words[1]) or not (ROOT / words[1]).is_file():
        return None
    return words[1], words[2:]


def parse_with_script(script: str, argv: list[str]) -> None:
    """Parse argv as the script does; argparse's exit becomes an AssertionError."""
    module = load_script(script)
    try:
        if script == "scan.py":
            command = argv[0] if argv and argv[0] in module.PARSERS else "scan"
            rest = argv[1:] if command != "scan" else argv
            module.build_parser(command).parse_args(rest)
        elif hasattr(module, "parse_args"):
            module.parse_args(argv)  # build_parser() plus the script's own checks
        else:
            module.build_parser().parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"docs/cli.md: {script} {shlex.join(argv)} does not parse") from exc


CLI_COMMANDS = [
    found
    for command in shell_commands((DOCS / "cli.md").read_text(encoding="utf-8"))
    if (found := script_invocation(command))
]


def test_cli_md_shows_every_script() -> None:
    shown = {script for script, _ in CLI_COMMANDS}
    expected = {
        "validate.py",
        "validate_event.py",
        "scan.py",
        "mark_broken.py",
        "update_filters.py",
        "commit_back.py",
        "notify_failure.py",
        "reconcile.py",
    }
    assert expected <= shown, expected - shown


@pytest.mark.parametrize(
    ("script", "argv"), CLI_COMMANDS, ids=[shlex.join([s, *a])[:80] for s, a in CLI_COMMANDS]
)
def test_cli_md_command_parses(script: str, argv: list[str]) -> None:
    parse_with_script(script, argv)


def test_a_wrong_option_fails_with_the_command_shown() -> None:
    with pytest.raises(AssertionError, match="validate.py --no-such-option"):
        parse_with_script("validate.py", ["--no-such-option"])


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings (outside code blocks)."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def test_slug_follows_github() -> None:
    assert slug("AV101: md5 of the artifact does not match the expected value") == (
        "av101-md5-of-the-artifact-does-not-match-the-expected-value"
    )
    assert slug("The validate-artifact worker (`validate_event.py`)") == (
        "the-validate-artifact-worker-validate_eventpy"
    )
    assert slug('AV514: path has a character Windows forbids (: < > " | ? *)') == (
        "av514-path-has-a-character-windows-forbids-------"
    )


PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_relative_links_resolve(page: Path) -> None:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        relative = resolved.relative_to(ROOT).as_posix() if resolved.is_relative_to(ROOT) else ""
        if not resolved.exists():
            if relative not in PENDING_PAGES:
                broken.append(target)
            continue
        if anchor and resolved.suffix == ".md":
            if anchor not in anchors(resolved):
                broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"
