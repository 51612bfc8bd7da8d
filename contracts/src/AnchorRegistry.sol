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
 * One storage slot per batch keeps anchoring near the floor of a stored root; revocations are
 * 4-bit reason codes packed 64 to a slot, so that revoking many documents of a batch costs a few
 * hundred gas each.
 */
contract AnchorRegistry is IssuerRegistry, IAnchorRegistry {
    /// @dev One slot: 160 + 40 + 32 + 8 bits.
    struct Anchor {
        address key;
        uint40 anchoredAt;
        uint32 documentCount;
        uint8 kind;
    }

    mapping(bytes32 root => Anchor) private _anchors;
    /// @dev Reason codes of revoked documents, 64 per word: document i is nibble (i % 64) of word i / 64.
    mapping(bytes32 root => mapping(uint256 word => uint256 nibbles)) private _revocations;

    constructor(address rootAuthority, string memory rootName) IssuerRegistry(rootAuthority, rootName) {}

    // ---------------------------------------------------------------- anchoring

    /**
     * @notice Anchors the Merkle root of a batch of `documentCount` documents of `kind`, signed by
     * the caller's key.
     *
     * Requirements: the caller is a key valid now, of an issuer that is not suspended and may
     * certify `kind`; `root` is not zero and was never anchored; the batch is not empty.
     *
     * Emits a {RootAnchored} event.
     */
    function anchor(bytes32 root, uint32 documentCount, uint8 kind) external {
        if (root == bytes32(0) || documentCount == 0) revert AnchorEmptyBatch();
        uint32 issuerId = _requireAccreditedKey(msg.sender, kind);
        Anchor storage slot = _anchors[root];
        if (slot.anchoredAt != 0) revert AnchorAlreadyExists(root);
        _anchors[root] = Anchor({
            key: msg.sender, anchoredAt: uint40(block.timestamp), documentCount: documentCount, kind: kind
        });
        emit RootAnchored(root, msg.sender, issuerId, kind, documentCount);
    }

    /// @notice The anchor of `root` (anchoredAt is 0 when it was never anchored).
    function anchorOf(bytes32 root) external view returns (Anchor memory) {
        return _anchors[root];
    }

    // ---------------------------------------------------------------- revocation

    /**
     * @notice Revokes document `index` of batch `root` for `reason`, optionally naming the leaf of
     * the document that replaces it (for a clerical error or a superseded document).
     *
     * Requirements: the caller is a key of the batch's issuer valid now, or the issuer's accreditor,
     * or the root authority; the document exists and is not yet revoked.
     *
     * Emits a {DocumentRevoked} event.
     */
    function revoke(bytes32 root, uint256 index, Reason reason, bytes32 replacedBy) external {
        Anchor memory batch = _requireRevoker(root);
        _checkReason(reason);
        if (index >= batch.documentCount) revert AnchorIndexOutOfRange(root, index, batch.documentCount);
        uint256 shift = (index & 63) << 2;
        uint256 word = _revocations[root][index >> 6];
        if ((word >> shift) & 0xf != 0) revert AnchorAlreadyRevoked(root, index);
        _revocations[root][index >> 6] = word | (uint256(uint8(reason)) << shift);
        emit DocumentRevoked(root, index, reason, replacedBy, msg.sender);
    }

    /**
     * @notice Revokes, for one `reason`, every document of batch `root` whose bit is set in
     * `bitmap`: bit i of word w stands for document `offset + 256 * w + i`.
     *
     * Requirements: as for {revoke}; `offset` is a multiple of 64; every document named exists
     * and none is revoked yet (otherwise nothing is revoked).
     *
     * Emits a {DocumentsRevoked} event.
     */
    function revokeMany(bytes32 root, uint256 offset, uint256[] calldata bitmap, Reason reason) external {
        Anchor memory batch = _requireRevoker(root);
        _checkReason(reason);
        if (offset & 63 != 0) revert AnchorMisalignedOffset(offset);
        uint256 code = uint256(uint8(reason));
        uint256 firstGroup = offset >> 6;
        bool any;
        for (uint256 w = 0; w < bitmap.length; ++w) {
            uint256 word = bitmap[w];
            for (uint256 j = 0; j < 4 && word != 0; ++j) {
                uint256 bits = word & 0xffffffffffffffff;
                word >>= 64;
                if (bits == 0) continue;
                _revokeGroup(root, firstGroup + (w << 2) + j, bits, code, batch.documentCount);
                any = true;
            }
        }
        if (!any) revert AnchorEmptyBatch();
        emit DocumentsRevoked(root, offset, bitmap, reason, msg.sender);
    }

    /// @notice The revocation reason of document `index` of batch `root` (None when not revoked).
    function revocationOf(bytes32 root, uint256 index) public view returns (Reason) {
        return Reason((_revocations[root][index >> 6] >> ((index & 63) << 2)) & 0xf);
    }

    // ---------------------------------------------------------------- verification

    /**
     * @notice Everything a verifier needs about document `index` of batch `root`, in one call:
     * the anchor, whether its key and issuer were accredited for its kind when it was anchored,
     * and its revocation.
     */
    function documentStatus(bytes32 root, uint256 index) public view returns (DocumentStatus memory status) {
        Anchor memory batch = _anchors[root];
        if (batch.anchoredAt == 0) return status;
        uint32 issuerId = _issuerOfKey(batch.key);
        status = DocumentStatus({
            anchored: true,
            anchoredAt: batch.anchoredAt,
            key: batch.key,
            issuerId: issuerId,
            documentCount: batch.documentCount,
            kind: batch.kind,
            keyValidAtAnchoring: _keyValidAt(batch.key, batch.anchoredAt),
            issuerActiveAtAnchoring: issuerActiveAt(issuerId, batch.anchoredAt),
            kindPermitted: _kindPermitted(issuerId, batch.kind),
            revocation: index < batch.documentCount ? revocationOf(root, index) : Reason.None
        });
    }

    /**
     * @notice {documentStatus} plus an on-chain check, with OpenZeppelin's {MerkleProof}, that
     * `leaf` belongs to `root` through `proof`.
     */
    function checkDocument(bytes32 root, uint256 index, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (bool proofValid, DocumentStatus memory status)
    {
        proofValid = MerkleProof.verifyCalldata(proof, root, leaf);
        status = documentStatus(root, index);
    }

    // ---------------------------------------------------------------- internal

    function _requireRevoker(bytes32 root) private view returns (Anchor memory batch) {
        batch = _anchors[root];
        if (batch.anchoredAt == 0) revert AnchorUnknownRoot(root);
        uint32 issuerId = _issuerOfKey(batch.key);
        // the usual case first: a key of the batch's issuer, valid now. A suspended issuer may still
        // revoke (revoking only ever withdraws trust); a stolen key is cut off by its validity.
        if (_issuerOfKey(msg.sender) == issuerId && _keyValidAt(msg.sender, uint40(block.timestamp))) return batch;
        if (_isIssuerManager(msg.sender, issuerId)) return batch;
        revert AnchorNotRevoker(msg.sender, root);
    }

    /// @dev Revokes the documents of storage word `group` (documents 64 group to 64 group + 63)
    /// whose bits are set in the 64-bit `bits`.
    function _revokeGroup(bytes32 root, uint256 group, uint256 bits, uint256 code, uint32 count) private {
        uint256 start = group << 6;
        if (start + 64 > count) {
            uint256 allowed = start >= count ? 0 : (uint256(1) << (count - start)) - 1;
            uint256 outside = bits & ~allowed;
            if (outside != 0) revert AnchorIndexOutOfRange(root, start + _lowestBit(outside), count);
        }
        uint256 ones = _spreadToNibbles(bits);
        uint256 existing = _revocations[root][group];
        uint256 clash = existing & (ones * 0xf);
        if (clash != 0) revert AnchorAlreadyRevoked(root, start + (_lowestBit(clash) >> 2));
        _revocations[root][group] = existing | (ones * code);
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
