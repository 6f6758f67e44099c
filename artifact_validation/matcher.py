"""The one-pass matcher: every glob of every filter compiled once into a component trie.

Glob rules (README "Glob semantics"): paths and globs are relative and
``/``-separated; ``*``, ``?`` and ``[...]`` (``[!...]`` negates) never cross
``/``; a component that is exactly ``**`` matches zero or more directories; a
glob that matches a parent directory of a path protects the path; ``win-*`` and
``osx-*`` artifacts compare case-insensitively.

Matching walks the trie as a small NFA, one path component at a time, and
memoizes the state reached for each directory, so a file list costs about one
dictionary lookup per path plus the work for its last component.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .filters import Filter

#: Subdirs whose file systems compare names case-insensitively (Windows, default macOS).
CASE_INSENSITIVE_PREFIXES = ("win-", "osx-")

#: The directory-state memo is dropped when it grows past this many entries (scan reuses it).
_MEMO_LIMIT = 500_000

_WILD = re.compile(r"[*?\[]")


def is_case_insensitive(subdir: str) -> bool:
    """Whether paths of ``subdir`` artifacts compare case-insensitively."""
    return subdir.startswith(CASE_INSENSITIVE_PREFIXES)


@dataclass(frozen=True)
class Violation:
    """A path that a filter protects, shipped by a package the filter does not allow."""

    path: str
    filter: str
    glob: str
    allowed: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict with keys path, filter, glob, allowed (sorted)."""
        return {
            "path": self.path,
            "filter": self.filter,
            "glob": self.glob,
            "allowed": sorted(self.allowed),
        }


class _Node:
    __slots__ = ("globstar", "hits", "is_globstar", "literal", "wild")

    def __init__(self, is_globstar: bool = False) -> None:
        self.literal: dict[str, _Node] = {}
        self.wild: dict[str, tuple[re.Pattern[str], _Node]] = {}
        self.globstar: _Node | None = None
        self.is_globstar = is_globstar
        # (filter index, original glob, is an exclude glob)
        self.hits: list[tuple[int, str, bool]] = []


# A compiled state: the set of live trie nodes and the hits met on the way there.
_State = tuple[tuple[_Node, ...], frozenset[tuple[int, str, bool]]]


class _Trie:
    def __init__(self, filters: Sequence[Filter], fold: bool) -> None:
        self.root = _Node()
        for index, flt in enumerate(filters):
            for glob in flt.files:
                self._add(glob, (index, glob, False), fold)
            for glob in flt.exclude_files:
                self._add(glob, (index, glob, True), fold)
        self.memo: dict[str, _State] = {}
        self.start: _State = self._close([self.root], frozenset())

    def _add(self, glob: str, hit: tuple[int, str, bool], fold: bool) -> None:
        node = self.root
        for part in (glob.lower() if fold else glob).split("/"):
            if part == "**":
                if node.globstar is None:
                    node.globstar = _Node(is_globstar=True)
                node = node.globstar
            elif _WILD.search(part):
                entry = node.wild.get(part)
                if entry is None:
                    entry = (re.compile(component_regex(part) + r"\Z"), _Node())
                    node.wild[part] = entry
                node = entry[1]
            else:
                node = node.literal.setdefault(part, _Node())
        node.hits.append(hit)

    @staticmethod
    def _close(nodes: Iterable[_Node], hits: frozenset[tuple[int, str, bool]]) -> _State:
        """Add every node reachable through '**' (zero directories) and collect hits."""
        out: dict[int, _Node] = {}
        new_hits: list[tuple[int, str, bool]] = []
        stack = list(nodes)
        while stack:
            node = stack.pop()
            if id(node) in out:
                continue
            out[id(node)] = node
            new_hits.extend(node.hits)
            if node.globstar is not None:
                stack.append(node.globstar)
        return tuple(out.values()), hits.union(new_hits) if new_hits else hits

    def step(self, state: _State, part: str) -> _State:
        nodes, hits = state
        if not nodes:
            return state
        nxt: list[_Node] = []
        for node in nodes:
            child = node.literal.get(part)
            if child is not None:
                nxt.append(child)
            for rx, wchild in node.wild.values():
                if rx.match(part):
                    nxt.append(wchild)
            if node.is_globstar:
                nxt.append(node)
        if not nxt:
            return ((), hits)
        return self._close(nxt, hits)

    def dir_state(self, directory: str) -> _State:
        state = self.memo.get(directory)
        if state is not None:
            return state
        parent, _, last = directory.rpartition("/")
        base = self.dir_state(parent) if parent else self.start
        state = self.step(base, last)
        if len(self.memo) >= _MEMO_LIMIT:
            self.memo.clear()
        self.memo[directory] = state
        return state

    def hits(self, path: str) -> frozenset[tuple[int, str, bool]]:
        directory, _, last = path.rpartition("/")
        base = self.dir_state(directory) if directory else self.start
        return self.step(base, last)[1]


class Matcher:
    """All filters compiled once; ``check`` costs about one pass over an artifact's paths."""

    def __init__(self, filters: Sequence[Filter]) -> None:
        self.filters = tuple(filters)
        self._tries: dict[bool, _Trie] = {}

    def _trie(self, fold: bool) -> _Trie:
        trie = self._tries.get(fold)
        if trie is None:
            trie = self._tries[fold] = _Trie(self.filters, fold)
        return trie

    def check(self, name: str, subdir: str, paths: Iterable[str]) -> list[Violation]:
        """Return the violations of artifact ``name`` (of ``subdir``) shipping ``paths``, sorted.

        A filter flags a path when one of its ``files`` globs matches the path
        or a parent directory of it, none of its ``exclude_files`` does, and
        ``name`` is not in its ``allowed`` list. One violation per (path,
        filter), naming the smallest matching glob.
        """
        fold = is_case_insensitive(subdir)
        trie = self._trie(fold)
        exempt = {i for i, flt in enumerate(self.filters) if name in flt.allowed}
        out: list[Violation] = []
        for path in paths:
            hits = trie.hits(path.lower() if fold else path)
            if not hits:
                continue
            matched: dict[int, str] = {}
            excluded: set[int] = set()
            for index, glob, is_exclude in hits:
                if index in exempt:
                    continue
                if is_exclude:
                    excluded.add(index)
                elif index not in matched or glob < matched[index]:
                    matched[index] = glob
            for index, glob in matched.items():
                if index not in excluded:
                    flt = self.filters[index]
                    out.append(Violation(path, flt.name, glob, tuple(sorted(flt.allowed))))
        out.sort(key=lambda v: (v.path, v.filter))
        return out


def component_regex(part: str) -> str:
    """Translate one glob component to a regex that never matches '/'.

    ``*`` is any run of characters, ``?`` one character, ``[...]`` a class and
    ``[!...]`` a negated one; everything else is literal.
    """
    out = []
    i, n = 0, len(part)
    while i < n:
        char = part[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            j = i + 1
            negate = j < n and part[j] == "!"
            if negate:
                j += 1
            start = j
            if j < n and part[j] == "]":
                j += 1
            end = part.find("]", j)
            if end == -1:  # unterminated: the loader rejects it, but stay literal here
                out.append(re.escape(char))
            else:
                body = part[start:end].replace("\\", "\\\\").replace("^", "\\^")
                body = body.replace("[", "\\[").replace("]", "\\]")
                out.append(f"[^/{body}]" if negate else f"[{body}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def glob_to_regex(glob: str, fold: bool = False) -> re.Pattern[str]:
    """One glob as one regex, the reference semantics the trie must agree with.

    Use it as ``rx.match(path + "/")``: each component consumes ``name/``, so a
    match of any prefix ending at a component boundary means the glob matches
    the path or a parent directory of it. It is what the naive loop in
    ``bench/bench_matcher.py`` runs, path x glob.
    """
    tokens = [
        "(?:[^/]+/)*" if part == "**" else component_regex(part) + "/" for part in glob.split("/")
    ]
    return re.compile("".join(tokens), re.IGNORECASE if fold else 0)
