import Crypto
import Foundation

/// The host's side of opening an SCP11 channel, as a pure state machine: it says which APDU to
/// send, then turns the card's answer into an open ``SCP03SecureMessaging`` session — or refuses it.
///
/// ```swift
/// var handshake = try SCP11HostHandshake(variant: .b, cardStaticKey: keyFromCertificate)
/// let answer = try await transport.exchange(handshake.command)
/// let session = try handshake.complete(with: answer)
/// ```
///
/// The card is authenticated by the receipt: only the holder of the private key of
/// `cardStaticKey` (whose certificate the caller has validated) derives the same keys.
public struct SCP11HostHandshake: Sendable {
    /// The variant being opened.
    public let variant: SCP11Variant
    private let cardStaticKey: P256.KeyAgreement.PublicKey
    private let hostEphemeralKey: P256.KeyAgreement.PrivateKey
    /// SCP11a only: ECDH(SK.OCE, PK.SD), computed by whoever holds the issuer's private key.
    private let staticSharedSecret: [UInt8]?
    /// The command data sent, which the receipt covers.
    public let commandData: [UInt8]
    private var finished = false

    /// Plans the handshake.
    ///
    /// - Parameters:
    ///   - variant: ``SCP11Variant/b`` for the holder, ``SCP11Variant/a`` for the issuer.
    ///   - cardStaticKey: PK.SD.ECKA, the card's certified key-agreement key.
    ///   - issuerStaticSharedSecret: for SCP11a, the x-coordinate of ECDH(issuer private key,
    ///     `cardStaticKey`); must be `nil` for SCP11b.
    ///   - ephemeralKey: eSK.OCE; a fresh key unless a known-answer test fixes it.
    public init(variant: SCP11Variant, cardStaticKey: P256.KeyAgreement.PublicKey, issuerStaticSharedSecret: [UInt8]? = nil,
                ephemeralKey: P256.KeyAgreement.PrivateKey = P256.KeyAgreement.PrivateKey()) throws(SecureChannelError) {
        guard (variant == .a) == (issuerStaticSharedSecret != nil), issuerStaticSharedSecret.map({ $0.count == 32 }) ?? true else {
            throw SecureChannelError(code: .cryptoFailure, reason: "SCP11a needs the 32-byte static shared secret, SCP11b none")
        }
        self.variant = variant
        self.cardStaticKey = cardStaticKey
        self.hostEphemeralKey = ephemeralKey
        self.staticSharedSecret = issuerStaticSharedSecret
        self.commandData = SCP11KeyAgreement.commandData(variant: variant,
                                                          hostEphemeralPublicKey: Array(ephemeralKey.publicKey.x963Representation))
    }

    /// The key-agreement command: `80 82 00 11` (SCP11a) or `80 88 00 13` (SCP11b), the 83-byte
    /// field, Le `00`. Sent plain.
    public var command: CommandAPDU {
        CommandAPDU(cla: 0x80, ins: variant.instruction, p1: 0x00, p2: variant.keyIdentifier, data: commandData, ne: 256)
    }

    /// Checks the card's answer and opens the session.
    ///
    /// - Throws: ``SecureChannelError``: `malformedKeyAgreementData` when the answer is not
    ///   `9000` with `5F49 … 86 10 …`, `invalidPublicKey`, `receiptMismatch` when the receipt
    ///   differs, `channelClosed` when called twice.
    public mutating func complete(with response: ResponseAPDU) throws(SecureChannelError) -> SCP03SecureMessaging {
        guard !finished else { throw SecureChannelError(code: .channelClosed, reason: "the handshake already completed") }
        finished = true
        guard response.statusWord == .success else {
            throw SecureChannelError(code: .malformedKeyAgreementData, reason: "the card refused the key agreement: \(response.statusWord)")
        }
        let answer = try SCP11KeyAgreement.parseResponseData(response.data)
        let ephemeralSecret = try SCP11KeyAgreement.sharedSecret(hostEphemeralKey, answer.cardEphemeralKey)
        let staticSecret: [UInt8]
        if let staticSharedSecret {
            staticSecret = staticSharedSecret
        } else {
            staticSecret = try SCP11KeyAgreement.sharedSecret(hostEphemeralKey, cardStaticKey)
        }
        let keys = SCP11KeyAgreement.deriveSessionKeys(sharedSecrets: ephemeralSecret + staticSecret)
        let receipt = try SCP11KeyAgreement.receipt(keys: keys, commandData: commandData, cardEphemeralTLV: answer.cardEphemeralTLV)
        guard SCP03Cryptography.constantTimeEqual(receipt, answer.receipt) else {
            throw SecureChannelError(code: .receiptMismatch, reason: "the card's receipt does not match: it does not hold the certified key")
        }
        return SCP03SecureMessaging(keys: keys, receipt: receipt)
    }
}

/// The card's side of the key agreement: a pure function of the command data and the card's keys.
public enum SCP11CardHandshake {
    /// The card's answer and its new session.
    public struct Result: Sendable {
        /// `5F49 41 ePK.SD ‖ 86 10 receipt`.
        public let responseData: [UInt8]
        /// The open session, chained from the receipt.
        public let session: SCP03SecureMessaging
    }

    /// Answers a key-agreement command.
    ///
    /// - Parameters:
    ///   - variant: fixed by the INS the card received.
    ///   - commandData: the 83-byte field.
    ///   - cardStaticKey: SK.SD.ECKA.
    ///   - issuerStaticKey: SCP11a: the issuer's public key PK.OCE (installed at manufacture).
    ///   - ephemeralKey: eSK.SD, fresh from the card's random source for every handshake.
    /// - Throws: ``SecureChannelError`` `malformedKeyAgreementData` or `invalidPublicKey`.
    public static func respond(variant: SCP11Variant, commandData: [UInt8], cardStaticKey: P256.KeyAgreement.PrivateKey,
                               issuerStaticKey: P256.KeyAgreement.PublicKey?,
                               ephemeralKey: P256.KeyAgreement.PrivateKey) throws(SecureChannelError) -> Result {
        let hostEphemeralKey = try SCP11KeyAgreement.parseCommandData(commandData, variant: variant)
        let ephemeralSecret = try SCP11KeyAgreement.sharedSecret(ephemeralKey, hostEphemeralKey)
        let staticSecret: [UInt8]
        switch variant {
        case .b:
            staticSecret = try SCP11KeyAgreement.sharedSecret(cardStaticKey, hostEphemeralKey)
        case .a:
            guard let issuerStaticKey else {
                throw SecureChannelError(code: .invalidPublicKey, reason: "SCP11a needs the issuer's public key")
            }
            staticSecret = try SCP11KeyAgreement.sharedSecret(cardStaticKey, issuerStaticKey)
        }
        let keys = SCP11KeyAgreement.deriveSessionKeys(sharedSecrets: ephemeralSecret + staticSecret)
        let cardEphemeralTLV = [0x5F, 0x49, 0x41] + Array(ephemeralKey.publicKey.x963Representation)
        let receipt = try SCP11KeyAgreement.receipt(keys: keys, commandData: commandData, cardEphemeralTLV: cardEphemeralTLV)
        return Result(responseData: cardEphemeralTLV + [0x86, 0x10] + receipt,
                      session: SCP03SecureMessaging(keys: keys, receipt: receipt))
    }
}
