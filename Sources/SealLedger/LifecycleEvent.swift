import Crypto
import Foundation
import SealHostDriver

/// A seal lifecycle event as the issuer states it: the chip was manufactured, personalized (with
/// the seal identity the chip signs in every stamp), activated, suspended, resumed or terminated
/// (with its final counter). The ledger admits it only signed by a trusted issuer key
/// (``SignedLifecycleEvent``). Encoding: docs/ledger.md, "Lifecycle events".
public struct LifecycleEvent: Sendable, Hashable {
    /// What happened to the seal; the raw value is the encoding's kind byte.
    public enum Kind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        /// The chip was made and its device certificate issued.
        case manufactured = 1
        /// The chip was personalized with its seal identity (``LifecycleEvent/seal`` is set).
        case personalized = 2
        /// The seal was activated: it may stamp.
        case activated = 3
        /// The seal was suspended: records made meanwhile are admitted but flagged.
        case suspended = 4
        /// The seal was resumed after a suspension.
        case resumed = 5
        /// The seal was terminated; no stamp above ``LifecycleEvent/finalCounter`` is admitted.
        case terminated = 6

        /// The kind's name, e.g. `terminated`.
        public var description: String {
            switch self {
            case .manufactured: "manufactured"
            case .personalized: "personalized"
            case .activated: "activated"
            case .suspended: "suspended"
            case .resumed: "resumed"
            case .terminated: "terminated"
            }
        }

        /// The kind named `name` (its ``description``), if any.
        public init?(name: String) {
            guard let kind = Self.allCases.first(where: { $0.description == name }) else { return nil }
            self = kind
        }
    }

    /// The domain separator and version the signed bytes start with, `"SEALKIT-LEDGER-EVENT-V1"`.
    public static let domain = Array("SEALKIT-LEDGER-EVENT-V1".utf8)

    /// What happened.
    public var kind: Kind
    /// The 16-byte chip ID.
    public var chipID: [UInt8]
    /// When it happened, seconds since 1970 (the issuer's clock).
    public var time: UInt64
    /// For ``Kind-swift.enum/personalized``: the seal identity as the chip signs it in each stamp
    /// TBS (organization, seal name, feature hash, seal image hash); `nil` for the other kinds.
    public var seal: SealIdentity?
    /// For ``Kind-swift.enum/terminated``: the chip's counter when it was terminated; `nil` otherwise.
    public var finalCounter: UInt32?

    /// Creates an event, checking that the fields fit the kind.
    /// - Throws: ``LedgerError`` `.malformedInput` when the chip ID is not 16 bytes, a personalized
    ///   event has no valid seal identity, a terminated event no final counter, or another kind either.
    public init(kind: Kind, chipID: [UInt8], time: UInt64, seal: SealIdentity? = nil, finalCounter: UInt32? = nil) throws(LedgerError) {
        guard chipID.count == 16 else { throw LedgerError(code: .malformedInput, reason: "a chip ID is 16 bytes, not \(chipID.count)") }
        guard (kind == .personalized) == (seal != nil) else {
            throw LedgerError(code: .malformedInput, reason: "a seal identity belongs to personalized events, and only to them")
        }
        guard (kind == .terminated) == (finalCounter != nil) else {
            throw LedgerError(code: .malformedInput, reason: "a final counter belongs to terminated events, and only to them")
        }
        if let seal {
            for (name, value) in [("organization name", seal.organizationName), ("seal name", seal.sealName)] {
                guard (1...64).contains(value.utf8.count) else {
                    throw LedgerError(code: .malformedInput, reason: "the \(name) is 1 to 64 UTF-8 bytes")
                }
            }
            guard seal.featureHash.count == 32, (seal.sealImageHash?.count ?? 32) == 32 else {
                throw LedgerError(code: .malformedInput, reason: "the feature and image hashes are 32 bytes")
            }
        }
        self.kind = kind
        self.chipID = chipID
        self.time = time
        self.seal = seal.map {
            // Zeros stand for "no image" in the chip's TBS; keep one form of it.
            SealIdentity(organizationName: $0.organizationName, sealName: $0.sealName, featureHash: $0.featureHash,
                         sealImageHash: $0.sealImageHash == [UInt8](repeating: 0, count: 32) ? nil : $0.sealImageHash)
        }
        self.finalCounter = finalCounter
    }

    /// The bytes the issuer signs:
    /// `domain ‖ kind u8 ‖ chipID (16) ‖ time u64`, then for personalized
    /// `len(org) u8 ‖ org ‖ len(name) u8 ‖ name ‖ featureHash (32) ‖ sealImageHash (32, zeros when none)`
    /// (the seal identity's layout in the stamp TBS, SPEC §9.3), for terminated `finalCounter u32`.
    /// Integers are big-endian.
    public var signedBytes: [UInt8] {
        var out = Self.domain
        out.append(kind.rawValue)
        out += chipID
        out += bigEndian(time)
        if let seal {
            out.append(UInt8(truncatingIfNeeded: seal.organizationName.utf8.count))
            out += seal.organizationName.utf8
            out.append(UInt8(truncatingIfNeeded: seal.sealName.utf8.count))
            out += seal.sealName.utf8
            out += seal.featureHash
            out += seal.sealImageHash ?? [UInt8](repeating: 0, count: 32)
        }
        if let finalCounter { out += bigEndian(finalCounter) }
        return out
    }
}

/// A ``LifecycleEvent`` with the issuer's P-256 public key and ECDSA signature over its
/// ``LifecycleEvent/signedBytes``. Its ``bytes`` are the ledger leaf:
/// `signedBytes ‖ issuerPublicKey (65, X9.63) ‖ len(signature) u8 ‖ signature (DER)`.
public struct SignedLifecycleEvent: Sendable, Hashable {
    /// The event.
    public var event: LifecycleEvent
    /// The signer's P-256 public key, X9.63 uncompressed (65 bytes).
    public var issuerPublicKey: [UInt8]
    /// The DER ECDSA (SHA-256) signature over the event's signed bytes.
    public var signature: [UInt8]

    /// Signs `event` with the issuer's key.
    /// - Throws: ``LedgerError`` `.storageFailure` when the signing library fails.
    public init(signing event: LifecycleEvent, with key: P256.Signing.PrivateKey) throws(LedgerError) {
        self.event = event
        issuerPublicKey = Array(key.publicKey.x963Representation)
        do { signature = Array(try key.signature(for: event.signedBytes).derRepresentation) } catch {
            throw LedgerError(code: .storageFailure, reason: "signing the event failed: \(error)")
        }
    }

    /// Strictly decodes an event leaf: a known kind, the fields that kind has and no others, names
    /// of 1–64 UTF-8 bytes, a 65-byte key, a 1–72-byte signature and nothing after it. The signature
    /// is not checked here (``isValidSignature``).
    /// - Throws: ``LedgerError`` `.malformedInput` naming the field.
    public init(bytes: [UInt8]) throws(LedgerError) {
        var reader = ByteReader(bytes)
        guard try reader.take(LifecycleEvent.domain.count, "domain") == LifecycleEvent.domain else {
            throw LedgerError(code: .malformedInput, reason: "not a SEALKIT-LEDGER-EVENT-V1 event")
        }
        let kindByte = try reader.take(1, "kind")[0]
        guard let kind = LifecycleEvent.Kind(rawValue: kindByte) else {
            throw LedgerError(code: .malformedInput, reason: "unknown event kind \(kindByte)")
        }
        let chipID = try reader.take(16, "chip ID")
        let time = try reader.uint64("time")
        var seal: SealIdentity?
        if kind == .personalized {
            let organization = try reader.string("organization name")
            let name = try reader.string("seal name")
            let feature = try reader.take(32, "feature hash")
            let image = try reader.take(32, "seal image hash")
            seal = SealIdentity(organizationName: organization, sealName: name, featureHash: feature, sealImageHash: image)
        }
        var finalCounter: UInt32?
        if kind == .terminated { finalCounter = try reader.uint32("final counter") }
        event = try LifecycleEvent(kind: kind, chipID: chipID, time: time, seal: seal, finalCounter: finalCounter)
        issuerPublicKey = try reader.take(65, "issuer public key")
        let length = Int(try reader.take(1, "signature length")[0])
        guard (1...72).contains(length) else { throw LedgerError(code: .malformedInput, reason: "a DER signature is 1 to 72 bytes") }
        signature = try reader.take(length, "signature")
        guard reader.isAtEnd else { throw LedgerError(code: .malformedInput, reason: "bytes after the signature") }
    }

    /// The leaf bytes.
    public var bytes: [UInt8] {
        event.signedBytes + issuerPublicKey + [UInt8(truncatingIfNeeded: signature.count)] + signature
    }

    /// Whether ``signature`` verifies under ``issuerPublicKey`` over the event's signed bytes.
    public var isValidSignature: Bool {
        guard let key = try? P256.Signing.PublicKey(x963Representation: issuerPublicKey),
              let ecdsa = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
        return key.isValidSignature(ecdsa, for: event.signedBytes)
    }
}

/// The issuer keys a ledger admits lifecycle events from: an event is admitted when its signer's
/// public key equals one of them and its signature verifies.
public struct IssuerTrust: Sendable {
    /// The trusted keys, X9.63 uncompressed.
    public let publicKeys: Set<[UInt8]>

    /// Trusts `keys`; an empty set admits no event.
    public init(keys: [P256.Signing.PublicKey]) {
        publicKeys = Set(keys.map { Array($0.x963Representation) })
    }

    /// Checks an event's signer and signature; returns the failed check's ID, or `nil` when both pass:
    /// `issuer-untrusted` (the key is not an anchor) or `issuer-signature`.
    public func failedCheck(_ event: SignedLifecycleEvent) -> String? {
        guard publicKeys.contains(event.issuerPublicKey) else { return "issuer-untrusted" }
        guard event.isValidSignature else { return "issuer-signature" }
        return nil
    }
}

func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}

/// Reads fields off the front of a byte string, failing with `.malformedInput` when it runs short.
struct ByteReader {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { position == bytes.count }

    mutating func take(_ count: Int, _ what: String) throws(LedgerError) -> [UInt8] {
        guard count >= 0, bytes.count - position >= count else {
            throw LedgerError(code: .malformedInput, reason: "the \(what) is cut short")
        }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    mutating func uint64(_ what: String) throws(LedgerError) -> UInt64 {
        try take(8, what).reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func uint32(_ what: String) throws(LedgerError) -> UInt32 {
        try take(4, what).reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func uint16(_ what: String) throws(LedgerError) -> Int {
        Int(try take(2, what).reduce(0) { $0 << 8 | UInt16($1) })
    }

    /// `len u8 ‖ UTF-8`, 1–64 bytes.
    mutating func string(_ what: String) throws(LedgerError) -> String {
        let length = Int(try take(1, "\(what) length")[0])
        guard (1...64).contains(length), let text = String(validating: try take(length, what), as: UTF8.self) else {
            throw LedgerError(code: .malformedInput, reason: "the \(what) is not 1 to 64 bytes of UTF-8")
        }
        return text
    }
}
