import Crypto
import SealProtocol

/// SPEC §9.5: whether the chip accepts a remote authorization grant for the stamp with counter n.
enum GrantValidator {
    /// All of: a non-zero serial (0 means "no grant" in the TBS, SPEC §9.3); a valid authority
    /// signature over the grant's signed bytes with this chip's ID; n in [first, last]; for a
    /// document grant, the granted digest equals the document digest; and serial > last grant
    /// serial, or a window grant with serial = last grant serial.
    static func accepts(
        _ grant: AuthorizationGrant, authorityKey: P256.Signing.PublicKey, chipID: [UInt8],
        newCounter: UInt64, documentDigest: [UInt8], lastGrantSerial: UInt32
    ) -> Bool {
        guard grant.serial != 0 else { return false }
        guard ChipSigner.verify(grant.signature, over: grant.signedBytes(chipID: chipID), with: authorityKey) else {
            return false
        }
        guard UInt64(grant.firstCounter) <= newCounter, newCounter <= UInt64(grant.lastCounter) else { return false }
        if grant.kind == .document, grant.documentDigest != documentDigest { return false }
        return grant.serial > lastGrantSerial || (grant.kind == .counterWindow && grant.serial == lastGrantSerial)
    }
}
