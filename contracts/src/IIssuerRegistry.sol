// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IIssuerRegistry
 * @notice Errors and events of Sceau's issuer registry: who may anchor documents, of which kinds,
 * with which keys, and during which periods.
 */
interface IIssuerRegistry {
    /// @dev An issuer's suspension: anchors made with its keys in [from, until) do not count.
    struct Suspension {
        uint40 from;
        uint40 until; // 0 while the suspension lasts
        string reason;
    }

    /// @dev Everything a verifier shows about an issuer.
    struct IssuerView {
        uint32 id;
        string name;
        string identifier;
        uint32 kinds;
        address accreditor;
        string accreditorName;
        uint40 accreditedAt;
        bool suspended;
        Suspension[] suspensions;
    }

    /// @dev A signing key of an issuer and the period in which its anchors count. One slot:
    /// 32 + 40 + 40 + 8 bits.
    struct KeyRecord {
        uint32 issuerId;
        uint40 validFrom;
        uint40 validUntil; // exclusive; type(uint40).max when open-ended
        bool compromised; // the end of validity was a compromise cut-off, not a rotation or closure
    }

    /// @dev The caller may not manage issuer `issuerId` (neither its accreditor nor the root authority).
    error RegistryNotIssuerManager(address account, uint32 issuerId);
    /// @dev No issuer has the id `issuerId`.
    error RegistryUnknownIssuer(uint32 issuerId);
    /// @dev `key` is not registered to any issuer.
    error RegistryUnknownKey(address key);
    /// @dev `key` is already registered (keys are never reused, even across issuers).
    error RegistryKeyAlreadyRegistered(address key);
    /// @dev `key` is outside its validity period at `timestamp`.
    error RegistryKeyNotValid(address key, uint40 validFrom, uint40 validUntil, uint40 timestamp);
    /// @dev Issuer `issuerId` is suspended.
    error RegistryIssuerSuspended(uint32 issuerId);
    /// @dev Issuer `issuerId` is not suspended, so it cannot be reinstated.
    error RegistryIssuerNotSuspended(uint32 issuerId);
    /// @dev Issuer `issuerId` may not certify documents of kind `kind`.
    error RegistryKindNotPermitted(uint32 issuerId, uint8 kind);
    /// @dev A validity period or suspension time is inconsistent.
    error RegistryInvalidPeriod(uint40 from, uint40 until);
    /// @dev A required text (name, identifier, reason) is empty.
    error RegistryEmptyText();
    /// @dev The zero address is not a valid key or accreditor.
    error RegistryZeroAddress();
    /// @dev Kind 0 is reserved; kinds run from 1 to 31.
    error RegistryInvalidKinds(uint32 kinds);
    /// @dev `accreditor` is not accredited for every kind in the bit set `kinds`.
    error RegistryKindsNotAccredited(address accreditor, uint32 kinds);
    /// @dev Issuer `issuerId` already holds `identifier`; identifiers are unique in a registry.
    error RegistryIdentifierTaken(string identifier, uint32 issuerId);

    /// @dev This registry succeeds the registry at `predecessor`, whose anchors stay where they are.
    event RegistrySucceeded(address indexed predecessor);
    /// @dev The root authority named accreditor `account` `name`, accredited it for the bit set
    /// `kinds`, and granted it the accreditor role.
    event AccreditorNamed(address indexed account, string name, uint32 kinds);
    /// @dev `accreditor` accredited issuer `issuerId`.
    event IssuerAccredited(
        uint32 indexed issuerId, address indexed accreditor, string name, string identifier, uint32 kinds
    );
    /// @dev The kinds issuer `issuerId` may certify changed to the bit set `kinds`.
    event IssuerKindsChanged(uint32 indexed issuerId, uint32 kinds);
    /// @dev Issuer `issuerId` is suspended from `from` (possibly back-dated to a compromise).
    event IssuerSuspended(uint32 indexed issuerId, uint40 from, string reason);
    /// @dev Issuer `issuerId` is reinstated from `at`.
    event IssuerReinstated(uint32 indexed issuerId, uint40 at);
    /// @dev `key` was registered to issuer `issuerId`, valid in [validFrom, validUntil).
    event KeyAdded(uint32 indexed issuerId, address indexed key, uint40 validFrom, uint40 validUntil);
    /// @dev `key` stopped being valid at `validUntil` (rotation, closure, or a back-dated compromise).
    event KeyValidityEnded(uint32 indexed issuerId, address indexed key, uint40 validUntil, bool compromised);
}
