#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
import SwiftASN1
import Synchronization
import X509

/// Device certificate chains that ``StampVerifier`` has validated, so that the thousands of records
/// one chip stamps cost one RFC 5280 chain validation, not one each (a ledger admitting records is
/// the case that matters: the chain costs several times the record's two signature verifications).
///
/// The contract, which the tests hold it to: a hit never accepts a certificate that validation
/// without the cache would refuse.
/// - The key is the exact DER bytes of the device certificate together with a digest of the exact
///   trusted roots and intermediates it was validated under. A different certificate — another
///   signature, another serial, one byte changed — is a miss, whatever its issuer's name.
/// - Only successful validations are stored, with the time window in which every certificate of
///   the validated chain is within its validity period. A hit requires the verification time to lie
///   strictly inside that window; outside it the chain is validated again. (The rest of the RFC 5280
///   policy — signatures, names, basic constraints, key usage — does not depend on the time.)
/// - A hit also hands back the certificate parsed from those bytes and what the verifier reads from
///   it (``DeviceCertificateProfile``), so neither is parsed again.
/// - It is bounded: at ``capacity`` entries it is emptied and refills from the records that follow.
/// - It is shared by every copy of a verifier and safe to use from concurrent verifications.
package final class CertificateChainCache: Sendable {
    /// What a successful validation established.
    package struct ValidatedChain: Sendable {
        /// The latest `notValidBefore` and earliest `notValidAfter` of the chain's certificates.
        package let validAfter: Date
        package let validBefore: Date
        /// The check's detail, as the uncached validation words it.
        package let detail: String
        /// The device certificate parsed from exactly the cached bytes: a hit also saves parsing it
        /// again (the device checks that follow read only the certificate).
        package let leaf: Certificate
        /// What the verifier reads from the leaf for every record (its P-256 key, the chip ID in its
        /// subject, its profile), derived once from the same bytes.
        package let leafProfile: DeviceCertificateProfile
    }

    private struct Key: Hashable {
        let certificate: [UInt8]
        let anchors: [UInt8]
    }

    /// The most chains kept.
    package let capacity: Int
    /// SHA-256 over the length-prefixed DER of the trusted roots, then of the intermediates.
    private let anchors: [UInt8]
    private let chains = Mutex<[Key: ValidatedChain]>([:])

    package init(trustedRoots: [Certificate], intermediates: [Certificate], capacity: Int = 4_096) {
        var hasher = SHA256()
        for (role, certificates) in [(UInt8(1), trustedRoots), (UInt8(2), intermediates)] {
            hasher.update(data: [role] + Self.bigEndian(UInt64(certificates.count)))
            for certificate in certificates {
                // A certificate that was parsed from DER re-serializes to it; one that cannot is
                // hashed as empty, which only makes this cache's key less specific than the
                // verifier itself, never shared with another verifier.
                var serializer = DER.Serializer()
                let der: [UInt8] = (try? serializer.serialize(certificate)) != nil ? serializer.serializedBytes : []
                hasher.update(data: Self.bigEndian(UInt64(der.count)) + der)
            }
        }
        anchors = Array(hasher.finalize())
        self.capacity = capacity
    }

    /// The chain validated earlier for exactly these certificate bytes, if `time` lies inside its
    /// validity window.
    package func chain(for certificate: [UInt8], at time: Date) -> ValidatedChain? {
        let key = Key(certificate: certificate, anchors: anchors)
        guard let chain = chains.withLock({ $0[key] }), chain.validAfter < time, time < chain.validBefore else { return nil }
        return chain
    }

    /// Remembers a successful validation of `certificate` whose chain is `chain` (leaf first).
    package func store(_ certificate: [UInt8], chain: [Certificate], detail: String) {
        guard let leaf = chain.first, let validAfter = chain.map(\.notValidBefore).max(),
              let validBefore = chain.map(\.notValidAfter).min() else { return }
        let key = Key(certificate: certificate, anchors: anchors)
        let entry = ValidatedChain(validAfter: validAfter, validBefore: validBefore, detail: detail, leaf: leaf,
                                   leafProfile: DeviceCertificateProfile(leaf))
        chains.withLock { chains in
            if chains.count >= capacity && chains[key] == nil { chains.removeAll(keepingCapacity: true) }
            chains[key] = entry
        }
    }

    /// How many chains are cached (for tests).
    package var count: Int { chains.withLock { $0.count } }

    private static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }
}
