#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Inputs of a verification besides the record and the document.
public struct StampVerificationOptions: Sendable {
    /// The verification time: the watermark expiry and the certificate validity are checked against it.
    public var now: Date
    /// The issuer's watermark key (32 bytes). With it the expiration code itself is checked;
    /// without it only its format is (``StampVerificationCheck/ID/expirationCode`` is skipped).
    public var watermarkKey: [UInt8]?
    /// The highest counter already seen from this chip. With it, a replayed or older record fails
    /// ``StampVerificationCheck/ID/counterFreshness``; without it that check is skipped.
    public var lastSeenCounter: UInt32?

    /// Creates options; by default the current time and no optional inputs.
    public init(now: Date = Date(), watermarkKey: [UInt8]? = nil, lastSeenCounter: UInt32? = nil) {
        self.now = now
        self.watermarkKey = watermarkKey
        self.lastSeenCounter = lastSeenCounter
    }
}
