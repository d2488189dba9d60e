import Crypto
import SealProtocol

/// A small, test-only model of the seal applet (Protocol/SPEC.md), enough to drive `SealToken` end to
/// end: chaining, 61xx/6Cxx response shaping, lifecycle, PIN, issuer authentication, personalization,
/// stamping, audit log and attestation. It is not the firmware and checks far fewer error cases.
struct FakeSealChip: Sendable {
    // Identity
    var chipID: [UInt8]
    var deviceKeyRaw: [UInt8]
    var deviceCertificate: [UInt8]
    var issuerPublicKey: [UInt8]
    var atr: [UInt8]
    var capabilities = SealCapabilities()

    // Persistent state
    var lifecycle: LifecycleState = .manufactured
    var counter: UInt32 = 0
    var personalization: PersonalizationData?
    var sealKeyRaw: [UInt8]?
    var pinTries: UInt8 = 0
    var pukTries: UInt8 = 0
    var audit: [AuditEntry] = []
    var auditHead = [UInt8](repeating: 0, count: 32)
    var lastGrantSerial: UInt32 = 0

    // Volatile state
    var selected = false
    var pinVerified = false
    var issuerAuthenticated = false
    var challenge: [UInt8]?
    var pending: [UInt8] = []
    var chain: (header: [UInt8], data: [UInt8])?

    // Fault knobs for tests
    /// Commit the next STAMP but answer nothing (a lost response).
    var loseNextStampResponse = false
    /// Corrupt the signature of audit entries returned by READ AUDIT LOG.
    var corruptAuditSignatures = false
    /// Commands received, decoded.
    var log: [CommandAPDU] = []

    init(chipID: [UInt8], deviceKey: P256.Signing.PrivateKey, deviceCertificate: [UInt8],
         issuerPublicKey: [UInt8], atr: [UInt8] = TestATR.reference) {
        self.chipID = chipID
        self.deviceKeyRaw = Array(deviceKey.rawRepresentation)
        self.deviceCertificate = deviceCertificate
        self.issuerPublicKey = issuerPublicKey
        self.atr = atr
    }

    mutating func powerOn() {
        selected = false
        clearVolatile()
        chain = nil
    }

    private mutating func clearVolatile() {
        pinVerified = false
        issuerAuthenticated = false
        challenge = nil
        pending = []
    }

    var sealPublicKey: [UInt8]? {
        sealKeyRaw.flatMap { try? P256.Signing.PrivateKey(rawRepresentation: $0) }.map { Array($0.publicKey.x963Representation) }
    }

    // MARK: APDU processing

    mutating func process(_ bytes: [UInt8]) -> [UInt8] {
        guard let command = try? CommandAPDU(decoding: bytes) else { return sw(0x6700) }
        log.append(command)
        let baseCLA = command.cla & ~SealClass.chainingBit
        guard baseCLA == 0x00 || baseCLA == 0x80 else { return sw(0x6E00) }

        var data = command.data
        let header = [baseCLA, command.ins, command.p1, command.p2]
        if command.isChained {
            guard command.ins != SealInstruction.getResponse.rawValue, command.ins != SealInstruction.getChallenge.rawValue else {
                return sw(0x6884)
            }
            if let open = chain, open.header != header {
                chain = nil
                return sw(0x6883)
            }
            guard !command.data.isEmpty else { chain = nil; return sw(0x6700) }
            let total = (chain?.data ?? []) + command.data
            guard total.count <= SealApplet.maxCommandData else { chain = nil; return sw(0x6700) }
            chain = (header, total)
            return sw(0x9000)
        }
        if let open = chain {
            chain = nil
            guard open.header == header else { return sw(0x6883) }
            data = open.data + command.data
        }
        guard data.count <= SealApplet.maxCommandData else { return sw(0x6700) }

        if command.ins == SealInstruction.getResponse.rawValue, baseCLA == 0x00 {
            guard command.p1 == 0, command.p2 == 0 else { return sw(0x6B00) }
            guard let ne = command.ne else { return sw(0x6700) }
            guard !pending.isEmpty else { return sw(0x6985) }
            let chunk = Array(pending.prefix(ne))
            pending.removeFirst(chunk.count)
            return chunk + (pending.isEmpty ? sw(0x9000) : sw(StatusWord.bytesRemaining(pending.count).rawValue))
        }
        pending = []

        guard let instruction = SealInstruction(cla: baseCLA, ins: command.ins) else { return sw(0x6D00) }
        guard selected || instruction == .select else { return sw(0x6D00) }

        let (result, status) = execute(instruction, command: command, data: data)
        if status != 0x9000 { return sw(status) }
        if instruction == .stamp, loseNextStampResponse {
            loseNextStampResponse = false
            return []
        }
        // SPEC §3.3 response shaping.
        let ne = command.ne ?? 0
        if result.count <= ne { return result + sw(0x9000) }
        if instruction.isReadOnly, command.ne != nil, command.encodingForm == .short, result.count <= 256 {
            return sw(StatusWord.wrongLe(exact: result.count).rawValue)
        }
        let first = Array(result.prefix(ne))
        pending = Array(result.dropFirst(ne))
        return first + sw(StatusWord.bytesRemaining(pending.count).rawValue)
    }

    private func sw(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    // MARK: Commands

    private mutating func execute(_ instruction: SealInstruction, command: CommandAPDU, data: [UInt8]) -> ([UInt8], UInt16) {
        switch instruction {
        case .select:
            guard command.p1 == 0x04, command.p2 == 0x00 || command.p2 == 0x0C else { return ([], 0x6A86) }
            guard data == SealApplet.aid else { return ([], 0x6A82) }
            selected = true
            clearVolatile()
            return (command.p2 == 0 ? capabilities.fci() : [], 0x9000)

        case .getChallenge:
            let random = (0..<16).map { _ in UInt8.random(in: 0...255) }
            challenge = random
            return (random, 0x9000)

        case .externalAuthenticate:
            guard let pendingChallenge = challenge else { return ([], 0x6985) }
            challenge = nil
            let tbs = issuerAuthenticationTBS(chipID: chipID, challenge: pendingChallenge)
            guard verify(data, over: tbs, key: issuerPublicKey) else { return ([], 0x6300) }
            issuerAuthenticated = true
            return ([], 0x9000)

        case .getData:
            guard data.isEmpty else { return ([], 0x6700) }
            guard let object = SealDataObject(rawValue: UInt16(command.p1) << 8 | UInt16(command.p2)),
                  let value = dataObject(object) else { return ([], 0x6A88) }
            return (value, 0x9000)

        case .verify:
            guard command.p1 == 0x00 || command.p1 == 0xFF, command.p2 == 0x81 else { return ([], 0x6A86) }
            guard let perso = personalization, lifecycle != .terminated else { return ([], 0x6985) }
            if command.p1 == 0xFF { pinVerified = false; return ([], 0x9000) }
            if data.isEmpty {
                if pinVerified { return ([], 0x9000) }
                return ([], pinTries == 0 ? 0x6983 : StatusWord.verificationFailed(triesRemaining: Int(pinTries)).rawValue)
            }
            guard pinTries > 0 else { return ([], 0x6983) }
            pinTries -= 1
            guard data == Array(perso.pin.utf8) else {
                pinVerified = false
                return ([], StatusWord.verificationFailed(triesRemaining: Int(pinTries)).rawValue)
            }
            pinTries = perso.pinTryLimit
            pinVerified = true
            return ([], 0x9000)

        case .changeReferenceData, .resetRetryCounter:
            guard var perso = personalization, lifecycle != .terminated else { return ([], 0x6985) }
            guard let fields = try? TLV.decodeAll(data), fields.count == 2 else { return ([], 0x6A80) }
            let newPIN = fields[1].value
            if instruction == .changeReferenceData {
                guard pinTries > 0 else { return ([], 0x6983) }
                pinTries -= 1
                guard fields[0].value == Array(perso.pin.utf8) else {
                    return ([], StatusWord.verificationFailed(triesRemaining: Int(pinTries)).rawValue)
                }
                pinVerified = true
            } else {
                guard pukTries > 0 else { return ([], 0x6983) }
                pukTries -= 1
                guard fields[0].value == Array(perso.puk.utf8) else {
                    return ([], StatusWord.verificationFailed(triesRemaining: Int(pukTries)).rawValue)
                }
                pukTries = perso.pukTryLimit
                pinVerified = false
            }
            perso.pin = String(decoding: newPIN, as: UTF8.self)
            personalization = perso
            pinTries = perso.pinTryLimit
            return ([], 0x9000)

        case .personalize:
            guard lifecycle == .manufactured else { return ([], 0x6985) }
            guard issuerAuthenticated else { return ([], 0x6982) }
            guard let perso = try? PersonalizationData(decoding: data) else { return ([], 0x6A80) }
            let key = P256.Signing.PrivateKey()
            sealKeyRaw = Array(key.rawRepresentation)
            personalization = perso
            pinTries = perso.pinTryLimit
            pukTries = perso.pukTryLimit
            lifecycle = .personalized
            return (TLV(tag: SealTag.sealPublicKey, value: Array(key.publicKey.x963Representation)).encoded(), 0x9000)

        case .setLifecycle:
            guard let target = LifecycleState(rawValue: command.p1), command.p2 == 0 else { return ([], 0x6A86) }
            guard lifecycle.canTransition(to: target) else { return ([], 0x6985) }
            guard issuerAuthenticated else { return ([], 0x6982) }
            pinVerified = false
            lifecycle = target
            if target == .terminated {
                sealKeyRaw = nil
                issuerAuthenticated = false
            }
            return ([], 0x9000)

        case .stamp:
            return stamp(data)

        case .readAuditLog:
            guard data.count == 4 else { return ([], 0x6700) }
            let requested = data.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let entry = requested == 0 ? audit.last : audit.first { $0.counter == requested }
            guard var found = entry else { return ([], 0x6A88) }
            if corruptAuditSignatures { found.signature[found.signature.count - 1] ^= 0x01 }
            return (found.encoded(), 0x9000)

        case .resetTimeFloor:
            // The fake keeps no time floor; it answers as a chip does outside the issuer channel.
            return ([], 0x6982)

        case .putSESSeal, .readSESSeal, .stampSES:
            // The fake holds a P-256 seal and no GB/T 38540 seal (SPEC §8.17–§8.19).
            return ([], instruction == .readSESSeal ? 0x6A88 : 0x6985)

        case .getAttestation:
            guard [.personalized, .active, .suspended].contains(lifecycle) else { return ([], 0x6985) }
            guard data.count <= 32, let perso = personalization, let sealKey = sealPublicKey else { return ([], 0x6700) }
            var policy: AttestationStatement.KeyPolicy = [.generatedOnChip, .neverExportable, .pinRequired]
            if perso.requiresRemoteAuthorization { policy.insert(.remoteAuthorizationRequired) }
            let statement = AttestationStatement(
                chipID: chipID, sealPublicKey: sealKey, keyID: sealKeyID(publicKeyX963: sealKey),
                featureHash: perso.featureHash, keyPolicy: policy, counter: counter, lifecycle: lifecycle.rawValue,
                audit: AuditStatus(oldestCounter: audit.first?.counter ?? 0, newestCounter: audit.last?.counter ?? 0,
                                   headHash: auditHead), nonce: data)
            let bytes = statement.encoded()
            return (AttestationResponse(statementBytes: bytes, signature: sign(bytes, keyRaw: deviceKeyRaw)).encoded(), 0x9000)

        case .getResponse:
            return ([], 0x6D00)
        }
    }

    private mutating func stamp(_ data: [UInt8]) -> ([UInt8], UInt16) {
        guard lifecycle == .active else { return ([], 0x6985) }
        guard pinVerified else { return ([], 0x6982) }
        guard let request = try? StampRequest(decoding: data) else { return ([], 0x6A80) }
        guard let perso = personalization, let keyRaw = sealKeyRaw, let sealKey = sealPublicKey else { return ([], 0x6985) }
        let n = counter + 1
        if perso.requiresRemoteAuthorization {
            guard let grant = request.grant, let authority = perso.remoteAuthorityKey,
                  verify(grant.signature, over: grant.signedBytes(chipID: chipID), key: authority),
                  (grant.firstCounter...grant.lastCounter).contains(n),
                  grant.kind != .document || grant.documentDigest == request.documentDigest,
                  grant.serial > lastGrantSerial || (grant.kind == .counterWindow && grant.serial == lastGrantSerial)
            else { return ([], 0x6982) }
            lastGrantSerial = grant.serial
        }
        let serial = Watermark.serial(chipID: chipID, counter: n)
        let expiry = request.metadata.time + UInt64(perso.watermarkValiditySeconds)
        let code = Watermark.expirationCode(watermarkKey: perso.watermarkKey, serial: serial, expiry: expiry)
        let metadataDigest = Array(SHA256.hash(data: request.metadataEncoding))
        let grantSerial = request.grant?.serial ?? 0
        let tbs = StampTBS(chipID: chipID, counter: n, serial: serial, expiry: expiry, expirationCode: code,
                           documentDigest: request.documentDigest, metadataDigest: metadataDigest,
                           seal: SealIdentity(organizationName: perso.organizationName, sealName: perso.sealName,
                                              featureHash: perso.featureHash, sealImageHash: perso.sealImageHash),
                           keyID: sealKeyID(publicKeyX963: sealKey), grantSerial: grantSerial)
        let signature = sign(tbs.encoded(), keyRaw: keyRaw)
        let entry = AuditEntry(counter: n, time: request.metadata.time, documentDigest: request.documentDigest,
                               metadataDigest: metadataDigest, serial: serial, expiry: expiry, expirationCode: code,
                               grantSerial: grantSerial, previousHash: auditHead, signature: signature)
        auditHead = AuditEntry.chainHash(previous: auditHead, tbs: tbs.encoded(), signature: signature)
        audit.append(entry)
        if audit.count > SealApplet.auditLogCapacity { audit.removeFirst() }
        counter = n
        return (StampResponse(counter: n, serial: serial, expiry: expiry, expirationCode: code, signature: signature).encoded(), 0x9000)
    }

    private func dataObject(_ object: SealDataObject) -> [UInt8]? {
        switch object {
        case .chipID: return chipID
        case .lifecycle: return [lifecycle.rawValue]
        case .counter: return bigEndianBytes(counter)
        case .pinStatus:
            guard let perso = personalization, lifecycle != .terminated else { return nil }
            return PINStatus(pinTriesRemaining: pinTries, pinTryLimit: perso.pinTryLimit,
                             pukTriesRemaining: pukTries, pukTryLimit: perso.pukTryLimit).encoded()
        case .capabilities: return capabilities.encoded()
        case .deviceCertificate: return deviceCertificate
        case .sealPublicKey: return lifecycle == .terminated ? nil : sealPublicKey
        case .personalization:
            guard let perso = personalization else { return nil }
            return PersonalizationInfo(organizationName: perso.organizationName, sealName: perso.sealName,
                                       featureHash: perso.featureHash, requiresRemoteAuthorization: perso.requiresRemoteAuthorization,
                                       watermarkValiditySeconds: perso.watermarkValiditySeconds,
                                       remoteAuthorityKey: perso.remoteAuthorityKey, sealImageHash: perso.sealImageHash,
                                       policyByte: perso.policyByte).encoded()
        case .auditStatus:
            return AuditStatus(oldestCounter: audit.first?.counter ?? 0, newestCounter: audit.last?.counter ?? 0,
                               headHash: auditHead).encoded()
        case .sealKeyID:
            guard lifecycle != .terminated, let key = sealPublicKey else { return nil }
            return sealKeyID(publicKeyX963: key)
        case .keyAgreementCertificate:
            return nil  // the fake chip has no secure channel
        }
    }

    private func sign(_ message: [UInt8], keyRaw: [UInt8]) -> [UInt8] {
        guard let key = try? P256.Signing.PrivateKey(rawRepresentation: keyRaw),
              let signature = try? key.signature(for: message) else { return [] }
        return Array(signature.derRepresentation)
    }

    private func verify(_ signature: [UInt8], over message: [UInt8], key: [UInt8]) -> Bool {
        guard let publicKey = try? P256.Signing.PublicKey(x963Representation: key),
              let ecdsa = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
        return publicKey.isValidSignature(ecdsa, for: message)
    }
}
