// Typed errors for the ISO 7816 codec.
//
// Modelled on `ASN1Error` from swift-asn1: each error is a struct holding a
// stable `Code` plus a free-form reason. Codes are structs with static members
// rather than public enums so that new codes can be added later without breaking
// exhaustive `switch`es in client code. Equality and hashing consider the code
// only, so tests and callers can compare against `Error(code: .x, reason: "")`
// without caring about the diagnostic text.

// MARK: - APDUDecodingError

/// An error thrown while decoding or encoding a command or response APDU.
///
/// Inspect ``code`` to react to a specific failure; ``reason`` (and ``description``)
/// carry human-readable detail for logs.
///
/// `Equatable` and `Hashable` consider only ``code``.
public struct APDUDecodingError: CodedError {
    /// The kind of failure.
    public let code: Code
    /// Human-readable detail. Not part of equality.
    public let reason: String

    /// Creates an error with a code and a diagnostic reason.
    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }



    /// The kind of an ``APDUDecodingError``.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable {
            case truncated, inconsistentLength, invalidExtendedLength, trailingBytes
            case tooShort, valueTooLarge, invalidValue
        }

        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }

        /// A length field announces more bytes than are present.
        public static let truncated = Code(.truncated)
        /// The length fields cannot describe the byte count (e.g. an extended APDU with a one-byte Le).
        public static let inconsistentLength = Code(.inconsistentLength)
        /// An extended Lc of `0000`, which ISO 7816-3 §12.1.3 forbids.
        public static let invalidExtendedLength = Code(.invalidExtendedLength)
        /// Bytes follow the last field the header allows.
        public static let trailingBytes = Code(.trailingBytes)
        /// Fewer bytes than the mandatory header (4 for a command, 2 for a response).
        public static let tooShort = Code(.tooShort)
        /// A field exceeds what any length form can carry (data > 65 535, Ne > 65 536).
        public static let valueTooLarge = Code(.valueTooLarge)
        /// A field value that no encoding can express (Ne ≤ 0).
        public static let invalidValue = Code(.invalidValue)

        public var description: String {
            switch backing {
            case .truncated: "truncated"
            case .inconsistentLength: "inconsistentLength"
            case .invalidExtendedLength: "invalidExtendedLength"
            case .trailingBytes: "trailingBytes"
            case .tooShort: "tooShort"
            case .valueTooLarge: "valueTooLarge"
            case .invalidValue: "invalidValue"
            }
        }
    }
}

// MARK: - TLVDecodingError

/// An error thrown while decoding BER-TLV data objects.
///
/// `Equatable` and `Hashable` consider only ``code``.
public struct TLVDecodingError: CodedError {
    /// The kind of failure.
    public let code: Code
    /// Human-readable detail. Not part of equality.
    public let reason: String

    /// Creates an error with a code and a diagnostic reason.
    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }



    /// The kind of a ``TLVDecodingError``.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable {
            case truncated, invalidTag, invalidLength, nonMinimalLength, indefiniteLength
            case tooDeep, notConstructed, trailingBytes
        }

        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }

        /// The tag, length or value runs past the end of the input.
        public static let truncated = Code(.truncated)
        /// The tag is longer than 3 bytes, has a zero leading tag-number group
        /// (second byte `80`) or, in strict mode, is a `00`/`FF` padding byte.
        public static let invalidTag = Code(.invalidTag)
        /// The length field uses more than 3 subsequent bytes.
        public static let invalidLength = Code(.invalidLength)
        /// Strict mode: the length is not in its shortest form.
        public static let nonMinimalLength = Code(.nonMinimalLength)
        /// The length byte is `80` (indefinite form), which ISO 7816-4 does not allow.
        public static let indefiniteLength = Code(.indefiniteLength)
        /// Constructed objects nest deeper than ``TLV/maximumDepth``.
        public static let tooDeep = Code(.tooDeep)
        /// ``TLV/children(strict:)`` was called on a primitive object.
        public static let notConstructed = Code(.notConstructed)
        /// ``TLV/init(decoding:strict:)`` found bytes after the single object.
        public static let trailingBytes = Code(.trailingBytes)

        public var description: String {
            switch backing {
            case .truncated: "truncated"
            case .invalidTag: "invalidTag"
            case .invalidLength: "invalidLength"
            case .nonMinimalLength: "nonMinimalLength"
            case .indefiniteLength: "indefiniteLength"
            case .tooDeep: "tooDeep"
            case .notConstructed: "notConstructed"
            case .trailingBytes: "trailingBytes"
            }
        }
    }
}

// MARK: - ATRError

/// An error thrown while parsing or building an ISO 7816-3 Answer-to-Reset.
///
/// `Equatable` and `Hashable` consider only ``code``.
public struct ATRError: CodedError {
    /// The kind of failure.
    public let code: Code
    /// Human-readable detail. Not part of equality.
    public let reason: String

    /// Creates an error with a code and a diagnostic reason.
    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }



    /// The kind of an ``ATRError``.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable {
            case tooShort, tooLong, invalidInitialCharacter, truncated
            case missingChecksum, checksumMismatch, trailingBytes, tooManyHistoricalBytes
        }

        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }

        /// Fewer than the two mandatory bytes TS and T0.
        public static let tooShort = Code(.tooShort)
        /// More than 33 bytes (TS plus at most 32 further characters, ISO 7816-3 §8.2.1).
        public static let tooLong = Code(.tooLong)
        /// TS is neither `3B` (direct convention) nor `3F` (inverse convention).
        public static let invalidInitialCharacter = Code(.invalidInitialCharacter)
        /// The interface or historical bytes announced by T0/TDi are missing.
        public static let truncated = Code(.truncated)
        /// A protocol other than T=0 is indicated but TCK is absent.
        public static let missingChecksum = Code(.missingChecksum)
        /// The XOR of T0 … TCK is not zero.
        public static let checksumMismatch = Code(.checksumMismatch)
        /// Bytes follow the historical bytes (or TCK) that the format does not allow.
        public static let trailingBytes = Code(.trailingBytes)
        /// Builder: more than 15 historical bytes, which T0 cannot count.
        public static let tooManyHistoricalBytes = Code(.tooManyHistoricalBytes)

        public var description: String {
            switch backing {
            case .tooShort: "tooShort"
            case .tooLong: "tooLong"
            case .invalidInitialCharacter: "invalidInitialCharacter"
            case .truncated: "truncated"
            case .missingChecksum: "missingChecksum"
            case .checksumMismatch: "checksumMismatch"
            case .trailingBytes: "trailingBytes"
            case .tooManyHistoricalBytes: "tooManyHistoricalBytes"
            }
        }
    }
}

// MARK: - Diagnostics formatting

/// Upper-case hex formatting shared by the codec's `description`s and error reasons.
///
/// Kept internal and dependency-free so the codec does not need Foundation.
package enum CodecHex {
    private static let digits: [Character] = Array("0123456789ABCDEF")

    /// `0x9F` → `"9F"`.
    package static func byte(_ value: UInt8) -> String {
        String([digits[Int(value >> 4)], digits[Int(value & 0x0F)]])
    }

    /// `[0x00, 0xA4]` → `"00 A4"`.
    package static func bytes(_ values: [UInt8]) -> String {
        values.map(byte).joined(separator: " ")
    }

    /// `0x6982` → `"6982"`.
    package static func word(_ value: UInt16) -> String {
        byte(UInt8(truncatingIfNeeded: value >> 8)) + byte(UInt8(truncatingIfNeeded: value))
    }
}
