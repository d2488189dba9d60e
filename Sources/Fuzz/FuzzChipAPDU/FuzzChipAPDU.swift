// libFuzzer target: the chip's whole APDU front end (Firmware), as a reader would drive it.
// docs/fuzzing.md lists the invariants.
import Crypto
import SealFuzzSupport
import SealProtocol
@_spi(Testing) import SealFirmware

/// A chip manufactured and personalized once (with the issuer key below), left ACTIVE with its PIN
/// `123456` not verified; every input starts from a fresh chip over a copy of this NVM image.
private let personalizedImage: [UInt8] = makePersonalizedImage()

/// The fixed issuer key (a constant scalar, so every run and every seed file agree).
private var fixedIssuerKey: P256.Signing.PrivateKey {
    (try? P256.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x11, count: 32))) ?? P256.Signing.PrivateKey()
}

/// Every status word the SPEC lets the chip answer (Protocol/SPEC.md §status words, ISO 7816-4).
private let specifiedStatusWords: Set<UInt16> = [
    0x9000, 0x6281, 0x6282, 0x6581, 0x6700, 0x6881, 0x6882, 0x6883, 0x6884, 0x6982, 0x6983,
    0x6984, 0x6985, 0x6986, 0x6A80, 0x6A81, 0x6A82, 0x6A84, 0x6A86, 0x6A88, 0x6B00, 0x6D00, 0x6E00, 0x6F00,
]

private func isSpecified(_ sw: StatusWord) -> Bool {
    specifiedStatusWords.contains(sw.rawValue) || sw.sw1 == 0x61 || sw.sw1 == 0x6C || sw.retriesRemaining != nil
}

/// Splits the input into APDUs, each preceded by its 2-byte big-endian length (a length past the
/// end takes what is left), and sends them in order. Invariants: no crash; every response is at
/// least a status word and that status word is one the SPEC specifies; a command answered with a
/// checking error (67xx–6Fxx) writes no NVM; the signature counter held
/// in NVM never goes backwards (read through a second chip over the committed image after every
/// command that wrote NVM).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChipAPDU(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    let backing = InMemoryBackingStore(image: personalizedImage)
    guard let nvm = try? NonVolatileMemory(backing: backing),
          let chip = try? SealChip(nvm: nvm, random: SeededChipRandom(seed: [0x5E])),
          (try? chip.powerOn()) != nil
    else {
        fuzzRequire(false, "the personalized image does not power on")
        return 0
    }
    var counter = committedCounter(backing)
    var writes = chip.nvmWriteCount
    var offset = 0
    while offset + 2 <= bytes.count {
        let length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
        offset += 2
        let end = min(offset + length, bytes.count)
        let command = Array(bytes[offset..<end])
        offset = end
        guard case .response(let raw) = chip.process(command) else {
            fuzzRequire(false, "chip went mute on \(hexString(command)) with no power loss armed")
            return 0
        }
        guard let response = try? ResponseAPDU(decoding: raw) else {
            fuzzRequire(false, "response \(hexString(raw)) to \(hexString(command)) has no status word")
            return 0
        }
        fuzzRequire(isSpecified(response.statusWord),
                    "\(hexString(command)) answered \(response.statusWord), not a specified status word")
        if chip.nvmWriteCount != writes {
            // ISO 7816-4 §5.6: a checking error (67xx to 6Fxx) leaves non-volatile memory unchanged.
            fuzzRequire(!(0x67...0x6F).contains(response.statusWord.sw1),
                        "\(hexString(command)) answered \(response.statusWord) after writing NVM")
            writes = chip.nvmWriteCount
            let now = committedCounter(backing)
            fuzzRequire(now >= counter, "\(hexString(command)) moved the counter back from \(counter) to \(now)")
            counter = now
        }
    }
    return 0
}

/// The signature counter in the committed NVM image, read as a host would: SELECT and GET DATA
/// on a second chip opened over a copy of the image.
private func committedCounter(_ backing: InMemoryBackingStore) -> UInt32 {
    guard let image = backing.image,
          let nvm = try? NonVolatileMemory(backing: InMemoryBackingStore(image: image)),
          let reader = try? SealChip(nvm: nvm, random: SeededChipRandom(seed: [0xC0])),
          (try? reader.powerOn()) != nil
    else {
        fuzzRequire(false, "the committed image does not open")
        return 0
    }
    _ = send(reader, SealCommand.select())
    let response = send(reader, SealCommand.getData(.counter))
    fuzzRequire(response?.statusWord == .success && response?.data.count == 4,
                "GET DATA counter answered \(response.map { "\($0.statusWord)" } ?? "nothing")")
    return response.map { $0.data.reduce(0) { $0 << 8 | UInt32($1) } } ?? 0
}

private func send(_ chip: SealChip, _ command: CommandAPDU) -> ResponseAPDU? {
    guard let bytes = try? command.encoded(), case .response(let raw) = chip.process(bytes) else { return nil }
    return try? ResponseAPDU(decoding: raw)
}

/// Manufactures a chip over memory, authenticates as the issuer, personalizes it (PIN 123456,
/// PUK 87654321) and activates it, all through its APDU interface; returns the committed image.
private func makePersonalizedImage() -> [UInt8] {
    let backing = InMemoryBackingStore()
    let issuerKey = fixedIssuerKey
    let chipID: [UInt8] = (0..<16).map { UInt8(0xC0 + $0) }
    do {
        let nvm = try NonVolatileMemory(backing: backing)
        _ = try SealChip.manufacture(nvm: nvm, chipID: chipID, issuerPublicKey: Array(issuerKey.publicKey.x963Representation),
                                     random: SeededChipRandom(seed: [0xFA]))
        // A stand-in device certificate: one DER SEQUENCE (the firmware does not parse X.509).
        try SealChip.installDeviceCertificate(nvm: nvm, der: [0x30, 0x82, 0x01, 0x04, 0x04, 0x82, 0x01, 0x00] + (0..<256).map { UInt8($0) })
        let chip = try SealChip(nvm: nvm, random: SeededChipRandom(seed: [1]))
        _ = try chip.powerOn()
        _ = send(chip, SealCommand.select())
        // PERSONALIZE and SET LIFECYCLE are accepted only inside the issuer's SCP11a channel
        // (SPEC §14.6), which also counts as issuer authentication.
        let cardKey = try P256.KeyAgreement.PublicKey(x963Representation: SealChip.keyAgreementPublicKey(nvm: nvm))
        let issuerAgreementKey = try P256.KeyAgreement.PrivateKey(rawRepresentation: issuerKey.rawRepresentation)
        var handshake = try SCP11HostHandshake(variant: .a, cardStaticKey: cardKey,
                                               issuerStaticSharedSecret: try SCP11KeyAgreement.sharedSecret(issuerAgreementKey, cardKey))
        guard let handshakeAnswer = send(chip, handshake.command) else {
            fuzzRequire(false, "setting up the chip: no answer to the SCP11a key agreement")
            return []
        }
        var channel = try handshake.complete(with: handshakeAnswer)
        let steps: [CommandAPDU] = [
            try SealCommand.personalize(PersonalizationData(
                organizationName: "ACME Notaries", sealName: "Seal of the Registrar",
                featureHash: Array(SHA256.hash(data: Array("physical feature".utf8))),
                pin: "123456", pinTryLimit: 3, puk: "87654321", pukTryLimit: 5,
                remoteAuthorityKey: nil, requiresRemoteAuthorization: false, watermarkValiditySeconds: 86_400,
                watermarkKey: (0..<32).map { UInt8($0 * 7 & 0xFF) })),
            SealCommand.setLifecycle(.active),
        ]
        for step in steps {
            let answer = send(chip, try channel.wrapCommand(step))
            let response = try answer.map { try channel.unwrapResponse($0) }
            fuzzRequire(response?.statusWord == .success, "setting up the chip: \(step) answered \(String(describing: response))")
        }
    } catch {
        fuzzRequire(false, "setting up the chip failed: \(error)")
    }
    return backing.image ?? []
}

#if !SEALKIT_FUZZING
@main enum Replay { static func main() { fuzzReplay(fuzzChipAPDU) } }
#endif
