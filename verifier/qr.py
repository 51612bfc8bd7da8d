"""Reading a seal from a picture with a real QR decoder (zxing-cpp)."""

from __future__ import annotations

from pathlib import Path

from .errors import DocumentError


def decode_qr_image(path: Path) -> str:
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    if not path.exists():
        raise DocumentError(f"{path}: no such image")
    try:
        with Image.open(path) as image:
            results = zxingcpp.read_barcodes(image.convert("L"))
    except (UnidentifiedImageError, OSError) as exc:
        raise DocumentError(f"{path}: not an image ({exc.__class__.__name__})") from None
    texts = [r.text for r in results if r.text.startswith("SC1:")]
    if not texts:
        raise DocumentError(f"{path}: no Sceau seal found in the image")
    return texts[0]
