import Crypto
import SealGMCrypto

/// A seal private key as the chip uses it: P-256 or SM2 (SPEC §7 tag `4E`).
enum SealSigningKey {
    case p256(P256.Signing.PrivateKey)
    /// Z_A and the OpenSSL context prepared once per key (`KeyObjectCache`).
    case sm2(SM2Signer)
}

/// Signing with a key held on chip; DER output (SPEC §9).
enum ChipSigner {
    /// The longest DER signature a seal key makes: `30 44 (02 21 00 r) (02 21 00 s)`, P-256 and SM2 alike.
    static let maximumSignatureLength = 72

    static func sign(_ message: ArraySlice<UInt8>, with key: P256.Signing.PrivateKey) throws(CommandFailure) -> [UInt8] {
        // Hash over the contiguous buffer, then sign the digest: the same ECDSA-with-SHA-256 as
        // `signature(for: message)`, without the generic DataProtocol walk on every stamp.
        var hasher = SHA256()
        message.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        let digest = hasher.finalize()
        guard let signature = try? key.signature(for: digest) else { throw .internalError }
        return signature.rawRepresentation.withUnsafeBytes { der(rawSignature: $0) }
    }

    /// The DER `SEQUENCE { INTEGER r, INTEGER s }` of a raw `r ‖ s` signature (SPEC §9): the bytes
    /// swift-crypto's `derRepresentation` gives, without building and serializing an ASN.1 tree
    /// for every stamp. An encoding, not cryptography: each half is a big-endian unsigned integer,
    /// written minimally (leading zero bytes dropped, one kept for zero) with a `00` in front when
    /// its top bit is set, so that it stays positive.
    static func der(rawSignature raw: UnsafeRawBufferPointer) -> [UInt8] {
        let half = raw.count / 2
        /// Where the minimal encoding of the half `range` starts, and whether it needs a `00`.
        func minimal(_ range: Range<Int>) -> (first: Int, length: Int, padded: Bool) {
            var first = range.lowerBound
            while first < range.upperBound - 1, raw[first] == 0 { first += 1 }
            let padded = first < range.upperBound && raw[first] & 0x80 != 0
            return (first, range.upperBound - first + (padded ? 1 : 0), padded)
        }
        let r = minimal(0..<half), s = minimal(half..<2 * half)
        // P-256 halves are 32 bytes, so every length here is below 128: the short form.
        let body = 2 + r.length + 2 + s.length
        var out: [UInt8] = []
        out.reserveCapacity(2 + body)
        out.append(0x30)
        out.append(UInt8(truncatingIfNeeded: body))
        func append(_ integer: (first: Int, length: Int, padded: Bool), end: Int) {
            out.append(0x02)
            out.append(UInt8(truncatingIfNeeded: integer.length))
            if integer.padded { out.append(0) }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[integer.first..<end]))
        }
        append(r, end: half)
        append(s, end: 2 * half)
        return out
    }

    /// Signs with the seal key's algorithm: ECDSA P-256 with SHA-256, or SM2 with SM3 over
    /// SM3(Z_A ‖ message) with the default distinguishing ID (SPEC §9.3). An SM2 failure is the
    /// crypto engine's (`6F00`).
    static func sign(_ message: ArraySlice<UInt8>, with key: SealSigningKey) throws(CommandFailure) -> [UInt8] {
        switch key {
        case .p256(let key):
            return try sign(message, with: key)
        case .sm2(let key):
            guard let signature = try? key.signature(for: message) else { throw .internalError }
            return signature
        }
    }

    /// Whether `der` is a DER ECDSA signature by `key` over `message`; `false` for anything not DER.
    static func verify(_ der: [UInt8], over message: [UInt8], with key: P256.Signing.PublicKey) -> Bool {
        guard let signature = try? P256.Signing.ECDSASignature(derRepresentation: der) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}
