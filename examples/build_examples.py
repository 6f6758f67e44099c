"""Build the example channel in examples/channel/ with conda-package-handling (run from anywhere).

Four packages, each in both formats, with a ``repodata.json`` per subdir:

- ``tinylib`` (linux-64): a clean library, valid;
- ``sslvendor`` (linux-64): vendors OpenSSL's headers and libssl, AV201;
- ``certbundle`` (noarch): ships ``site-packages/certifi``, AV201;
- ``escaper`` (linux-64): a symlink that leaves the install prefix, AV504.

The built artifacts are committed so the README's first command works offline;
rerun this after changing it (``.venv/bin/python examples/build_examples.py``)
and update the golden verdicts with ``AV_UPDATE_GOLDEN=1 .venv/bin/python -m pytest
tests/test_examples.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from conda_package_handling import api as cph_api

HERE = Path(__file__).resolve().parent
CHANNEL = HERE / "channel"
#: A fixed mtime for every staged file, so rebuilds differ as little as possible.
EPOCH = 1_700_000_000

PACKAGES: list[dict[str, Any]] = [
    {
        "name": "tinylib",
        "version": "1.0",
        "build": "h1234567_0",
        "subdir": "linux-64",
        "files": {
            "include/tiny.h": b"int tiny(void);\n",
            "lib/libtiny.so.1.0": b"\x7fELF not really a library\n",
        },
        "symlinks": {"lib/libtiny.so": "libtiny.so.1.0"},
    },
    {
        "name": "sslvendor",
        "version": "2.1",
        "build": "h7654321_0",
        "subdir": "linux-64",
        "files": {
            "bin/sslvendor": b"#!/bin/sh\necho vendored\n",
            "include/openssl/ssl.h": b"/* a vendored copy of OpenSSL's header */\n",
            "include/openssl/crypto.h": b"/* a vendored copy of OpenSSL's header */\n",
            "lib/libssl.so.3": b"\x7fELF a vendored libssl\n",
        },
        "symlinks": {},
    },
    {
        "name": "certbundle",
        "version": "2024.1",
        "build": "pyhd8ed1ab_0",
        "subdir": "noarch",
        "noarch": "python",
        "files": {
            "site-packages/certbundle/__init__.py": b"from certifi import where\n",
            "site-packages/certifi/__init__.py": b"def where():\n    return 'cacert.pem'\n",
            "site-packages/certifi/cacert.pem": b"-----BEGIN CERTIFICATE-----\n",
        },
        "symlinks": {},
    },
    {
        "name": "escaper",
        "version": "0.3",
        "build": "h0000000_0",
        "subdir": "linux-64",
        "files": {"share/escaper/README": b"nothing to see here\n"},
        "symlinks": {"share/escaper/passwd": "../../../../etc/passwd"},
    },
]


def _index(pkg: dict[str, Any]) -> dict[str, Any]:
    index: dict[str, Any] = {
        "build": pkg["build"],
        "build_number": 0,
        "depends": ["python >=3.8"] if pkg.get("noarch") == "python" else [],
        "license": "BSD-3-Clause",
        "name": pkg["name"],
        "subdir": pkg["subdir"],
        "timestamp": EPOCH * 1000,
        "version": pkg["version"],
    }
    if pkg.get("noarch"):
        index["noarch"] = pkg["noarch"]
    else:
        index["arch"], index["platform"] = "x86_64", "linux"
    return index


def _paths_json(pkg: dict[str, Any]) -> dict[str, Any]:
    entries = [
        {
            "_path": path,
            "path_type": "hardlink",
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_in_bytes": len(data),
        }
        for path, data in pkg["files"].items()
    ]
    entries += [{"_path": path, "path_type": "softlink"} for path in pkg["symlinks"]]
    return {"paths": sorted(entries, key=lambda e: e["_path"]), "paths_version": 1}


def _stage(prefix: Path, pkg: dict[str, Any]) -> list[str]:
    index = _index(pkg)
    members: dict[str, bytes] = dict(pkg["files"])
    members["info/index.json"] = json.dumps(index, indent=2, sort_keys=True).encode()
    members["info/paths.json"] = json.dumps(_paths_json(pkg), indent=2).encode()
    listed = sorted([*pkg["files"], *pkg["symlinks"]])
    members["info/files"] = "".join(f"{p}\n" for p in listed).encode()
    for path, data in members.items():
        target = prefix / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.utime(target, (EPOCH, EPOCH))
    for path, link in pkg["symlinks"].items():
        (prefix / path).symlink_to(link)
        os.utime(prefix / path, (EPOCH, EPOCH), follow_symlinks=False)
    return sorted([*members, *pkg["symlinks"]])


def build(channel: Path = CHANNEL) -> list[Path]:
    """Rebuild every example artifact and each subdir's repodata.json; return the artifacts."""
    if channel.exists():
        shutil.rmtree(channel)
    built: list[Path] = []
    repodata: dict[str, dict[str, Any]] = {}
    for pkg in PACKAGES:
        subdir_dir = channel / pkg["subdir"]
        subdir_dir.mkdir(parents=True, exist_ok=True)
        stem = f"{pkg['name']}-{pkg['version']}-{pkg['build']}"
        data = repodata.setdefault(
            pkg["subdir"],
            {"info": {"subdir": pkg["subdir"]}, "packages": {}, "packages.conda": {}},
        )
        data.setdefault("removed", [])
        with tempfile.TemporaryDirectory(prefix="example-") as tmp:
            members = _stage(Path(tmp), pkg)
            for ext, key in ((".tar.bz2", "packages"), (".conda", "packages.conda")):
                out = subdir_dir / f"{stem}{ext}"
                cph_api.create(tmp, members, out.name, str(subdir_dir))
                raw = out.read_bytes()
                record = _index(pkg)
                record.update(
                    md5=hashlib.md5(raw, usedforsecurity=False).hexdigest(),
                    sha256=hashlib.sha256(raw).hexdigest(),
                    size=len(raw),
                )
                data[key][out.name] = dict(sorted(record.items()))
                built.append(out)
    for subdir, data in repodata.items():
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        (channel / subdir / "repodata.json").write_text(text, encoding="utf-8")
    return built


def main() -> int:
    for path in build():
        print(path.relative_to(HERE.parent), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
