import SealProtocol

extension SealAppletRuntime {
    /// GET DATA (SPEC §8.5): `00 CA tag-hi tag-lo [Le]`. Read-only.
    func getData(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard !command.hasData else { throw .wrongLength }
        guard let object = SealDataObject(rawValue: UInt16(command.p1) << 8 | UInt16(command.p2)) else {
            throw .referencedDataNotFound
        }
        let state = try store.lifecycle()
        let holdsSealKey = state != .manufactured && state != .terminated
        // The public key and key ID stay readable after TERMINATE (SPEC §8.5) so that every
        // retained audit entry still verifies. Asked only by the objects it decides: it reads
        // two records, which the lifecycle, the counter and the other objects do not need.
        var showsSealPublicKey: Bool { state != .manufactured && store.holdsSealPublicKey }
        let data: [UInt8]
        switch object {
        case .chipID:
            data = try store.chipID()
        case .lifecycle:
            // With room for the status word the front end appends: one allocation per answer.
            var lifecycle: [UInt8] = []
            lifecycle.reserveCapacity(1 + 2)
            lifecycle.append(state.rawValue)
            data = lifecycle
        case .counter:
            data = bigEndianBytes(try store.signatureCounter())
        case .pinStatus:
            guard holdsSealKey else { throw .referencedDataNotFound }
            let pin = try store.tryCounter(.pinTryCounter)
            let puk = try store.tryCounter(.pukTryCounter)
            data = PINStatus(pinTriesRemaining: pin.remaining, pinTryLimit: pin.limit,
                             pukTriesRemaining: puk.remaining, pukTryLimit: puk.limit).encoded()
        case .capabilities:
            // `85` only for an SM2 seal (SPEC §8.5): absent means P-256, as on every v2 chip.
            var capabilities = self.capabilities
            if showsSealPublicKey, try store.sealKeyAlgorithm() == .sm2 { capabilities.sealKeyAlgorithm = .sm2 }
            data = capabilities.encoded()
        case .deviceCertificate:
            guard let certificate = store.read(.deviceCertificate) else { throw .referencedDataNotFound }
            data = certificate
        case .sealPublicKey:
            guard showsSealPublicKey else { throw .referencedDataNotFound }
            data = try store.sealPublicKey()
        case .personalization:
            guard state != .manufactured else { throw .referencedDataNotFound }
            data = try store.personalizationInfo().encoded()
        case .auditStatus:
            data = try store.auditHead().status.encoded()
        case .keyAgreementCertificate:
            guard let certificate = store.read(.keyAgreementCertificate) else { throw .referencedDataNotFound }
            data = certificate
        case .sealKeyID:
            guard showsSealPublicKey else { throw .referencedDataNotFound }
            data = try store.sealKeyIDValue()
        }
        return CommandResult(data: data)
    }
}
