import Crypto
import SealProtocol

extension SealAppletRuntime {
    /// The key-agreement commands (SPEC §14.3): `80 88 00 13` (SCP11b, the holder) and
    /// `80 82 00 11` (SCP11a, the issuer), 83 bytes of data. Allowed in every lifecycle state once
    /// the applet is selected; writes nothing to the NVM.
    func openSecureChannel(_ variant: SCP11Variant, header: CommandHeader, data: [UInt8]) throws(CommandFailure) -> SCP11CardHandshake.Result {
        guard isSelected else { throw .insNotSupported }
        guard header.p1 == 0x00, header.p2 == variant.keyIdentifier else { throw .incorrectP1P2 }
        guard data.count == SCP11KeyAgreement.commandDataLength else { throw .wrongLength }
        guard let scalar = store.read(.keyAgreementPrivateKey),
              let cardKey = try? P256.KeyAgreement.PrivateKey(rawRepresentation: scalar) else {
            throw .referencedDataNotFound
        }
        var issuerKey: P256.KeyAgreement.PublicKey?
        if variant == .a {
            // The issuer's key of SPEC §8.4 is the issuer's static key of SCP11a (PK.OCE.ECKA).
            guard let bytes = store.read(.issuerPublicKey), let key = try? SCP11KeyAgreement.publicKey(bytes) else {
                throw .referencedDataNotFound
            }
            issuerKey = key
        }
        guard let ephemeral = ChipKeyGenerator.generateSigningKey(using: random),
              let ephemeralKey = try? P256.KeyAgreement.PrivateKey(rawRepresentation: ephemeral.rawRepresentation) else {
            throw .internalError
        }
        do {
            return try SCP11CardHandshake.respond(variant: variant, commandData: data, cardStaticKey: cardKey,
                                                  issuerStaticKey: issuerKey, ephemeralKey: ephemeralKey)
        } catch {
            throw .wrongData
        }
    }

    /// A channel opened or ended: PIN verification and issuer authentication live inside one
    /// channel only, so that middleware cannot use them in a channel of its own (SPEC §14.6).
    /// SCP11a authenticates the issuer.
    func secureChannelChanged(to variant: SCP11Variant?) {
        security = SecurityState()
        security.issuerAuthenticated = variant == .a
    }
}
