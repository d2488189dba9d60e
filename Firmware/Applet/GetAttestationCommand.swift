import SealProtocol

extension SealAppletRuntime {
    /// GET ATTESTATION (SPEC §8.15): `80 58 00 00 [Lc nonce] [Le]`; `B1 statement B2 signature`,
    /// signed by the device attestation key. Read-only.
    func getAttestation(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard command.data.count <= SealApplet.maxAttestationNonce else { throw .wrongLength }
        let state = try requireLifecycle(for: .getAttestation)
        let sealPublicKey = try store.sealPublicKey()
        var policy: AttestationStatement.KeyPolicy = [.generatedOnChip, .neverExportable, .pinRequired]
        let sealPolicy = try store.sealPolicy()
        if sealPolicy & SealPolicy.remoteAuthorization != 0 { policy.insert(.remoteAuthorizationRequired) }
        if sealPolicy & SealPolicy.pinPerStamp != 0 { policy.insert(.pinPerStamp) }
        if sealPolicy & SealPolicy.auditLogNeedsAuthentication != 0 { policy.insert(.auditLogNeedsAuthentication) }
        if try store.sealKeyAlgorithm() == .sm2 { policy.insert(.sm2SealKey) }
        let statement = AttestationStatement(
            chipID: try store.chipID(), sealPublicKey: sealPublicKey, keyID: sealKeyID(publicKeyX963: sealPublicKey),
            featureHash: try store.featureHash(), keyPolicy: policy, counter: try store.signatureCounter(),
            lifecycle: state.rawValue, audit: try store.auditHead().status, nonce: command.data
        ).encoded()
        let signature = try ChipSigner.sign(statement[...], with: try store.devicePrivateKey())
        return CommandResult(data: AttestationResponse(statementBytes: statement, signature: signature).encoded())
    }
}
