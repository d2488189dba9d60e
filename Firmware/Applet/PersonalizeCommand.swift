import Crypto
import SealProtocol

extension SealAppletRuntime {
    /// PERSONALIZE (SPEC §8.11): `80 50 00 00 Lc TLVs [Le]`, usually chained.
    ///
    /// In one NVM transaction: the personalization data, the seal key pair generated on chip (P-256,
    /// or SM2 when tag `4E` asks for it), the protected PIN and PUK with full try counters, and the
    /// PERSONALIZED state.
    /// Response `86 41 <seal public key>`.
    func personalize(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard command.hasData else { throw .wrongLength }
        try requireLifecycle(for: .personalize)
        guard security.issuerAuthenticated else { throw .securityNotSatisfied }
        guard let data = try? PersonalizationData(decoding: command.data) else { throw .wrongData }
        if let key = data.remoteAuthorityKey {
            guard (try? P256.Signing.PublicKey(x963Representation: key)) != nil else { throw .wrongData }
        }
        let pinSalt = random.randomBytes(count: ReferenceData.saltLength)
        let pukSalt = random.randomBytes(count: ReferenceData.saltLength)

        let publicKey = try store.atomically { () throws(CommandFailure) -> [UInt8] in
            let sealKey: (scalar: [UInt8], publicKey: [UInt8])
            switch data.sealKeyAlgorithm {
            case .p256:
                guard let key = ChipKeyGenerator.generateSigningKey(using: random) else { throw .internalError }
                // No record: absent means P-256 (PERSONALIZE runs once, from MANUFACTURED, so none exists).
                sealKey = (Array(key.rawRepresentation), Array(key.publicKey.x963Representation))
            case .sm2:
                guard let key = ChipKeyGenerator.generateSM2SigningKey(using: random),
                      let publicKey = try? key.publicKey.x963Representation, publicKey.count == 65 else {
                    throw .internalError
                }
                sealKey = (key.rawRepresentation, publicKey)
                try store.write(.sealKeyAlgorithm, [SealKeyAlgorithm.sm2.rawValue])
            }
            try store.write(.organizationName, Array(data.organizationName.utf8))
            try store.write(.sealName, Array(data.sealName.utf8))
            try store.write(.featureHash, data.featureHash)
            try store.write(.sealPolicy, [data.policyByte])
            try store.write(.timeTolerance, bigEndianBytes(data.timeToleranceSeconds))
            if let imageHash = data.sealImageHash {
                try store.write(.sealImageHash, imageHash)
            } else {
                try store.erase(.sealImageHash)
            }
            try store.write(.watermarkValidity, bigEndianBytes(data.watermarkValiditySeconds))
            if let key = data.remoteAuthorityKey {
                try store.write(.remoteAuthorityKey, key)
            } else {
                try store.erase(.remoteAuthorityKey)
            }
            try store.write(.watermarkKey, data.watermarkKey)
            try store.write(.sealPrivateKey, sealKey.scalar)
            try store.write(.sealPublicKey, sealKey.publicKey)
            try store.write(.pinReference, ReferenceData.protect(Array(data.pin.utf8), salt: pinSalt))
            try store.write(.pinTryCounter, TryCounter(remaining: data.pinTryLimit, limit: data.pinTryLimit).encoded)
            try store.write(.pukReference, ReferenceData.protect(Array(data.puk.utf8), salt: pukSalt))
            try store.write(.pukTryCounter, TryCounter(remaining: data.pukTryLimit, limit: data.pukTryLimit).encoded)
            try store.write(.lifecycle, [LifecycleState.personalized.rawValue])
            return sealKey.publicKey
        }
        return CommandResult(data: TLV(tag: SealTag.sealPublicKey, value: publicKey).encoded())
    }
}
