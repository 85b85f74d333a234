"""Stand-in bytes for the media a served page references (habrastorage.org images, ``*_files/`` resources).

Every path gets its own deterministic, valid file derived from ``sha256(path)``: PNG (size and pixels),
GIF (palette and pixels), JPEG (grey level, plus the digest in a COM segment), SVG; anything else an image
could be (``.webp``, no extension) is a PNG sent as ``image/png``. Scripts, styles and text of
browser-saved pages get a short deterministic text. The media pipeline downloads these into the WARC.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from functools import lru_cache

_TEXT_TYPES = {
    ".js": "application/javascript",
    ".css": "text/css",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
}


def _extension(path: str) -> str:
    name = path.rsplit("/", 1)[-1].split("?", 1)[0].lower()
    return "." + name.rsplit(".", 1)[-1] if "." in name else ""


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(digest: bytes) -> bytes:
    """An RGB PNG, 8..71 px a side, a two-colour diagonal pattern; all from the digest."""
    width, height = 8 + digest[0] % 64, 8 + digest[1] % 64
    ink, paper = digest[2:5], digest[5:8]
    stripe = 2 + digest[8] % 6
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            rows += ink if ((x + y) // stripe) % 2 else paper
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"tEXt", b"Comment\x00habrmirror replica " + digest.hex().encode())
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


def gif(digest: bytes) -> bytes:
    """A GIF89a, 4-colour palette and pixels from the digest, LZW with a clear code every two pixels."""
    width, height = 4 + digest[0] % 28, 4 + digest[1] % 28
    palette = digest[2:14]
    pixels = [(digest[(i % 16) + 14] >> (2 * (i % 4))) & 3 for i in range(width * height)]
    clear, end = 4, 5  # minimum code size 2: codes are 3 bits wide while the table stays below 8 entries
    codes: list[int] = []
    for i in range(0, len(pixels), 2):
        codes += [clear, *pixels[i : i + 2]]
    codes.append(end)
    bits, nbits, data = 0, 0, bytearray()
    for code in codes:
        bits |= code << nbits
        nbits += 3
        while nbits >= 8:
            data.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8
    if nbits:
        data.append(bits & 0xFF)
    blocks = b"".join(bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255))
    comment = b"habrmirror replica " + digest.hex().encode()
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", width, height, 0x81, 0, 0)  # global table of 4 colours
        + palette
        + b"\x21\xfe"
        + bytes([len(comment)])
        + comment
        + b"\x00"
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, width, height, 0)
        + b"\x02"
        + blocks
        + b"\x00\x3b"
    )


def jpeg(digest: bytes) -> bytes:
    """A baseline greyscale 8x8 JPEG of one grey level, with one-code Huffman tables; digest in COM."""
    level = digest[0]
    value = (level - 128) * 8  # DC coefficient of a flat block with an all-ones quantisation table
    size = abs(value).bit_length()
    magnitude = value if value >= 0 else value + (1 << size) - 1
    # bits: DC code "0", `size` magnitude bits, AC code "0" (end of block), padded with ones
    bitstring = "0" + (format(magnitude, f"0{size}b") if size else "") + "0"
    bitstring += "1" * (-len(bitstring) % 8)
    scan = bytearray()
    for i in range(0, len(bitstring), 8):
        byte = int(bitstring[i : i + 8], 2)
        scan.append(byte)
        if byte == 0xFF:
            scan.append(0)  # byte stuffing

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload

    one_code = bytes([1] + [0] * 15)
    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xFE, b"habrmirror replica " + digest.hex().encode())
        + segment(0xDB, b"\x00" + b"\x01" * 64)
        + segment(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")
        + segment(0xC4, b"\x00" + one_code + bytes([size]))
        + segment(0xC4, b"\x10" + one_code + b"\x00")
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + bytes(scan)
        + b"\xff\xd9"
    )


def svg(digest: bytes) -> bytes:
    """A tiny SVG: a rectangle in a digest colour."""
    width, height = 8 + digest[0] % 64, 8 + digest[1] % 64
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f"<!-- habrmirror replica {digest.hex()} -->"
        f'<rect width="100%" height="100%" fill="#{digest[2:5].hex()}"/></svg>\n'
    ).encode()


@lru_cache(maxsize=4096)
def resource(path: str) -> tuple[bytes, str]:
    """``(bytes, content type)`` for a media path; the same path always gives the same bytes."""
    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape")).digest()
    ext = _extension(path)
    if ext == ".gif":
        return gif(digest), "image/gif"
    if ext in (".jpg", ".jpeg"):
        return jpeg(digest), "image/jpeg"
    if ext == ".svg":
        return svg(digest), "image/svg+xml"
    if ext in _TEXT_TYPES:
        text = f"/* habrmirror replica stand-in for {path.rsplit('/', 1)[-1]}: {digest.hex()} */\n"
        return text.encode(), _TEXT_TYPES[ext]
    return png(digest), "image/png"  # .png, .webp, no extension: always a real PNG
