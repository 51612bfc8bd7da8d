// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IIssuerRegistry} from "./IIssuerRegistry.sol";

/**
 * @title IssuerRegistry
 * @notice The accreditation chain of Sceau: a root authority (a ministry) names accreditors
 * (a rectorate, the interior ministry), accreditors accredit issuers (a university, a prefecture),
 * and issuers sign anchors with keys that are valid for a period.
 *
 * Each accreditor is accredited for a set of document kinds and may only accredit issuers within it
 * (the interior ministry, accredited for residence permits, cannot accredit a university for
 * diplomas); the root authority may grant any kind.
 *
 * What counts for a document is whether its key was accredited *when it was anchored*: old
 * diplomas stay valid after a key rotation, the closure of their issuer or the narrowing of its
 * kinds, while a compromised key or a suspended issuer is cut off from the (possibly back-dated)
 * time of compromise.
 *
 * The root role (DEFAULT_ADMIN_ROLE) follows OpenZeppelin's {AccessControlDefaultAdminRules}: one
 * holder, handed over in two steps with a delay. A registry may name the registry it succeeds.
 */
contract IssuerRegistry is AccessControlDefaultAdminRules, IIssuerRegistry {
    /// @notice Role of accreditors, granted by the root authority (DEFAULT_ADMIN_ROLE).
    bytes32 public constant ACCREDITOR_ROLE = keccak256("ACCREDITOR_ROLE");

    uint40 internal constant _OPEN_ENDED = type(uint40).max;
    /// @dev Kinds 1 to 31: the root authority's accreditation.
    uint32 internal constant _ALL_KINDS = 0xFFFFFFFE;

    /// @dev Read on every anchor: kept in a single storage slot.
    struct IssuerState {
        uint32 kinds; // bit k set: the issuer may certify kind k
        uint40 accreditedAt;
        bool suspended;
        address accreditor;
    }

    struct IssuerInfo {
        string name;
        string identifier;
    }

    struct AccreditorInfo {
        string name;
        uint32 kinds; // bit k set: the accreditor may accredit issuers for kind k
    }

    address private immutable _predecessor;

    uint32 private _issuerCount;
    mapping(uint32 issuerId => IssuerState) private _issuerStates;
    mapping(uint32 issuerId => IssuerInfo) private _issuerInfos;
    mapping(uint32 issuerId => Suspension[]) private _suspensions;
    mapping(address key => KeyRecord) private _keys;
    mapping(uint32 issuerId => address[]) private _issuerKeys;
    mapping(address accreditor => AccreditorInfo) private _accreditors;
    mapping(string identifier => uint32 issuerId) private _issuerIds;

    /**
     * @param initialAdminDelay the delay between beginning and accepting a transfer of the root role.
     * @param rootAuthority the account holding the root role (and an accreditor for every kind).
     * @param rootName the display name of the root authority.
     * @param predecessorRegistry the registry this one succeeds, or the zero address for the first.
     *
     * Emits an {AccreditorNamed} event, and a {RegistrySucceeded} event when there is a predecessor.
     */
    constructor(uint48 initialAdminDelay, address rootAuthority, string memory rootName, address predecessorRegistry)
        AccessControlDefaultAdminRules(initialAdminDelay, rootAuthority)
    {
        _predecessor = predecessorRegistry;
        _nameAccreditor(rootAuthority, rootName, _ALL_KINDS);
        if (predecessorRegistry != address(0)) emit RegistrySucceeded(predecessorRegistry);
    }

    modifier onlyIssuerManager(uint32 issuerId) {
        _checkIssuerManager(issuerId);
        _;
    }

    // ---------------------------------------------------------------- accreditors

    /**
     * @notice Names `account`, accredits it for the kinds in the bit set `kinds` (replacing any
     * earlier name and kinds; issuers it already accredited keep theirs) and grants it the
     * accreditor role.
     *
     * Requirements: the caller holds the root role; `name` is not empty; `kinds` is not empty and
     * does not use bit 0.
     *
     * Emits an {AccreditorNamed} event, and may emit a {RoleGranted} event.
     */
    function nameAccreditor(address account, string calldata name, uint32 kinds)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _nameAccreditor(account, name, kinds);
    }

    /// @notice The display name and accredited kinds of accreditor `account` (empty if never named).
    function accreditor(address account) external view returns (string memory name, uint32 kinds) {
        AccreditorInfo storage info = _accreditors[account];
        return (info.name, info.kinds);
    }

    /// @notice The registry this one succeeds (the zero address for the first registry).
    function predecessor() external view returns (address) {
        return _predecessor;
    }

    // ---------------------------------------------------------------- issuers

    /**
     * @notice Accredits a new issuer that may certify the kinds in the bit set `kinds`.
     * @return issuerId the new issuer's id, counting from 1.
     *
     * Requirements: the caller is an accreditor; `name` and `identifier` are not empty; no issuer
     * holds `identifier` yet; `kinds` is not empty, does not use bit 0, and lies within the
     * caller's accredited kinds (unless the caller is the root authority).
     *
     * Emits an {IssuerAccredited} event.
     */
    function accreditIssuer(string calldata name, string calldata identifier, uint32 kinds)
        external
        onlyRole(ACCREDITOR_ROLE)
        returns (uint32 issuerId)
    {
        if (bytes(name).length == 0 || bytes(identifier).length == 0) revert RegistryEmptyText();
        _checkKinds(kinds);
        _checkKindsAccredited(msg.sender, kinds);
        uint32 holder = _issuerIds[identifier];
        if (holder != 0) revert RegistryIdentifierTaken(identifier, holder);
        issuerId = ++_issuerCount;
        _issuerIds[identifier] = issuerId;
        _issuerStates[issuerId] = IssuerState({
            kinds: kinds, accreditedAt: uint40(block.timestamp), suspended: false, accreditor: msg.sender
        });
        _issuerInfos[issuerId] = IssuerInfo({name: name, identifier: identifier});
        emit IssuerAccredited(issuerId, msg.sender, name, identifier, kinds);
    }

    /**
     * @notice Changes the kinds issuer `issuerId` may certify from now on; documents anchored
     * before keep counting (their kind was permitted when they were anchored).
     *
     * Requirements: the caller is the issuer's accreditor or the root authority; `kinds` is not
     * empty, does not use bit 0, and lies within the caller's accredited kinds (unless the caller
     * is the root authority).
     *
     * Emits an {IssuerKindsChanged} event.
     */
    function setIssuerKinds(uint32 issuerId, uint32 kinds) external onlyIssuerManager(issuerId) {
        _checkKinds(kinds);
        _checkKindsAccredited(msg.sender, kinds);
        _issuerStates[issuerId].kinds = kinds;
        emit IssuerKindsChanged(issuerId, kinds);
    }

    /**
     * @notice Suspends issuer `issuerId` from `from`, which may lie in the past (the time of a
     * compromise): anchors made from then on no longer count.
     *
     * Requirements: the caller is the issuer's accreditor or the root authority; the issuer is not
     * already suspended; `from` is not in the future, nor before the end of its last suspension;
     * `reason` is not empty.
     *
     * Emits an {IssuerSuspended} event.
     */
    function suspendIssuer(uint32 issuerId, uint40 from, string calldata reason)
        external
        onlyIssuerManager(issuerId)
    {
        IssuerState storage state = _issuerStates[issuerId];
        if (state.suspended) revert RegistryIssuerSuspended(issuerId);
        if (bytes(reason).length == 0) revert RegistryEmptyText();
        Suspension[] storage history = _suspensions[issuerId];
        uint40 earliest = history.length == 0 ? 0 : history[history.length - 1].until;
        if (from > block.timestamp || from < earliest) revert RegistryInvalidPeriod(from, uint40(block.timestamp));
        state.suspended = true;
        history.push(Suspension({from: from, until: 0, reason: reason}));
        emit IssuerSuspended(issuerId, from, reason);
    }

    /**
     * @notice Ends the suspension of issuer `issuerId` now.
     *
     * Requirements: the caller is the issuer's accreditor or the root authority; the issuer is
     * suspended.
     *
     * Emits an {IssuerReinstated} event.
     */
    function reinstateIssuer(uint32 issuerId) external onlyIssuerManager(issuerId) {
        IssuerState storage state = _issuerStates[issuerId];
        if (!state.suspended) revert RegistryIssuerNotSuspended(issuerId);
        state.suspended = false;
        Suspension[] storage history = _suspensions[issuerId];
        uint40 at = uint40(block.timestamp);
        if (at == history[history.length - 1].from) at += 1; // a suspension lasts at least a second
        history[history.length - 1].until = at;
        emit IssuerReinstated(issuerId, at);
    }

    /// @notice Number of accredited issuers; ids run from 1 to this number.
    function issuerCount() external view returns (uint32) {
        return _issuerCount;
    }

    /// @notice The id of the issuer holding `identifier` (0 if none).
    function issuerByIdentifier(string calldata identifier) external view returns (uint32) {
        return _issuerIds[identifier];
    }

    /// @notice Everything about issuer `issuerId`, including its suspension history.
    function issuer(uint32 issuerId) public view returns (IssuerView memory) {
        IssuerState memory state = _requireIssuer(issuerId);
        IssuerInfo storage info = _issuerInfos[issuerId];
        return IssuerView({
            id: issuerId,
            name: info.name,
            identifier: info.identifier,
            kinds: state.kinds,
            accreditor: state.accreditor,
            accreditorName: _accreditors[state.accreditor].name,
            accreditedAt: state.accreditedAt,
            suspended: state.suspended,
            suspensions: _suspensions[issuerId]
        });
    }

    /// @notice Whether issuer `issuerId` was outside every suspension at `timestamp`.
    function issuerActiveAt(uint32 issuerId, uint40 timestamp) public view returns (bool) {
        Suspension[] storage history = _suspensions[issuerId];
        for (uint256 i = history.length; i > 0; --i) {
            Suspension storage s = history[i - 1];
            if (timestamp >= s.from && (s.until == 0 || timestamp < s.until)) return false;
        }
        return true;
    }

    // ---------------------------------------------------------------- keys

    /**
     * @notice Registers `key` for issuer `issuerId`, valid in [validFrom, validUntil); pass 0 as
     * `validFrom` for "now" and 0 as `validUntil` for "until further notice".
     *
     * Requirements: the caller is the issuer's accreditor or the root authority; `key` was never
     * registered; `validFrom` is not in the past; the period is not empty.
     *
     * Emits a {KeyAdded} event.
     */
    function addKey(uint32 issuerId, address key, uint40 validFrom, uint40 validUntil)
        external
        onlyIssuerManager(issuerId)
    {
        if (key == address(0)) revert RegistryZeroAddress();
        if (_keys[key].issuerId != 0) revert RegistryKeyAlreadyRegistered(key);
        uint40 nowTs = uint40(block.timestamp);
        if (validFrom == 0) validFrom = nowTs;
        if (validUntil == 0) validUntil = _OPEN_ENDED;
        if (validFrom < nowTs || validUntil <= validFrom) revert RegistryInvalidPeriod(validFrom, validUntil);
        _keys[key] =
            KeyRecord({issuerId: issuerId, validFrom: validFrom, validUntil: validUntil, compromised: false});
        _issuerKeys[issuerId].push(key);
        emit KeyAdded(issuerId, key, validFrom, validUntil);
    }

    /**
     * @notice Ends the validity of `key` at `validUntil`: now for a rotation or a closure, or a
     * past time for a compromise, so that anchors made with the stolen key stop counting. Once
     * marked `compromised`, a key stays marked.
     *
     * Requirements: the caller is the accreditor of the key's issuer or the root authority;
     * `validUntil` is not in the future, not before the key's start, and shortens its period.
     *
     * Emits a {KeyValidityEnded} event.
     */
    function endKeyValidity(address key, uint40 validUntil, bool compromised) external {
        KeyRecord storage record = _keys[key];
        uint32 issuerId = record.issuerId;
        if (issuerId == 0) revert RegistryUnknownKey(key);
        _checkIssuerManager(issuerId);
        if (validUntil > block.timestamp || validUntil < record.validFrom || validUntil >= record.validUntil) {
            revert RegistryInvalidPeriod(record.validFrom, validUntil);
        }
        record.validUntil = validUntil;
        if (compromised) record.compromised = true;
        emit KeyValidityEnded(issuerId, key, validUntil, compromised);
    }

    /// @notice The registration of `key` (issuerId 0 when unknown).
    function keyRecord(address key) external view returns (KeyRecord memory) {
        return _keys[key];
    }

    /// @notice Every key ever registered for issuer `issuerId`, oldest first.
    function issuerKeys(uint32 issuerId) external view returns (address[] memory) {
        return _issuerKeys[issuerId];
    }

    // ---------------------------------------------------------------- internal

    /// @dev Reverts unless `key` may anchor a document of `kind` now; returns its issuer id.
    function _requireAccreditedKey(address key, uint8 kind) internal view returns (uint32 issuerId) {
        KeyRecord memory record = _keys[key];
        issuerId = record.issuerId;
        if (issuerId == 0) revert RegistryUnknownKey(key);
        uint40 nowTs = uint40(block.timestamp);
        if (nowTs < record.validFrom || nowTs >= record.validUntil) {
            revert RegistryKeyNotValid(key, record.validFrom, record.validUntil, nowTs);
        }
        IssuerState memory state = _issuerStates[issuerId];
        if (state.suspended) revert RegistryIssuerSuspended(issuerId);
        if (kind == 0 || kind > 31 || (state.kinds >> kind) & 1 == 0) revert RegistryKindNotPermitted(issuerId, kind);
    }

    function _keyValidAt(address key, uint40 timestamp) internal view returns (bool) {
        KeyRecord memory record = _keys[key];
        return record.issuerId != 0 && timestamp >= record.validFrom && timestamp < record.validUntil;
    }

    function _issuerOfKey(address key) internal view returns (uint32) {
        return _keys[key].issuerId;
    }

    function _isIssuerManager(address account, uint32 issuerId) internal view returns (bool) {
        return (_issuerStates[issuerId].accreditor == account && hasRole(ACCREDITOR_ROLE, account))
            || hasRole(DEFAULT_ADMIN_ROLE, account);
    }

    function _checkIssuerManager(uint32 issuerId) internal view {
        _requireIssuer(issuerId);
        if (!_isIssuerManager(msg.sender, issuerId)) revert RegistryNotIssuerManager(msg.sender, issuerId);
    }

    function _requireIssuer(uint32 issuerId) internal view returns (IssuerState memory state) {
        state = _issuerStates[issuerId];
        if (state.accreditor == address(0)) revert RegistryUnknownIssuer(issuerId);
    }

    function _checkKinds(uint32 kinds) private pure {
        if (kinds == 0 || kinds & 1 == 1) revert RegistryInvalidKinds(kinds);
    }

    /// @dev The root authority may grant any kinds; an accreditor only those it is accredited for.
    function _checkKindsAccredited(address account, uint32 kinds) private view {
        if (hasRole(DEFAULT_ADMIN_ROLE, account)) return;
        if (kinds & ~_accreditors[account].kinds != 0) revert RegistryKindsNotAccredited(account, kinds);
    }

    function _nameAccreditor(address account, string memory name, uint32 kinds) private {
        if (account == address(0)) revert RegistryZeroAddress();
        if (bytes(name).length == 0) revert RegistryEmptyText();
        _checkKinds(kinds);
        _accreditors[account] = AccreditorInfo({name: name, kinds: kinds});
        _grantRole(ACCREDITOR_ROLE, account);
        emit AccreditorNamed(account, name, kinds);
    }
}
