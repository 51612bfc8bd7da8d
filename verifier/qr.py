"""Reading a seal from a picture with a real QR decoder (zxing-cpp)."""

from __future__ import annotations

import warnings
from pathlib import Path

from verifier import limits
from verifier.core.errors import DocumentError

#: What a camera or a scanner writes. Pillow's other formats are refused unread: EPS would run
#: Ghostscript, and none of them is how a seal is photographed.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")


def decode_qr_image(path: Path) -> str:
    """The seal text in the picture at `path`. Its size is read from the header first (Pillow opens
    lazily) and a picture over SCEAU_MAX_IMAGE_PIXELS is refused before any pixel is decoded."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    if not path.exists():
        raise DocumentError(f"{path}: no such image")
    cap = limits.current().max_image_pixels
    try:
        with warnings.catch_warnings():
            # our bound, not Pillow's process-wide MAX_IMAGE_PIXELS warning and error, decides
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path, formats=IMAGE_FORMATS)
        with image:
            width, height = image.size
            if width * height > cap:
                what = f"{path.name}: a picture of {width}×{height} pixels"
                raise limits.refuse(what, "SCEAU_MAX_IMAGE_PIXELS", cap, "pixels")
            image.draft("L", image.size)  # JPEG: decode straight to grey, a third of the memory
            results = zxingcpp.read_barcodes(image.convert("L"))
    except Image.DecompressionBombError:
        raise limits.refuse(f"{path.name}: the picture", "SCEAU_MAX_IMAGE_PIXELS", cap, "pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DocumentError(f"{path}: not an image ({exc.__class__.__name__})") from None
    texts = [r.text for r in results if r.text.startswith("SC1:")]
    if not texts:
        raise DocumentError(f"{path}: no Sceau seal found in the image")
    return texts[0]
