"""The one-pass matcher: every glob of every filter compiled once into a component trie.

Glob rules (docs/filters.md "Glob semantics"): paths and globs are relative and
``/``-separated; ``*``, ``?`` and ``[...]`` (``[!...]`` negates) never cross
``/``; a component that is exactly ``**`` matches zero or more directories; a
glob that matches a parent directory of a path protects the path; ``win-*`` and
``osx-*`` artifacts compare case-insensitively.

Matching walks the trie as a small NFA, one path component at a time, built
lazily into a DFA: each set of live trie nodes becomes one interned state that
caches its transitions per component, and the state reached for each directory
is memoized, so a file list costs about two dictionary lookups per path once
warm, whatever the number of globs.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from artifact_validation.core.conda import fold as fold_name
from artifact_validation.core.conda import is_case_insensitive
from artifact_validation.filters.files import Filter

#: Cached directories and transitions are dropped past this many entries (scan reuses them).
_MEMO_LIMIT = 500_000

_WILD = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Violation:
    """A path that a filter protects, shipped by a package the filter does not allow."""

    path: str
    filter: str
    glob: str
    allowed: tuple[str, ...]
    #: the filter file (``validate_yamls/openssl.yaml``) and the glob's line in it (0: unknown)
    filter_file: str = ""
    filter_line: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: path, filter, glob, allowed (sorted), filter_file, filter_line."""
        return {
            "path": self.path,
            "filter": self.filter,
            "glob": self.glob,
            "allowed": sorted(self.allowed),
            "filter_file": self.filter_file,
            "filter_line": self.filter_line,
        }

    @property
    def where(self) -> str:
        """The filter file and line that protect the path (``dir/f.yaml:3``; empty: unknown)."""
        if not self.filter_file:
            return ""
        return f"{self.filter_file}:{self.filter_line}" if self.filter_line else self.filter_file


class _Node:
    __slots__ = ("any_wild", "globstar", "hits", "is_globstar", "literal", "positive", "wild")

    def __init__(self, is_globstar: bool = False) -> None:
        self.literal: dict[str, _Node] = {}
        self.wild: dict[str, _Node] = {}
        # Built on first use (many nodes are never reached): the wild children indexed
        # by their literal prefix, so a component is tested only against the patterns
        # whose prefix it starts with (a site-packages node has hundreds).
        self.any_wild: _WildIndex | None = None
        self.globstar: _Node | None = None
        self.is_globstar = is_globstar
        # (filter index, original glob, is an exclude glob)
        self.hits: list[_Hit] = []
        # the filters with a ``files`` glob at or below this node (set once the trie is built)
        self.positive: frozenset[int] = frozenset()


_Hit = tuple[int, str, bool]


class _State:
    """A state of the lazily built DFA: live trie nodes, hits met so far, cached transitions."""

    __slots__ = ("flagged", "hits", "next", "nodes", "positive")

    def __init__(self, nodes: tuple[_Node, ...], hits: frozenset[_Hit]) -> None:
        self.nodes = nodes
        self.hits = hits
        # The filters that can still flag this path or a path below it: a package that all
        # of them allow has nothing to find here.
        self.positive = frozenset({h[0] for h in hits if not h[2]}).union(
            *(n.positive for n in nodes)
        )
        self.next: dict[str, _State] = {}
        # (filter index, smallest glob) of each filter whose files match and excludes do not.
        self.flagged: tuple[tuple[int, str], ...] | None = None

    def flagged_filters(self) -> tuple[tuple[int, str], ...]:
        if self.flagged is None:
            matched: dict[int, str] = {}
            excluded: set[int] = set()
            for index, glob, is_exclude in self.hits:
                if is_exclude:
                    excluded.add(index)
                elif index not in matched or glob < matched[index]:
                    matched[index] = glob
            self.flagged = tuple(sorted((i, g) for i, g in matched.items() if i not in excluded))
        return self.flagged


# (prefix length, {literal prefix: [(pattern, child)]}) per length, then the patterns that
# start with a wildcard (tested against every component).
_WildIndex = tuple[
    tuple[tuple[int, dict[str, list[tuple[str, "_Node"]]]], ...], tuple[tuple[str, "_Node"], ...]
]


def _index_wild(wild: dict[str, _Node]) -> _WildIndex:
    by_length: dict[int, dict[str, list[tuple[str, _Node]]]] = {}
    always = []
    for pattern, node in wild.items():
        prefix = pattern[: _WILD.search(pattern).start()]  # type: ignore[union-attr]
        if prefix:
            by_length.setdefault(len(prefix), {}).setdefault(prefix, []).append((pattern, node))
        else:
            always.append((pattern, node))
    return tuple(sorted(by_length.items())), tuple(always)


@functools.cache
def _component_pattern(part: str) -> re.Pattern[str]:
    """The compiled regex of one wild glob component (shared by every node and trie)."""
    return re.compile(component_regex(part) + r"\Z")


class _Trie:
    def __init__(self, filters: Sequence[Filter], fold: bool) -> None:
        self.root = _Node()
        for index, flt in enumerate(filters):
            for glob in flt.files:
                self._add(glob, (index, glob, False), fold)
            for glob in flt.exclude_files:
                self._add(glob, (index, glob, True), fold)
        _mark_positive(self.root)
        #: the one state below which nothing can be flagged: only ``exclude_files`` globs (or
        #: none) remain live and no ``files`` glob has matched, so a scan skips its paths
        self.dead = _State((), frozenset())
        self._reset()

    def _reset(self) -> None:
        """Forget every cached state and transition (bounded memory for long scans)."""
        self.states: dict[tuple[frozenset[int], frozenset[_Hit]], _State] = {}
        self.memo: dict[str, _State] = {}
        self.cached = 0
        self.start = self._state([self.root], frozenset())

    def _add(self, glob: str, hit: _Hit, fold: bool) -> None:
        node = self.root
        for part in (fold_name(glob) if fold else glob).split("/"):
            if part == "**":
                if node.globstar is None:
                    node.globstar = _Node(is_globstar=True)
                node = node.globstar
            elif _WILD.search(part):
                node = node.wild.setdefault(part, _Node())
            else:
                node = node.literal.setdefault(part, _Node())
        node.hits.append(hit)

    def _state(self, nodes: Iterable[_Node], hits: frozenset[_Hit]) -> _State:
        """The interned state of ``nodes`` plus every node reachable through '**' (zero dirs)."""
        out: dict[int, _Node] = {}
        new_hits: list[_Hit] = []
        stack = list(nodes)
        while stack:
            node = stack.pop()
            if id(node) in out:
                continue
            out[id(node)] = node
            new_hits.extend(node.hits)
            if node.globstar is not None:
                stack.append(node.globstar)
        if new_hits:
            hits = hits.union(new_hits)
        if all(h[2] for h in hits) and not any(n.positive for n in out.values()):
            return self.dead
        key = (frozenset(out), hits)
        state = self.states.get(key)
        if state is None:
            state = self.states[key] = _State(tuple(out.values()), hits)
        return state

    def step(self, state: _State, part: str) -> _State:
        nxt = state.next.get(part)
        if nxt is not None:
            return nxt
        if not state.nodes:
            return state  # dead: nothing more can match, the hits are final
        children: list[_Node] = []
        for node in state.nodes:
            child = node.literal.get(part)
            if child is not None:
                children.append(child)
            if node.wild:
                index = node.any_wild
                if index is None:
                    index = node.any_wild = _index_wild(node.wild)
                by_length, always = index
                for length, table in by_length:
                    for pattern, wchild in table.get(part[:length], ()):
                        if _component_pattern(pattern).match(part):
                            children.append(wchild)
                for pattern, wchild in always:
                    if _component_pattern(pattern).match(part):
                        children.append(wchild)
            if node.is_globstar:
                children.append(node)
        nxt = self._state(children, state.hits)
        if self.cached >= _MEMO_LIMIT:
            self._reset()
        state.next[part] = nxt
        self.cached += 1
        return nxt

    def dir_state(self, directory: str) -> _State:
        state = self.memo.get(directory)
        if state is not None:
            return state
        # Walk up to the nearest known directory, then down (no recursion: paths can be deep).
        pending = []
        current = directory
        state = self.start
        while current:
            known = self.memo.get(current)
            if known is not None:
                state = known
                break
            pending.append(current)
            current = current.rpartition("/")[0]
        for prefix in reversed(pending):
            state = self.step(state, prefix.rpartition("/")[2])
            self.memo[prefix] = state
        return state

    def final_state(self, path: str) -> _State:
        directory, _, last = path.rpartition("/")
        base = self.dir_state(directory) if directory else self.start
        return self.step(base, last)


def _mark_positive(root: _Node) -> None:
    """Set ``positive`` on every node: the filters whose ``files`` globs it holds or leads to."""
    order: list[_Node] = []
    stack = [root]
    while stack:  # no recursion: globs can be deep
        node = stack.pop()
        order.append(node)
        stack.extend(node.literal.values())
        stack.extend(node.wild.values())
        if node.globstar is not None:
            stack.append(node.globstar)
    for node in reversed(order):  # children before parents
        below = [*node.literal.values(), *node.wild.values()]
        if node.globstar is not None:
            below.append(node.globstar)
        node.positive = frozenset({h[0] for h in node.hits if not h[2]}).union(
            *(c.positive for c in below)
        )


class Matcher:
    """All filters compiled once; ``check`` costs about one pass over an artifact's paths."""

    def __init__(self, filters: Sequence[Filter]) -> None:
        self.filters = tuple(filters)
        self._tries: dict[bool, _Trie] = {}
        exempt: dict[str, set[int]] = {}
        for index, flt in enumerate(self.filters):
            for name in flt.allowed:
                exempt.setdefault(name, set()).add(index)
        self._exempt = {name: frozenset(indices) for name, indices in exempt.items()}

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
        exempt = self._exempt.get(name, frozenset())
        if trie.start.positive <= exempt:
            return []  # every filter allows ``name`` (or there is none)
        originals = paths if isinstance(paths, (list, tuple)) else tuple(paths)
        folded = _folded(originals) if fold else originals
        # Sorted, the paths under one directory are one run: a directory below which no
        # filter but those allowing ``name`` can flag a path is passed over with one bisect.
        keys = sorted(folded)
        flagged: list[tuple[str, int, str]] = []
        # The warm path, inlined: one lookup for the directory, one for the last component.
        memo, start, step, dir_state = trie.memo, trie.start, trie.step, trie.dir_state
        position, count = 0, len(keys)
        while position < count:
            key = keys[position]
            directory, _, last = key.rpartition("/")
            base = (memo.get(directory) or dir_state(directory)) if directory else start
            if base.positive <= exempt:
                root = _quiet_root(directory, trie, exempt)
                position = bisect.bisect_left(keys, root + "0", position)
                continue
            state = base.next.get(last) or step(base, last)
            if state.hits:
                for index, glob in state.flagged_filters():
                    if index not in exempt:
                        flagged.append((key, index, glob))
            position += 1
        if not flagged:
            return []
        # Report each path as shipped. Folded, one key may stand for several spellings
        # (or a path listed twice): then every spelling is reported once, at the key's
        # first flag.
        spelling = dict(zip(folded, originals, strict=True)) if fold else {}
        several: dict[str, list[str]] = {}
        if fold and len(spelling) < len(folded):
            for key, original in zip(folded, originals, strict=True):
                several.setdefault(key, []).append(original)
        out: list[Violation] = []
        done: set[tuple[str, int]] = set()
        for key, index, glob in flagged:
            if several:
                if (key, index) in done:
                    continue
                done.add((key, index))
                shipped = several[key]
            else:
                shipped = [spelling[key]] if fold else [key]
            flt = self.filters[index]
            allowed = tuple(sorted(flt.allowed))
            line = flt.line_of(glob)
            for path in shipped:
                out.append(Violation(path, flt.name, glob, allowed, flt.file, line))
        out.sort(key=lambda v: (v.path, v.filter))
        return out


def _quiet_root(directory: str, trie: _Trie, exempt: frozenset[int]) -> str:
    """The shallowest ancestor of ``directory`` (itself included) below which only the
    ``exempt`` filters could flag a path.

    Every path under it sorts between ``root + "/"`` and ``root + "0"`` ('0' follows
    '/'), so the caller bisects past all of them at once.
    """
    root = directory
    while True:
        parent = root.rpartition("/")[0]
        if not parent or not trie.dir_state(parent).positive <= exempt:
            return root
        root = parent


def _folded(paths: Sequence[str]) -> Sequence[str]:
    """``fold`` of every path, in one call for the whole list when no path holds a newline."""
    if not paths:
        return paths
    joined = "\n".join(paths)
    if joined.count("\n") != len(paths) - 1:
        return [fold_name(p) for p in paths]
    return fold_name(joined).split("\n")


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
