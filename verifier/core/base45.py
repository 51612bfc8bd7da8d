"""Base45 (RFC 9285): the text encoding that fills a QR code's alphanumeric mode best, as in the
EU Digital COVID Certificate."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUES = {c: i for i, c in enumerate(ALPHABET)}


def b45encode(data: bytes) -> str:
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        c, n = divmod(n, 45 * 45)
        b, a = divmod(n, 45)
        out += [ALPHABET[a], ALPHABET[b], ALPHABET[c]]
    if len(data) % 2:
        b, a = divmod(data[-1], 45)
        out += [ALPHABET[a], ALPHABET[b]]
    return "".join(out)


def b45decode(text: str) -> bytes:
    try:
        values = [_VALUES[c] for c in text]
    except KeyError as exc:
        raise ValueError(f"not Base45: character {exc.args[0]!r}") from None
    if len(values) % 3 == 1:
        raise ValueError("not Base45: wrong length")
    out = bytearray()
    for i in range(0, len(values), 3):
        chunk = values[i : i + 3]
        if len(chunk) == 3:
            n = chunk[0] + chunk[1] * 45 + chunk[2] * 45 * 45
            if n > 0xFFFF:
                raise ValueError("not Base45: value out of range")
            out += n.to_bytes(2, "big")
        else:
            n = chunk[0] + chunk[1] * 45
            if n > 0xFF:
                raise ValueError("not Base45: value out of range")
            out.append(n)
    return bytes(out)
