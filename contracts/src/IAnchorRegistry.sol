// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IAnchorRegistry
 * @notice Errors and events of Sceau's anchor registry: Merkle roots of document batches and the
 * revocation of single documents. A batch is named by the issuer key that anchored it and its root:
 * nobody can take, or block, another key's root.
 */
interface IAnchorRegistry {
    /// @dev Why a document was revoked. Codes are part of the receipt format: never renumber them.
    /// Codes 6 to 15 (the rest of a 4-bit revocation nibble) are reserved for future reasons.
    enum Reason {
        None,
        Fraud,
        ClericalError,
        Annulment,
        KeyCompromise,
        Superseded
    }

    /// @dev Everything a verifier needs about one document of a batch, as of now. There is no
    /// "kind permitted" flag: {anchor} refuses a kind the issuer may not certify at that time, and
    /// narrowing an issuer's kinds later does not reach into the past.
    struct DocumentStatus {
        bool anchored;
        uint40 anchoredAt;
        address key;
        uint32 issuerId;
        uint32 documentCount;
        uint8 kind;
        bool keyValidAtAnchoring;
        bool issuerActiveAtAnchoring;
        Reason revocation;
    }

    /// @dev The root is zero, or the batch holds no documents.
    error AnchorEmptyBatch();
    /// @dev `key` already anchored `root`; anchors are never overwritten.
    error AnchorAlreadyExists(address key, bytes32 root);
    /// @dev `key` never anchored `root`.
    error AnchorUnknownRoot(address key, bytes32 root);
    /// @dev Document `index` is beyond the `documentCount` documents of batch (`key`, `root`).
    error AnchorIndexOutOfRange(address key, bytes32 root, uint256 index, uint32 documentCount);
    /// @dev Document `index` of batch (`key`, `root`) is already revoked.
    error AnchorAlreadyRevoked(address key, bytes32 root, uint256 index);
    /// @dev `reason` is not a revocation reason.
    error AnchorInvalidReason(uint8 reason);
    /// @dev A bulk revocation's `offset` must be a multiple of 64.
    error AnchorMisalignedOffset(uint256 offset);
    /// @dev `account` may not revoke documents of batch (`key`, `root`).
    error AnchorNotRevoker(address account, address key, bytes32 root);

    /// @dev `key` of issuer `issuerId` anchored batch `root` of `documentCount` documents of `kind`.
    event RootAnchored(
        bytes32 indexed root, address indexed key, uint32 indexed issuerId, uint8 kind, uint32 documentCount
    );
    /// @dev `by` revoked document `index` of batch (`key`, `root`), optionally naming the document
    /// replacing it.
    event DocumentRevoked(
        bytes32 indexed root, address indexed key, uint256 index, Reason reason, bytes32 replacedBy, address by
    );
    /// @dev `by` revoked the documents of batch (`key`, `root`) whose bits are set in `bitmap`, bit i of
    /// word w standing for document `offset + 256 * w + i`.
    event DocumentsRevoked(
        bytes32 indexed root, address indexed key, uint256 offset, uint256[] bitmap, Reason reason, address by
    );
}
