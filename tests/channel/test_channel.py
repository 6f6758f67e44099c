"""Tests of channel reading: repodata listings, file lists from disk, local and HTTP artifacts."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from pathlib import Path

import pytest

from artifact_validation.channel import Artifact, Channel, ChannelFileLists, iter_file_lists
from artifact_validation.core import (
    ArtifactReadError,
    FetchError,
    FileListError,
    UsageError,
    file_list_path,
    split_filename,
)
from artifact_validation.services import RetryPolicy, make_session
from tests.support.builders import (
    Entry,
    build_package,
    metadata_entries,
    write_conda,
    write_file_list,
    write_hostile,
)
from tests.support.channels import (
    BIG_PAYLOAD,
    CLOBBER_FILES,
    build_standard_channel,
    write_repodata,
)
from tests.support.servers import LocalServer, Reply


def fast_session():
    """A session with short timeouts and no backoff, for tests."""
    return make_session(timeout=(2.0, 2.0), transport_retry=RetryPolicy(attempts=3, backoff=0.0))


@pytest.fixture(scope="module")
def standard(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """The standard channel, built once for this module."""
    root = tmp_path_factory.mktemp("channel")
    return root, build_standard_channel(root)


def artifact(channel: Channel, subdir: str, stem: str) -> Artifact:
    found = [a for a in channel.listing(subdir).artifacts if a.stem == stem]
    assert len(found) == 1, stem
    return found[0]


# --------------------------------------------------------------------------------- listing


def test_listing_dedupes_formats_and_skips_removed(standard) -> None:
    """Both formats of one build are one artifact (.conda read); removed files are not listed."""
    root, built = standard
    listing = Channel(root).listing("linux-64")
    assert [a.stem for a in listing.artifacts] == ["big-1.0-0", "clob-1.0-0", "old-1.0-0"]
    clob = listing.artifacts[1]
    assert clob.filenames == ("clob-1.0-0.conda", "clob-1.0-0.tar.bz2")
    assert clob.filename == "clob-1.0-0.conda"
    assert clob.size == built["clob.conda"].stat().st_size
    assert clob.key == "linux-64/clob-1.0-0"
    assert listing.problems == {}


def test_listing_keep_selects_early(standard) -> None:
    """The keep predicate selects builds by stem."""
    root, _ = standard
    listing = Channel(root).listing("linux-64", keep=lambda stem: stem.startswith("old-"))
    assert [a.stem for a in listing.artifacts] == ["old-1.0-0"]


@pytest.mark.parametrize(
    ("section", "filename", "record", "why"),
    [
        ("packages", "../../etc-1-0.tar.bz2", {"name": "etc"}, "not a valid conda artifact"),
        ("packages", "no-dashes.tar.bz2", {}, "not a valid conda artifact"),
        ("packages", "foo-1-0.zip", {}, "not a valid conda artifact"),
        ("packages", "foo-1-0.conda", {"name": "foo"}, "does not end in .tar.bz2"),
        ("packages.conda", "foo-1-0.tar.bz2", {"name": "foo"}, "does not end in .conda"),
        ("packages.conda", "foo-1-0.conda", {"name": "openssl"}, "does not match the file name"),
        ("packages.conda", "foo-1-0.conda", {"name": "foo", "size": "12"}, "size"),
        ("packages.conda", "foo-1-0.conda", {"name": "foo", "size": True}, "size"),
        ("packages.conda", "foo-1-0.conda", ["not", "an", "object"], "not an object"),
    ],
)
def test_malformed_records_are_problems_not_artifacts(
    tmp_path: Path, section: str, filename: str, record: object, why: str
) -> None:
    """A hostile or malformed repodata record is reported, never listed nor silently dropped."""
    subdir = tmp_path / "linux-64"
    subdir.mkdir()
    write_repodata(subdir, extra={section: {filename: record}})
    listing = Channel(tmp_path).listing("linux-64")
    assert listing.artifacts == []
    [(key, problem)] = listing.problems.items()
    assert key == f"linux-64/{filename}" and why in problem


@pytest.mark.parametrize(
    "doc",
    [
        # one odd record among good ones: the typed decoder refuses the document, the full
        # parse lists the good builds and reports the odd one
        {"packages.conda": {"good-1-0.conda": {"name": "good"}, "odd-1-0.conda": 3}},
        # sections that are not mappings, a removed list with a non-name, a huge size
        {"packages": ["x"], "packages.conda": {"good-1-0.conda": {"size": 10**30}}},
        {"removed": ["odd-1-0.conda", 7], "packages.conda": {"good-1-0.conda": {}}},
        [],
    ],
)
def test_odd_documents_list_what_they_can(tmp_path: Path, doc: object) -> None:
    """Whatever shape the document has, a valid build is listed or reported, never both,
    and nothing else is invented."""
    subdir = tmp_path / "linux-64"
    subdir.mkdir()
    (subdir / "repodata.json").write_text(json.dumps(doc))
    listing = Channel(tmp_path).listing("linux-64")
    listed = [a.stem for a in listing.artifacts]
    problems = {key.rsplit("/", 1)[1] for key in listing.problems}
    if isinstance(doc, list):
        assert listed == [] and problems == set()
    elif "odd-1-0.conda" in str(doc.get("removed")):
        assert listed == ["good-1-0"] and problems == set()
    elif "packages" in doc:
        assert listed == ["good-1-0"] and problems == set()  # a big size is still a size
    else:
        assert listed == ["good-1-0"] and problems == {"odd-1-0.conda"}


def test_missing_and_broken_repodata(tmp_path: Path) -> None:
    """No repodata.json is a usage error (exit 2); one that is not JSON cannot be scanned (3)."""
    (tmp_path / "linux-64").mkdir()
    with pytest.raises(UsageError, match="no repodata.json"):
        Channel(tmp_path).listing("linux-64")
    (tmp_path / "linux-64" / "repodata.json").write_text('{"packages": {"a-1-0.tar.bz2": ')
    with pytest.raises(FetchError, match="not valid JSON"):
        Channel(tmp_path).listing("linux-64")


@pytest.mark.parametrize("subdir", ["../etc", "Linux-64", "", "linux 64", "a/b"])
def test_bad_subdir_is_refused(tmp_path: Path, subdir: str) -> None:
    """A subdir that is not a plain name never becomes a path or URL part."""
    with pytest.raises(UsageError):
        Channel(tmp_path).listing(subdir)


@pytest.mark.parametrize(
    "location",
    [
        "ftp://127.0.0.1/channel",
        "http://conda.anaconda.org/conda-forge",
        "https://user:secret@conda.anaconda.org/conda-forge",
        "https://conda.anaconda.org/conda-forge?x=1",
        "/does/not/exist",
    ],
)
def test_bad_channel_locations(location: str) -> None:
    """Only a directory, https, or plain http on loopback is accepted as a channel."""
    with pytest.raises(UsageError):
        Channel(location)


def test_split_filename() -> None:
    """File names split into stem and suffix; anything that could be a path does not."""
    assert split_filename("foo-1.0-py_0.conda") == ("foo-1.0-py_0", ".conda")
    assert split_filename("foo-bar-1.0-0.tar.bz2") == ("foo-bar-1.0-0", ".tar.bz2")
    assert split_filename("foo-1!2.0+local-h1_0.conda") == ("foo-1!2.0+local-h1_0", ".conda")
    for bad in ("x/y-1-0.conda", ".hidden-1-0.conda", "foo-1.conda", "foo-1-0.whl"):
        assert split_filename(bad) is None


# --------------------------------------------------------------------------------- file lists


def test_local_conda_and_tar_bz2_file_lists(standard) -> None:
    """Local artifacts give their paths from info/paths.json, or info/files when it is absent."""
    root, _ = standard
    channel = Channel(root)
    clob = channel.file_list(artifact(channel, "linux-64", "clob-1.0-0"))
    assert clob.paths == CLOBBER_FILES and clob.name == "clob" and clob.subdir == "linux-64"
    assert clob.version == "1.0" and clob.build == "0"
    old = channel.file_list(artifact(channel, "linux-64", "old-1.0-0"))
    assert old.paths == ("bin/old",)


def test_tar_bz2_alone_is_read_too(standard, tmp_path: Path) -> None:
    """When only the .tar.bz2 of a build is listed, it is the one read."""
    root, built = standard
    sub = tmp_path / "linux-64"
    sub.mkdir()
    shutil.copy(built["clob.tar.bz2"], sub)
    write_repodata(sub)
    channel = Channel(tmp_path)
    clob = artifact(channel, "linux-64", "clob-1.0-0")
    assert clob.filenames == ("clob-1.0-0.tar.bz2",)
    assert channel.file_list(clob).paths == CLOBBER_FILES


def test_conda_over_http_reads_only_the_info_part(standard) -> None:
    """Over HTTP a .conda's file list costs a few Range requests, far less than the file."""
    root, built = standard
    size = built["big.conda"].stat().st_size
    assert size > BIG_PAYLOAD
    with LocalServer(root) as server:
        channel = Channel(server.url, session_factory=fast_session)
        big = artifact(channel, "linux-64", "big-1.0-0")
        served_before = server.bytes_sent
        file_list = channel.file_list(big)
        served = server.bytes_sent - served_before
        ranges = [h.get("Range") for m, p, h in server.requests if p.endswith(".conda")]
    assert file_list.paths == ("bin/big", "lib/libbig.so")
    assert served < 30_000 < size // 50, (served, size)
    assert all(r and r.startswith("bytes=") for r in ranges) and 1 <= len(ranges) <= 4
    assert channel.stats.bytes == served


def test_tar_bz2_over_http_streams(standard) -> None:
    """Over HTTP a .tar.bz2 is read as one streaming GET."""
    root, _ = standard
    with LocalServer(root) as server:
        channel = Channel(server.url, session_factory=fast_session)
        old = artifact(channel, "linux-64", "old-1.0-0")
        assert channel.file_list(old).paths == ("bin/old",)
        gets = [p for m, p, h in server.requests if p.endswith(".tar.bz2")]
    assert gets == ["/linux-64/old-1.0-0.tar.bz2"]


def test_server_without_range_support_falls_back_to_a_download(standard) -> None:
    """A server that ignores Range gets a whole download, still bounded, still correct."""
    root, built = standard
    data = built["clob.conda"].read_bytes()
    with LocalServer(root) as server:
        server.route("/linux-64/clob-1.0-0.conda", Reply(200, data))
        channel = Channel(server.url, session_factory=fast_session)
        clob = artifact(channel, "linux-64", "clob-1.0-0")
        assert channel.file_list(clob).paths == CLOBBER_FILES


def test_5xx_is_retried_then_fails_closed(standard) -> None:
    """A 503 is retried; one that persists is a FetchError, never an empty file list."""
    root, _ = standard
    with LocalServer(root) as server:
        channel = Channel(server.url, session_factory=fast_session)
        old = artifact(channel, "linux-64", "old-1.0-0")
        path = "/linux-64/old-1.0-0.tar.bz2"
        server.route(path, Reply(503), Reply(503), Reply(503), Reply(503))
        with pytest.raises(FetchError, match="503"):
            channel.file_list(old)
        data = (root / "linux-64" / "old-1.0-0.tar.bz2").read_bytes()
        server.route(path, Reply(503), Reply(200, data))
        assert channel.file_list(old).paths == ("bin/old",)


def test_hostile_range_answers_are_refused(standard) -> None:
    """A 206 larger than the range asked for is refused before its body is used."""
    root, built = standard
    data = built["clob.conda"].read_bytes()
    with LocalServer(root) as server:
        server.route(
            "/linux-64/clob-1.0-0.conda",
            Reply(206, data * 5, {"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"}),
        )
        channel = Channel(server.url, session_factory=fast_session)
        clob = artifact(channel, "linux-64", "clob-1.0-0")
        with pytest.raises(FetchError, match="Range answer"):
            channel.file_list(clob)


def test_size_differing_from_repodata_is_an_error(standard, tmp_path: Path) -> None:
    """The server's size must be repodata's: a replaced artifact is not read as if it were it."""
    root, built = standard
    sub = tmp_path / "linux-64"
    sub.mkdir()
    shutil.copy(built["big.conda"], sub)
    write_repodata(sub)
    (sub / built["big.conda"].name).write_bytes(built["big.conda"].read_bytes() + b"\0" * 10)
    with LocalServer(tmp_path) as server:
        channel = Channel(server.url, session_factory=fast_session)
        with pytest.raises(ArtifactReadError, match="repodata says"):
            channel.file_list(artifact(channel, "linux-64", "big-1.0-0"))


def test_read_timeout_fails_closed() -> None:
    """A server that accepts and never answers times out into a FetchError."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        channel = Channel(
            f"http://127.0.0.1:{port}",
            session_factory=lambda: make_session(timeout=(0.5, 0.5)),
        )
        stuck = Artifact("linux-64", "a-1-0", "a", ("a-1-0.tar.bz2",), 10)
        with pytest.raises(FetchError):
            channel.file_list(stuck)


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def hostile_channel(tmp_path: Path, name: str, maker) -> tuple[Channel, Artifact]:
    sub = tmp_path / "linux-64"
    sub.mkdir(exist_ok=True)
    path = maker(sub / name)
    write_repodata(sub)
    channel = Channel(tmp_path)
    stem, _ = split_filename(path.name)
    return channel, artifact(channel, "linux-64", stem)


@pytest.mark.parametrize(
    ("name", "maker", "why"),
    [
        (
            "trunc-1-0.conda",
            lambda p: write_bytes(p, b"PK\x03\x04" + b"\0" * 100),
            "unreadable archive",
        ),
        (
            "noinfo-1-0.conda",
            lambda p: write_conda(p, [], [Entry("lib/x", b"x")], omit=[f"info-{p.stem}.tar.zst"]),
            "unreadable archive",
        ),
        (
            "badzstd-1-0.conda",
            lambda p: write_conda(
                p,
                [],
                [Entry("lib/x", b"x")],
                omit=[f"info-{p.stem}.tar.zst"],
                extra={f"info-{p.stem}.tar.zst": b"\x28\xb5\x2f\xfd" + b"\xff" * 64},
            ),
            "unreadable archive",
        ),
        (
            "badpaths-1-0.tar.bz2",
            lambda p: write_hostile(
                p, [*metadata_entries("badpaths"), Entry("info/paths.json", b"{not json")]
            ),
            "paths.json: not valid JSON",
        ),
        (
            "shape-1-0.conda",
            lambda p: write_hostile(
                p, [*metadata_entries("shape"), Entry("info/paths.json", b'{"paths": [{}]}')]
            ),
            "non-empty '_path' string",
        ),
        (
            "nolist-1-0.tar.bz2",
            lambda p: write_hostile(p, [*metadata_entries("nolist"), Entry("bin/x", b"x")]),
            "neither info/paths.json nor info/files",
        ),
        (
            "junk-1-0.tar.bz2",
            lambda p: write_bytes(p, b"BZh9" + b"\x00" * 64),
            "unreadable archive",
        ),
    ],
)
def test_damaged_artifacts_are_errors(tmp_path: Path, name: str, maker, why: str) -> None:
    """A damaged archive or metadata raises ArtifactReadError naming the problem, never []."""
    channel, item = hostile_channel(tmp_path, name, maker)
    with pytest.raises(ArtifactReadError, match=why):
        channel.file_list(item)


def test_file_lists_dir_layouts(tmp_path: Path) -> None:
    """file_list_path knows the libcfgraph and the flat layout, one function for both users."""
    flat = tmp_path / "flat"
    assert file_list_path(flat, "foo", "noarch", "foo-1-0") == flat / "noarch" / "foo-1-0.json"
    cfg = tmp_path / "cfg"
    (cfg / "artifacts").mkdir(parents=True)
    assert file_list_path(cfg, "foo", "noarch", "foo-1-0") == (
        cfg / "artifacts" / "foo" / "conda-forge" / "noarch" / "foo-1-0.json"
    )


def test_file_lists_dir_wins_over_the_artifact(standard, tmp_path: Path) -> None:
    """A file list on disk is used before the artifact; a missing one falls back to it."""
    root, _ = standard
    lists = tmp_path / "lists" / "artifacts" / "clob" / "conda-forge" / "linux-64"
    lists.mkdir(parents=True)
    write_file_list(lists / "clob-1.0-0.json", "clob", "linux-64", ["from/disk"])
    channel = Channel(root, file_lists=tmp_path / "lists")
    assert channel.file_list(artifact(channel, "linux-64", "clob-1.0-0")).paths == ("from/disk",)
    assert channel.file_list(artifact(channel, "linux-64", "old-1.0-0")).paths == ("bin/old",)


def test_file_list_on_disk_of_another_package_is_refused(standard, tmp_path: Path) -> None:
    """A file list whose index names another package is a FileListError, not a clean list."""
    root, _ = standard
    (tmp_path / "linux-64").mkdir()
    write_file_list(tmp_path / "linux-64" / "clob-1.0-0.json", "openssl", "linux-64", ["x"])
    (tmp_path / "linux-64" / "old-1.0-0.json").write_text("[]")
    channel = Channel(root, file_lists=tmp_path)
    with pytest.raises(FileListError, match="index.name"):
        channel.file_list(artifact(channel, "linux-64", "clob-1.0-0"))
    with pytest.raises(FileListError):
        channel.file_list(artifact(channel, "linux-64", "old-1.0-0"))


# --------------------------------------------------------------------------------- remote repodata


def test_remote_repodata_is_cached_and_revalidated(standard, tmp_path: Path) -> None:
    """Remote repodata is kept in the cache dir and revalidated with If-None-Match."""
    root, _ = standard
    body = (root / "linux-64" / "repodata.json").read_bytes()
    with LocalServer(root) as server:
        server.route("/linux-64/repodata.json", Reply(200, body, {"ETag": '"v1"'}), Reply(304, b""))
        channel = Channel(server.url, cache_dir=tmp_path, session_factory=fast_session)
        first = channel.listing("linux-64")
        second = channel.listing("linux-64")
        headers = [h for m, p, h in server.requests if p.endswith("repodata.json")]
    assert [a.stem for a in first.artifacts] == [a.stem for a in second.artifacts]
    assert "If-None-Match" not in headers[0] and headers[1]["If-None-Match"] == '"v1"'


def test_remote_repodata_failures(standard) -> None:
    """A 404 is a usage error (wrong channel or subdir); a persistent 5xx cannot be scanned."""
    root, _ = standard
    with LocalServer(root) as server:
        channel = Channel(server.url, session_factory=fast_session)
        with pytest.raises(UsageError, match="404"):
            channel.listing("osx-64")
        server.route("/noarch/repodata.json", Reply(502))
        with pytest.raises(FetchError, match="502"):
            channel.listing("noarch")


# ------------------------------------------------------------------------- update_filters API


def test_iter_file_lists_of_named_packages(standard) -> None:
    """The update_filters API yields the file lists of the named packages only, in order."""
    root, _ = standard
    with LocalServer(root) as server:
        channel = Channel(server.url, session_factory=fast_session)
        got = [
            (a.key, fl.paths)
            for a, fl in iter_file_lists(channel, ["clob", "pyclob"], ["linux-64", "noarch"])
        ]
    assert got == [
        ("linux-64/clob-1.0-0", CLOBBER_FILES),
        (
            "noarch/pyclob-1.0-0",
            ("site-packages/certifi/core.py", "site-packages/pyclob/__init__.py"),
        ),
    ]


def test_channel_file_lists_source(standard) -> None:
    """ChannelFileLists serves file_lists(name) and refuses names it was not made for."""
    root, _ = standard
    source = ChannelFileLists(Channel(root), ["clob", "nothere"], ["linux-64"])
    assert [fl.paths for fl in source.file_lists("clob")] == [CLOBBER_FILES]
    assert source.file_lists("nothere") == []
    assert "linux-64" in source.describe()
    with pytest.raises(UsageError):
        source.file_lists("old")


def test_iter_file_lists_fails_closed_on_a_refused_record(tmp_path: Path) -> None:
    """A refused repodata record of a wanted package stops the generator with an error."""
    sub = tmp_path / "linux-64"
    build_package(sub, "clob", {"lib/x": b"x"})
    write_repodata(sub, extra={"packages.conda": {"clob-2-0.conda": {"name": "clob", "size": -1}}})
    with pytest.raises(FetchError, match="refused repodata record"):
        list(iter_file_lists(Channel(tmp_path), ["clob"], ["linux-64"]))
    with pytest.raises(UsageError):
        list(iter_file_lists(Channel(tmp_path), ["../x"], ["linux-64"]))


def test_sessions_are_per_thread(standard) -> None:
    """Each thread gets its own session from the factory."""
    root, _ = standard
    made: list[object] = []

    def factory():
        made.append(object())
        return fast_session()

    channel = Channel(root, session_factory=factory)
    sessions = []
    threads = [threading.Thread(target=lambda: sessions.append(channel.session)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(s) for s in sessions}) == 3 and len(made) == 3
    assert json.dumps(len(made)) == "3"


def test_artifact_is_a_compact_immutable_value() -> None:
    """An Artifact keeps a key and which files are listed, yet behaves as the plain value it
    was: stem, file names (the .conda first), equality, hashing, pickling, no mutation."""
    import pickle

    both = Artifact("linux-64", "a-1-0", "a", ("a-1-0.conda", "a-1-0.tar.bz2"), 5)
    assert (both.key, both.stem, both.filename) == ("linux-64/a-1-0", "a-1-0", "a-1-0.conda")
    assert both.file_keys == ("linux-64/a-1-0.conda", "linux-64/a-1-0.tar.bz2")
    assert both == Artifact.listed("linux-64", "a-1-0", "a", (".conda", ".tar.bz2"), 5)
    assert hash(both) == hash(pickle.loads(pickle.dumps(both)))  # noqa: S301 (our own bytes)
    odd = Artifact("linux-64", "a-1-0", "a", ("elsewhere.zip",))
    assert odd.filenames == ("elsewhere.zip",) and odd != both
    with pytest.raises(AttributeError):
        both.size = 6  # type: ignore[misc]
