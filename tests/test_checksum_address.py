"""Red team of verifier/core/hashing.py `checksum_address` (EIP-55 without eth-utils) and of the
trust anchors that use it: held to eth-utils on hostile text (tests/test_keyfile.py holds it on
20-byte values only), no two addresses made equal, and every refusal a ValueError or TypeError."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.core.anchors import TrustAnchor, TrustAnchors
from verifier.core.errors import TrustError
from verifier.core.hashing import checksum_address

# Characters that str.lower() or a Unicode-aware match could take for hex digits or "0x": Unicode
# digits, fullwidth forms, the Kelvin sign (lower: "k"), dotted capital I (lower: two characters),
# whitespace, "_" (int() accepts it), and the real ones in both cases.
_HOSTILE = "0123456789abcdefABCDEFxX _\n\t\u0663\uff10\uff41\u212a\u0130\u00a0,+-"


def _answer(f: Any, value: Any) -> tuple[str, Any]:
    try:
        return "ok", f(value)
    except (ValueError, TypeError):
        return "refused", None


@settings(max_examples=1500, deadline=None)
@given(
    st.one_of(
        st.text(alphabet=_HOSTILE, min_size=38, max_size=44),
        st.text(alphabet="0123456789abcdefABCDEF", min_size=40, max_size=40).map(lambda s: "0x" + s),
        st.tuples(
            st.text(alphabet="0123456789abcdefABCDEF", min_size=40, max_size=40),
            st.integers(0, 41),
            st.sampled_from(list(_HOSTILE)),
        ).map(lambda t: "0x" + t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]),
    )
)
def test_checksum_address_accepts_and_answers_exactly_what_eth_utils_does_on_text(text: str) -> None:
    assert _answer(checksum_address, text) == _answer(to_checksum_address, text)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=20, max_size=20), st.binary(min_size=20, max_size=20))
def test_two_addresses_never_checksum_alike_and_anchors_match_their_own_registry_only(a: bytes, b: bytes) -> None:
    anchor = TrustAnchor("Ministère", 31337, b"\x44" * 32, checksum_address(a), checksum_address(a))
    anchors = TrustAnchors((anchor,), "test")
    lower, upper = "0x" + a.hex(), "0x" + a.hex().upper()
    assert anchors.find(31337, lower) is anchor is anchors.find(31337, upper)
    assert anchors.find(1, lower) is None
    if a != b:
        assert checksum_address(a) != checksum_address(b)
        assert anchors.find(31337, "0x" + b.hex()) is None


@pytest.mark.parametrize(
    "text",
    [
        "0x" + "52908400098527886e0f7030069857d2e4169ee" + "\u0663",  # an Arabic-Indic 3
        "0x" + "52908400098527886e0f7030069857d2e4169ee" + "\uff10",  # a fullwidth 0
        "0X" + "52908400098527886e0f7030069857d2e4169ee7",
        "52908400098527886e0f7030069857d2e4169ee7",
        " 0x52908400098527886e0f7030069857d2e4169ee7",
        "0x52908400098527886e0f7030069857d2e4169ee7\n",
    ],
)
def test_a_trust_anchor_file_takes_only_0x_and_40_ascii_hex_digits(text: str) -> None:
    """Pins what holds: anchors.py's own pattern refuses before checksum_address is asked."""
    good = "0x52908400098527886e0f7030069857d2e4169ee7"
    obj = {"name": "M", "chainId": 1, "genesisHash": "0x" + "44" * 32, "registry": text, "rootAuthority": good}
    with pytest.raises(TrustError, match="registry: must be a 0x address"):
        TrustAnchor.from_dict(obj, "anchors[0]")


@pytest.mark.parametrize("value", [None, 123, 0, 1.5, ["0x" + "00" * 20], {"address": "0x" + "00" * 20}])
def test_what_is_neither_text_nor_bytes_is_a_value_or_type_error_as_with_eth_utils(value: Any) -> None:
    """The docstring promises ValueError for what is not an address; eth-utils raised ValueError
    (numbers) or TypeError (None). Today an AttributeError ('int' object has no attribute
    'lower'): a hand-edited deployment.json with "registry": 0 reaches it through
    deployment.trust_anchor, and the message names no address."""
    with pytest.raises((ValueError, TypeError)):
        checksum_address(value)
