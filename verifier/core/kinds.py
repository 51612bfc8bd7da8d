"""Document kinds: small integer codes on chain, names everywhere else.

The codes are part of the receipt format and of the issuers' on-chain permissions (a bit set):
never renumber them; only add new ones below 32.
"""

from __future__ import annotations

from verifier.core.catalogue import Catalogue
from verifier.core.errors import SceauError

KINDS: dict[str, int] = {
    "diploma": 1,
    "residence_permit": 2,
    "transcript": 3,
    "certificate": 4,
    "identity_document": 5,
}
NAMES: dict[int, str] = {code: name for name, code in KINDS.items()}
LABELS = Catalogue.load("verifier.core", "locales/kinds.json")


class UnknownKind(SceauError):
    """A document kind that Sceau does not define."""


def kind_code(name: str) -> int:
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownKind(f"unknown document kind {name!r}; known kinds: {', '.join(KINDS)}") from None


def kind_name(code: int) -> str:
    return NAMES.get(code, f"kind-{code}")


def kinds_mask(names: list[str]) -> int:
    mask = 0
    for name in names:
        mask |= 1 << kind_code(name)
    return mask


def mask_names(mask: int) -> list[str]:
    return [name for name, code in KINDS.items() if mask >> code & 1]
