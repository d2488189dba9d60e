@_spi(ANSIKDF) import Crypto
import CryptoExtras
import Foundation

/// The two SCP11 variants SealKit uses (GlobalPlatform Amendment F; SPEC §14.1).
public enum SCP11Variant: Sendable, Hashable, CustomStringConvertible {
    /// SCP11a: mutual authentication with the issuer's static key (the holder of the issuer key
    /// alone can derive the session keys). `80 82 00 11`, parameter `01`.
    case a
    /// SCP11b: the card is authenticated by its certified key-agreement key; the host is anonymous.
    /// `80 88 00 13`, parameter `00`.
    case b

    /// The INS of the key-agreement command: `82` MUTUAL AUTHENTICATE or `88` INTERNAL AUTHENTICATE.
    public var instruction: UInt8 { self == .a ? 0x82 : 0x88 }
    /// The key identifier GlobalPlatform gives the card's key for this variant, carried in P2.
    public var keyIdentifier: UInt8 { self == .a ? 0x11 : 0x13 }
    /// The SCP parameter byte of tag `90`.
    public var parameter: UInt8 { self == .a ? 0x01 : 0x00 }

    public var description: String { self == .a ? "SCP11a" : "SCP11b" }
}

/// The key-agreement step of SCP11 as pure functions shared by the chip and the host:
/// the 83-byte command field, ECDH, the X9.63 key derivation, the key split and the receipt.
public enum SCP11KeyAgreement {
    /// The key-usage qualifier, key type and key length of the session keys: C-MAC, C-DEC, R-MAC
    /// and R-ENC (`3C`), AES (`88`), 16 bytes (`10`). They are the KDF's SharedInfo.
    public static let sharedInfo: [UInt8] = [0x3C, 0x88, 0x10]
    /// Length of the command data field: the `A6` control reference template and `5F49` ePK.OCE.
    public static let commandDataLength = 83
    /// Length of the card's answer: `5F49 41` ePK.SD and `86 10` receipt.
    public static let responseDataLength = 68 + 18

    /// The command data: `A6 0D 90 02 11 pp 95 01 3C 80 01 88 81 01 10 5F49 41 ePK.OCE`.
    public static func commandData(variant: SCP11Variant, hostEphemeralPublicKey: [UInt8]) -> [UInt8] {
        [0xA6, 0x0D, 0x90, 0x02, 0x11, variant.parameter, 0x95, 0x01, 0x3C, 0x80, 0x01, 0x88, 0x81, 0x01, 0x10,
         0x5F, 0x49, 0x41] + hostEphemeralPublicKey
    }

    /// Parses the command data on the card: the exact template of ``commandData(variant:hostEphemeralPublicKey:)``
    /// for `variant` (anything else is refused) and the host's ephemeral public key.
    public static func parseCommandData(_ data: [UInt8], variant: SCP11Variant) throws(SecureChannelError) -> P256.KeyAgreement.PublicKey {
        guard data.count == commandDataLength else {
            throw SecureChannelError(code: .malformedKeyAgreementData, reason: "key-agreement data must be \(commandDataLength) bytes, got \(data.count)")
        }
        let expectedTemplate = commandData(variant: variant, hostEphemeralPublicKey: [])
        guard Array(data.prefix(expectedTemplate.count)) == expectedTemplate else {
            throw SecureChannelError(code: .malformedKeyAgreementData, reason: "the A6 template or the 5F49 header is not the \(variant) one")
        }
        return try publicKey(Array(data.dropFirst(expectedTemplate.count)))
    }

    /// The card's answer: `5F49 41 ePK.SD ‖ 86 10 receipt`.
    public static func responseData(cardEphemeralPublicKey: [UInt8], receipt: [UInt8]) -> [UInt8] {
        [0x5F, 0x49, 0x41] + cardEphemeralPublicKey + [0x86, 0x10] + receipt
    }

    /// Parses the card's answer on the host: the card's ephemeral public key (with its `5F49` TLV,
    /// which the receipt covers) and the receipt.
    public static func parseResponseData(_ data: [UInt8]) throws(SecureChannelError) -> (cardEphemeralKey: P256.KeyAgreement.PublicKey, cardEphemeralTLV: [UInt8], receipt: [UInt8]) {
        guard data.count == responseDataLength, data[0] == 0x5F, data[1] == 0x49, data[2] == 0x41,
              data[68] == 0x86, data[69] == 0x10 else {
            throw SecureChannelError(code: .malformedKeyAgreementData, reason: "the card's answer must be 5F49 41 <point> 86 10 <receipt>")
        }
        let key = try publicKey(Array(data[3..<68]))
        return (key, Array(data[0..<68]), Array(data[70..<86]))
    }

    /// An uncompressed P-256 point (65 bytes, `04 ‖ X ‖ Y`) on the curve.
    public static func publicKey(_ x963: [UInt8]) throws(SecureChannelError) -> P256.KeyAgreement.PublicKey {
        guard x963.count == 65, x963.first == 0x04,
              let key = try? P256.KeyAgreement.PublicKey(x963Representation: x963) else {
            throw SecureChannelError(code: .invalidPublicKey, reason: "not an uncompressed P-256 point")
        }
        return key
    }

    /// ECDH on P-256: the x-coordinate of the shared point (32 bytes).
    public static func sharedSecret(_ privateKey: P256.KeyAgreement.PrivateKey, _ publicKey: P256.KeyAgreement.PublicKey) throws(SecureChannelError) -> [UInt8] {
        do {
            let secret = try privateKey.sharedSecretFromKeyAgreement(with: publicKey)
            return secret.withUnsafeBytes { Array($0) }
        } catch {
            throw SecureChannelError(code: .cryptoFailure, reason: "ECDH failed: \(error)")
        }
    }

    /// ANSI X9.63 over SHA-256 of `Z` (the two shared secrets concatenated, ephemeral–ephemeral
    /// first) with ``sharedInfo``: 80 bytes, split into the five session keys.
    public static func deriveSessionKeys(sharedSecrets z: [UInt8]) -> SCP11SessionKeys {
        let material = ANSIKDFx963<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: z), info: sharedInfo,
                                                     outputByteCount: SCP11SessionKeys.materialLength)
        let bytes = material.withUnsafeBytes { Array($0) }
        return SCP11SessionKeys(splitting: bytes)
    }

    /// The receipt: AES-CMAC under the receipt key over the whole command data field and the
    /// card's `5F49` TLV (16 bytes, untruncated).
    public static func receipt(keys: SCP11SessionKeys, commandData: [UInt8], cardEphemeralTLV: [UInt8]) throws(SecureChannelError) -> [UInt8] {
        try SCP03Cryptography.cmac(key: keys.receiptKey, commandData + cardEphemeralTLV)
    }
}

/// The five AES-128 keys SCP11 derives (80 bytes of X9.63 output, in this order).
public struct SCP11SessionKeys: Sendable {
    /// Bytes of KDF output the split consumes.
    public static let materialLength = 80

    /// Key of the receipt only (bytes 0–15); discarded once the receipt is checked.
    public let receiptKey: SymmetricKey
    /// S-ENC: command and response encryption and the ICVs (bytes 16–31).
    public let encryption: SymmetricKey
    /// S-MAC: command MACs (bytes 32–47).
    public let commandMAC: SymmetricKey
    /// S-RMAC: response MACs (bytes 48–63).
    public let responseMAC: SymmetricKey
    /// S-DEK: data encryption of keys (bytes 64–79); unused by the seal protocol.
    public let dataEncryption: SymmetricKey

    /// Splits 80 bytes of key material.
    /// - Throws: ``SecureChannelError/Code-swift.struct/cryptoFailure`` when `keyMaterial` is not 80 bytes.
    public init(keyMaterial: [UInt8]) throws(SecureChannelError) {
        guard keyMaterial.count == Self.materialLength else {
            throw SecureChannelError(code: .cryptoFailure, reason: "SCP11 key material is 80 bytes, got \(keyMaterial.count)")
        }
        self.init(splitting: keyMaterial)
    }

    /// Splits exactly 80 bytes (the KDF's output).
    fileprivate init(splitting keyMaterial: [UInt8]) {
        func key(_ index: Int) -> SymmetricKey { SymmetricKey(data: keyMaterial[(index * 16)..<(index * 16 + 16)]) }
        receiptKey = key(0)
        encryption = key(1)
        commandMAC = key(2)
        responseMAC = key(3)
        dataEncryption = key(4)
    }
}
