import Crypto
import SealProtocol

/// SPEC §9.5 (v2): whether the chip accepts a remote authorization grant for the stamp with
/// counter n at metadata time t. Every refusal here is `6982`; a grant that does not parse was
/// already refused with `6A80` when the STAMP data was decoded.
enum GrantValidator {
    /// All of: a non-zero serial (0 means "no grant" in the TBS, SPEC §9.3); a valid authority
    /// signature over the grant's signed bytes with this chip's ID; n in [first, last]; t in
    /// [notBefore, notAfter]; for a document grant, the granted digest equals the document digest
    /// and the serial is unused; for a window grant, fewer than maxStamps stamps used it; and the
    /// serial is above the ledger's floor.
    static func accepts(
        _ grant: AuthorizationGrant, authorityKey: P256.Signing.PublicKey, chipID: [UInt8],
        newCounter: UInt64, stampTime: UInt64, documentDigest: [UInt8], ledger: GrantLedger
    ) -> Bool {
        guard grant.serial != 0 else { return false }
        guard ChipSigner.verify(grant.signature, over: grant.signedBytes(chipID: chipID), with: authorityKey) else {
            return false
        }
        guard UInt64(grant.firstCounter) <= newCounter, newCounter <= UInt64(grant.lastCounter) else { return false }
        guard grant.notBefore <= stampTime, stampTime <= grant.notAfter else { return false }
        guard let uses = ledger.uses(of: grant.serial) else { return false }
        switch grant.kind {
        case .document:
            return grant.documentDigest == documentDigest && uses == 0
        case .counterWindow:
            return uses < grant.maxStamps
        }
    }
}
