import Crypto
import Foundation
import SealGMCrypto
import SealHostDriver
import SealProtocol
import X509

/// What a case body gets: the token under test (connected, nothing selected), the target's
/// credentials, factories for fresh tokens, and a place for notes that end up in the report.
package final class ConformanceContext: Sendable {
    package let target: ConformanceTarget
    /// The token under test, powered on (cold) for this case; no application selected yet.
    package let card: ConformanceCard
    /// The ATR of this case's power-on.
    package let atr: [UInt8]
    /// The ID of the running case.
    package let caseID: String
    let session: CaseSession

    init(target: ConformanceTarget, card: ConformanceCard, atr: [UInt8], caseID: String) {
        self.target = target
        self.card = card
        self.atr = atr
        self.caseID = caseID
        self.session = CaseSession()
    }

    package var pin: String { target.pin }
    package var puk: String { target.puk }
    package var vendorRoots: [Certificate] { target.vendorRoots }

    /// The issuer signer; throws a skip when the target has none (cases declare `.issuerKey`).
    package func issuerSigner() throws -> any IssuerSigner {
        guard let signer = target.issuerSigner else {
            throw ConformanceSkip(target.missingReason(.issuerKey) ?? "no issuer signer")
        }
        return signer
    }

    /// Adds a line to the case's report detail (shown for passes too).
    package func note(_ text: String) async {
        await session.note(text)
    }

    /// Registers an action run after the body, pass or fail (e.g. restore the PIN try counter).
    package func onCleanup(_ action: @escaping @Sendable () async throws -> Void) async {
        await session.addCleanup(action)
    }

    // MARK: Fresh tokens

    /// A new MANUFACTURED token from the target's factory, connected and selected.
    /// The runner disconnects it after the case.
    package func freshCard() async throws -> ConformanceCard {
        guard let factory = target.makeFreshToken else {
            throw ConformanceSkip(target.missingReason(.freshToken) ?? "no token factory")
        }
        let number = await session.nextFreshNumber()
        let card = ConformanceCard(try await factory(), label: "fresh token \(number)", vendorRoots: target.vendorRoots)
        await card.setIssuerKeyAgreement(target.issuerSigner as? any IssuerKeyAgreement)
        await session.track(card)
        try await card.connectAndSelect()
        return card
    }

    /// A new token personalized by the suite with `personalization` (so its PIN, PUK and watermark
    /// key are known), ACTIVE unless `activate` is false (then PERSONALIZED). Connected and selected,
    /// issuer not authenticated, PIN not verified.
    package func personalizedCard(_ personalization: PersonalizationData = SuiteData.personalization(),
                                 activate: Bool = true) async throws -> FreshToken {
        let card = try await freshCard()
        try await authenticateIssuer(on: card)
        let answer = try await card.exchange(try SealCommand.personalize(personalization))
        try expectSW(answer, .success, "\(card.label): PERSONALIZE")
        let publicKey = try parsePersonalizeResponse(answer.data, label: card.label, algorithm: personalization.sealKeyAlgorithm)
        if activate {
            try expectSW(try await card.send(SealCommand.setLifecycle(.active)), .success, "\(card.label): SET LIFECYCLE ACTIVE after PERSONALIZE")
        }
        try await card.select()
        return FreshToken(card: card, personalization: personalization, sealPublicKey: publicKey, chipID: try await card.chipID())
    }

    /// A new remote-authorization token from the target's factory, connected and selected.
    package func remoteAuthorizationCard() async throws -> RemoteToken {
        guard let factory = target.makeRemoteAuthorizationToken else {
            throw ConformanceSkip(target.missingReason(.remoteAuthorityToken) ?? "no remote-authorization token")
        }
        let made = try await factory()
        let number = await session.nextFreshNumber()
        let card = ConformanceCard(made.transport, label: "remote-authorization token \(number)", vendorRoots: target.vendorRoots)
        await session.track(card)
        try await card.connectAndSelect()
        return RemoteToken(card: card, authorityKey: Array(made.authority.rawRepresentation), pin: made.pin, chipID: try await card.chipID())
    }

    // MARK: Issuer

    /// Issuer authentication: the SCP11a channel with the issuer's key (SPEC §14.3), in which
    /// PERSONALIZE and SET LIFECYCLE are accepted.
    package func authenticateIssuer(on card: ConformanceCard) async throws {
        guard let keyAgreement = try issuerSigner() as? any IssuerKeyAgreement else {
            throw ConformanceSkip("the issuer signer cannot agree keys (SCP11a)")
        }
        try await card.openChannel(.a, issuer: keyAgreement)
    }

    /// GET CHALLENGE, then EXTERNAL AUTHENTICATE with the issuer's signature over SPEC §9.1; expects `9000`.
    package func authenticateIssuerWithChallenge(on card: ConformanceCard) async throws {
        let signature = try await issuerSignature(on: card)
        let answer = try await card.send(SealCommand.externalAuthenticate(signature: signature))
        try expectSW(answer, .success, "\(card.label): EXTERNAL AUTHENTICATE with the issuer's signature")
    }

    /// GET CHALLENGE, and the issuer's signature over it (not yet sent).
    package func issuerSignature(on card: ConformanceCard) async throws -> [UInt8] {
        let chipID = try await card.chipID()
        let challenge = try await card.send(SealCommand.getChallenge())
        try expectSW(challenge, .success, "\(card.label): GET CHALLENGE")
        try expect(challenge.data.count == 16, "\(card.label): GET CHALLENGE must return 16 bytes, got \(challenge.data.count)")
        return try await signAsIssuer(issuerAuthenticationTBS(chipID: chipID, challenge: challenge.data))
    }

    /// The issuer's DER ECDSA signature over `message`.
    package func signAsIssuer(_ message: [UInt8]) async throws -> [UInt8] {
        try await issuerSign(try issuerSigner(), message)
    }
}

/// A token the suite personalized itself.
package struct FreshToken: Sendable {
    package let card: ConformanceCard
    package let personalization: PersonalizationData
    package let sealPublicKey: [UInt8]
    package let chipID: [UInt8]

    package var keyID: [UInt8] { sealKeyID(publicKeyX963: sealPublicKey) }
}

/// A remote-authorization token, its authority key and PIN.
package struct RemoteToken: Sendable {
    package let card: ConformanceCard
    /// The authority's raw private scalar (the key type itself is not `Sendable`).
    let authorityKey: [UInt8]
    package let pin: String
    package let chipID: [UInt8]

    package var authority: P256.Signing.PrivateKey {
        get throws { try P256.Signing.PrivateKey(rawRepresentation: authorityKey) }
    }

    /// A grant signed by `signer` (default: the token's authority) for `chipID` (default: this token's).
    package func grant(serial: UInt32, kind: AuthorizationGrant.Kind, first: UInt32, last: UInt32, digest: [UInt8]?,
                      signer: P256.Signing.PrivateKey? = nil, forChip: [UInt8]? = nil, notBefore: UInt64 = 0,
                      notAfter: UInt64 = UInt64.max, maxStamps: UInt32? = nil) throws -> AuthorizationGrant {
        var grant = AuthorizationGrant(serial: serial, kind: kind, firstCounter: first, lastCounter: last, documentDigest: digest,
                                       notBefore: notBefore, notAfter: notAfter, maxStamps: maxStamps, signature: [])
        let key = try signer ?? authority
        grant.signature = Array(try key.signature(for: grant.signedBytes(chipID: forChip ?? chipID)).derRepresentation)
        return grant
    }
}

/// Per-case bookkeeping: notes, cleanups and the fresh cards to disconnect.
actor CaseSession {
    private(set) var notes: [String] = []
    private var cleanups: [@Sendable () async throws -> Void] = []
    private var cards: [ConformanceCard] = []
    private var freshCount = 0

    func note(_ text: String) { notes.append(text) }
    func addCleanup(_ action: @escaping @Sendable () async throws -> Void) { cleanups.append(action) }
    func track(_ card: ConformanceCard) { cards.append(card) }
    func nextFreshNumber() -> Int {
        freshCount += 1
        return freshCount
    }

    /// Runs cleanups (last registered first) and disconnects fresh cards; returns cleanup failures.
    func finish() async -> [String] {
        var problems: [String] = []
        for action in cleanups.reversed() {
            do { try await action() } catch { problems.append("cleanup failed: \(describe(error))") }
        }
        cleanups = []
        for card in cards { await card.disconnect() }
        cards = []
        return problems
    }
}

/// Decodes `86 41 <public key>` (SPEC §8.11) and checks the point.
func parsePersonalizeResponse(_ data: [UInt8], label: String, algorithm: SealKeyAlgorithm = .p256) throws -> [UInt8] {
    let tlv = try expectDecodes("\(label): PERSONALIZE response") { try TLV(decoding: data) }
    try expect(tlv.tag == SealTag.sealPublicKey && tlv.value.count == 65,
               "\(label): PERSONALIZE must answer 86 41 <public key>, got \(spacedHex(data, limit: 8))")
    switch algorithm {
    case .p256:
        _ = try expectDecodes("\(label): seal package key from PERSONALIZE") { try P256.Signing.PublicKey(x963Representation: tlv.value) }
    case .sm2:
        _ = try expectDecodes("\(label): SM2 seal key from PERSONALIZE") { try SM2PublicKey(x963Representation: tlv.value) }
    }
    return tlv.value
}

/// One line for any error: the driver's message when it is a `SealDriverError`.
func describe(_ error: any Error) -> String {
    switch error {
    case let failure as ConformanceFailure: return failure.message
    case let skip as ConformanceSkip: return skip.reason
    case let driver as SealDriverError: return "\(driver.code): \(driver.reason)"
    default: return String(describing: error)
    }
}
