// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IssuerRegistry} from "./IssuerRegistry.sol";
import {IAnchorRegistry} from "./IAnchorRegistry.sol";

/**
 * @title AnchorRegistry
 * @notice Sceau's single deployed contract: the issuer registry plus the Merkle roots of document
 * batches and the revocation of single documents. No personal data is ever stored: a root commits
 * to salted SHA-256 fingerprints, and a revocation names a document by its index in its batch.
 *
 * A batch is named by (issuer key, root): the key that anchored it and its Merkle root. Nobody can
 * take another key's root, so a rival who anchors the same root first does not block its issuer.
 *
 * One storage slot per batch keeps anchoring near the floor of a stored root; revocations are
 * 4-bit reason codes packed 64 to a slot, so that revoking many documents of a batch costs a few
 * hundred gas each.
 */
contract AnchorRegistry is IssuerRegistry, IAnchorRegistry {
    /// @dev One slot: 40 + 32 + 8 bits (the key is the first mapping key, not stored again).
    struct Anchor {
        uint40 anchoredAt;
        uint32 documentCount;
        uint8 kind;
    }

    mapping(address key => mapping(bytes32 root => Anchor)) private _anchors;
    /// @dev Reason codes of revoked documents, 64 per word: document i is nibble (i % 64) of word i / 64.
    mapping(address key => mapping(bytes32 root => mapping(uint256 word => uint256 nibbles))) private _revocations;

    /// @dev See {IssuerRegistry-constructor}.
    constructor(uint48 initialAdminDelay, address rootAuthority, string memory rootName, address predecessorRegistry)
        IssuerRegistry(initialAdminDelay, rootAuthority, rootName, predecessorRegistry)
    {}

    // ---------------------------------------------------------------- anchoring

    /**
     * @notice Anchors the Merkle root of a batch of `documentCount` documents of `kind`, signed by
     * the caller's key; the batch is then named by (caller, `root`).
     *
     * Requirements: the caller is a key valid now, of an issuer that is not suspended and may
     * certify `kind`; `root` is not zero and the caller never anchored it; the batch is not empty.
     *
     * Emits a {RootAnchored} event.
     */
    function anchor(bytes32 root, uint32 documentCount, uint8 kind) external {
        if (root == bytes32(0) || documentCount == 0) revert AnchorEmptyBatch();
        uint32 issuerId = _requireAccreditedKey(msg.sender, kind);
        Anchor storage slot = _anchors[msg.sender][root];
        if (slot.anchoredAt != 0) revert AnchorAlreadyExists(msg.sender, root);
        slot.anchoredAt = uint40(block.timestamp);
        slot.documentCount = documentCount;
        slot.kind = kind;
        emit RootAnchored(root, msg.sender, issuerId, kind, documentCount);
    }

    /// @notice The anchor of `root` by `key` (anchoredAt is 0 when `key` never anchored it).
    function anchorOf(address key, bytes32 root) external view returns (Anchor memory) {
        return _anchors[key][root];
    }

    // ---------------------------------------------------------------- revocation

    /**
     * @notice Revokes document `index` of batch (`key`, `root`) for `reason`, optionally naming the
     * leaf of the document that replaces it (for a clerical error or a superseded document).
     *
     * Requirements: the caller is a key of the batch's issuer valid now, or the issuer's accreditor,
     * or the root authority; the document exists and is not yet revoked.
     *
     * Emits a {DocumentRevoked} event.
     */
    function revoke(address key, bytes32 root, uint256 index, Reason reason, bytes32 replacedBy) external {
        Anchor memory batch = _requireRevoker(key, root);
        _checkReason(reason);
        if (index >= batch.documentCount) revert AnchorIndexOutOfRange(key, root, index, batch.documentCount);
        mapping(uint256 word => uint256 nibbles) storage revocations = _revocations[key][root];
        uint256 shift = (index & 63) << 2;
        uint256 word = revocations[index >> 6];
        if ((word >> shift) & 0xf != 0) revert AnchorAlreadyRevoked(key, root, index);
        revocations[index >> 6] = word | (uint256(uint8(reason)) << shift);
        emit DocumentRevoked(root, key, index, reason, replacedBy, msg.sender);
    }

    /**
     * @notice Revokes, for one `reason`, every document of batch (`key`, `root`) whose bit is set in
     * `bitmap`: bit i of word w stands for document `offset + 256 * w + i`.
     *
     * Requirements: as for {revoke}; `offset` is a multiple of 64; every document named exists
     * and none is revoked yet (otherwise nothing is revoked).
     *
     * Emits a {DocumentsRevoked} event.
     */
    function revokeMany(address key, bytes32 root, uint256 offset, uint256[] calldata bitmap, Reason reason)
        external
    {
        uint32 count = _requireRevoker(key, root).documentCount;
        _checkReason(reason);
        if (offset & 63 != 0) revert AnchorMisalignedOffset(offset);
        (uint256 problem, uint256 index) =
            _revokeBitmap(_revocations[key][root], offset >> 6, bitmap, uint256(uint8(reason)), count);
        if (problem == _EMPTY) revert AnchorEmptyBatch();
        if (problem == _OUT_OF_RANGE) revert AnchorIndexOutOfRange(key, root, index, count);
        if (problem == _ALREADY_REVOKED) revert AnchorAlreadyRevoked(key, root, index);
        emit DocumentsRevoked(root, key, offset, bitmap, reason, msg.sender);
    }

    /// @notice The revocation reason of document `index` of batch (`key`, `root`) (None when not
    /// revoked).
    function revocationOf(address key, bytes32 root, uint256 index) public view returns (Reason) {
        return Reason((_revocations[key][root][index >> 6] >> ((index & 63) << 2)) & 0xf);
    }

    // ---------------------------------------------------------------- verification

    /**
     * @notice Everything a verifier needs about document `index` of batch (`key`, `root`), in one
     * call: the anchor, whether its key and issuer were accredited when it was anchored (its kind
     * was, or {anchor} would have refused it), and its revocation.
     */
    function documentStatus(address key, bytes32 root, uint256 index)
        public
        view
        returns (DocumentStatus memory status)
    {
        Anchor memory batch = _anchors[key][root];
        if (batch.anchoredAt == 0) return status;
        uint32 issuerId = _issuerOfKey(key);
        status = DocumentStatus({
            anchored: true,
            anchoredAt: batch.anchoredAt,
            key: key,
            issuerId: issuerId,
            documentCount: batch.documentCount,
            kind: batch.kind,
            keyValidAtAnchoring: _keyValidAt(key, batch.anchoredAt),
            issuerActiveAtAnchoring: issuerActiveAt(issuerId, batch.anchoredAt),
            revocation: index < batch.documentCount ? revocationOf(key, root, index) : Reason.None
        });
    }

    /**
     * @notice {documentStatus} plus an on-chain check, with OpenZeppelin's {MerkleProof}, that
     * `leaf` belongs to `root` through `proof`.
     */
    function checkDocument(address key, bytes32 root, uint256 index, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (bool proofValid, DocumentStatus memory status)
    {
        proofValid = MerkleProof.verifyCalldata(proof, root, leaf);
        status = documentStatus(key, root, index);
    }

    // ---------------------------------------------------------------- internal

    /// @dev What {_revokeBitmap} and {_revokeGroup} found wrong, if anything (then nothing is kept).
    uint256 private constant _NO_PROBLEM = 0;
    uint256 private constant _EMPTY = 1;
    uint256 private constant _OUT_OF_RANGE = 2;
    uint256 private constant _ALREADY_REVOKED = 3;

    function _requireRevoker(address key, bytes32 root) private view returns (Anchor memory batch) {
        batch = _anchors[key][root];
        if (batch.anchoredAt == 0) revert AnchorUnknownRoot(key, root);
        uint32 issuerId = _issuerOfKey(key);
        // the usual case first: a key of the batch's issuer, valid now. A suspended issuer may still
        // revoke (revoking only ever withdraws trust); a stolen key is cut off by its validity.
        if (_issuerOfKey(msg.sender) == issuerId && _keyValidAt(msg.sender, uint40(block.timestamp))) return batch;
        if (_isIssuerManager(msg.sender, issuerId)) return batch;
        revert AnchorNotRevoker(msg.sender, key, root);
    }

    /// @dev Revokes with `code` the documents whose bits are set in `bitmap`, bit i of word w standing
    /// for document `64 * firstGroup + 256 * w + i`. Returns the first problem and the document
    /// index it concerns, the caller reverting on any.
    function _revokeBitmap(
        mapping(uint256 word => uint256 nibbles) storage revocations,
        uint256 firstGroup,
        uint256[] calldata bitmap,
        uint256 code,
        uint32 count
    ) private returns (uint256 problem, uint256 index) {
        problem = _EMPTY;
        for (uint256 w = 0; w < bitmap.length; ++w) {
            uint256 word = bitmap[w];
            for (uint256 j = 0; j < 4 && word != 0; ++j) {
                uint256 bits = word & 0xffffffffffffffff;
                word >>= 64;
                if (bits == 0) continue;
                (problem, index) = _revokeGroup(revocations, firstGroup + (w << 2) + j, bits, code, count);
                if (problem != _NO_PROBLEM) return (problem, index);
            }
        }
    }

    /// @dev Revokes the documents of storage word `group` (documents 64 group to 64 group + 63)
    /// whose bits are set in the 64-bit `bits`.
    function _revokeGroup(
        mapping(uint256 word => uint256 nibbles) storage revocations,
        uint256 group,
        uint256 bits,
        uint256 code,
        uint32 count
    ) private returns (uint256 problem, uint256 index) {
        uint256 start = group << 6;
        if (start + 64 > count) {
            uint256 allowed = start >= count ? 0 : (uint256(1) << (count - start)) - 1;
            uint256 outside = bits & ~allowed;
            if (outside != 0) return (_OUT_OF_RANGE, start + _lowestBit(outside));
        }
        uint256 ones = _spreadToNibbles(bits);
        uint256 existing = revocations[group];
        uint256 clash = existing & (ones * 0xf);
        if (clash != 0) return (_ALREADY_REVOKED, start + (_lowestBit(clash) >> 2));
        revocations[group] = existing | (ones * code);
        return (_NO_PROBLEM, 0);
    }

    /// @dev Moves bit i of a 64-bit value to bit 4i: one revocation flag per nibble.
    function _spreadToNibbles(uint256 x) private pure returns (uint256) {
        x = (x | (x << 96)) & 0x00ffffffff000000000000000000000000ffffffff;
        x = (x | (x << 48)) & 0xffff000000000000ffff000000000000ffff000000000000ffff;
        x = (x | (x << 24)) & 0xff000000ff000000ff000000ff000000ff000000ff000000ff000000ff;
        x = (x | (x << 12)) & 0xf000f000f000f000f000f000f000f000f000f000f000f000f000f000f000f;
        x = (x | (x << 6)) & 0x303030303030303030303030303030303030303030303030303030303030303;
        x = (x | (x << 3)) & 0x1111111111111111111111111111111111111111111111111111111111111111;
        return x;
    }

    /// @dev Index of the lowest set bit of a non-zero value (only on the way to a revert).
    function _lowestBit(uint256 x) private pure returns (uint256 i) {
        while (x & 1 == 0) {
            x >>= 1;
            ++i;
        }
    }

    function _checkReason(Reason reason) private pure {
        if (reason == Reason.None) revert AnchorInvalidReason(uint8(reason));
    }
}
