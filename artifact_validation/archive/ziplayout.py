"""The canonical layout of a .conda ZIP: one reading for every reader (AV305).

``zipfile`` trusts the central directory at the end of the file; streaming
readers (rattler, pixi) walk the local headers from offset 0. A hostile
file can hold a second package in the gap one of them skips. Canonical
means: the first local header at offset 0, every local header equal to its
central-directory entry, members back to back, the central directory right
after the last member, then the end record, with no comment and nothing
after it.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable

from artifact_validation.core.markdown import display_path

_LOCAL = struct.Struct("<4s5HLLLHH")  # signature, version, flags, method, time, date, crc, sizes
_EOCD = struct.Struct("<4s4HLLH")  # signature, disks, entries, entries, cd size, cd offset, comment
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_DESCRIPTOR = b"PK\x07\x08"
_MAX_32 = 0xFFFFFFFF

#: ``peek(n, pos)``: up to ``n`` bytes of the file at ``pos``.
Peek = Callable[[int, int], bytes]


def _central_directory(peek: Peek, size: int) -> tuple[int, int, int] | str:
    """``(cd offset, cd size, where the end records start)``, or why the end is not canonical."""
    eocd_at = size - _EOCD.size
    raw = peek(_EOCD.size, eocd_at)
    if len(raw) != _EOCD.size or raw[:4] != b"PK\x05\x06":
        return "the file does not end with the ZIP end record (a comment or data after it)"
    _, _, _, _, _, cd_size, cd_offset, comment = _EOCD.unpack(raw)
    if comment:
        return "the ZIP has an archive comment"
    end_records = eocd_at
    if _MAX_32 in (cd_offset, cd_size):
        locator_at = eocd_at - _ZIP64_LOCATOR.size
        sig, _, record_at, _ = _ZIP64_LOCATOR.unpack(peek(_ZIP64_LOCATOR.size, locator_at))
        record = peek(_ZIP64_EOCD.size, record_at)
        if sig != b"PK\x06\x07" or len(record) != _ZIP64_EOCD.size or record[:4] != b"PK\x06\x06":
            return "the ZIP64 end records are damaged"
        fields = _ZIP64_EOCD.unpack(record)
        cd_size, cd_offset = fields[8], fields[9]
        if record_at + _ZIP64_EOCD.size != locator_at:
            return "data between the ZIP64 end records"
        end_records = record_at
    return cd_offset, cd_size, end_records


def layout_problems(zf: zipfile.ZipFile, peek: Peek, size: int) -> list[str]:
    """Why the ZIP ``zf`` (whose bytes ``peek`` reads, ``size`` long) is not canonical."""
    central = _central_directory(peek, size)
    if isinstance(central, str):
        return [central]
    cd_offset, cd_size, end_records = central
    problems = []
    position = 0
    for info in sorted(zf.infolist(), key=lambda i: i.header_offset):
        name = display_path(info.filename)
        if info.header_offset != position:
            what = "bytes before" if info.header_offset > position else "an overlap at"
            problems.append(f"{what} {name!r} (offset {info.header_offset}, expected {position})")
            return problems
        header = peek(_LOCAL.size, position)
        if len(header) != _LOCAL.size or header[:4] != b"PK\x03\x04":
            return [*problems, f"no local header for {name!r} at offset {position}"]
        _, _, flags, method, _, _, crc, csize, usize, nlen, elen = _LOCAL.unpack(header)
        local_name = peek(nlen, position + _LOCAL.size)
        if local_name != info.orig_filename.encode("utf-8" if flags & 0x800 else "cp437"):
            problems.append(f"the local header of {name!r} names another file")
        if method != info.compress_type:
            problems.append(f"the local header of {name!r} has another compression method")
        sized = not flags & 0x08
        if sized and crc != info.CRC:
            problems.append(f"the local header of {name!r} has another CRC")
        if sized and _MAX_32 not in (csize, usize):
            if (csize, usize) != (info.compress_size, info.file_size):
                problems.append(f"the local header of {name!r} has other sizes")
        position += _LOCAL.size + nlen + elen + info.compress_size
        if not sized:  # a data descriptor follows the data: 12 or 16 bytes (24 with ZIP64)
            zip64 = max(info.compress_size, info.file_size) >= _MAX_32
            length = 20 if zip64 else 12
            position += length + (4 if peek(4, position) == _DESCRIPTOR else 0)
    if position != cd_offset:
        what = "bytes after the last member" if cd_offset > position else "members overlap"
        problems.append(f"{what}, before the central directory (offset {cd_offset})")
    if cd_offset + cd_size != end_records:
        problems.append("bytes between the central directory and the end records")
    return problems
