import Foundation
import SealGMCrypto
import Testing

/// The raw forms a chip stores: a 32-byte scalar and a 65-byte point (SPEC §7.1).
@Suite struct SM2RawKeyTests {
    /// n, the order of the SM2 base point (GB/T 32918.5), as openssl prints it (`ecparam -name SM2 -param_enc explicit -text`).
    static let order = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123"

    static func bytes(_ hex: String) -> [UInt8] {
        stride(from: 0, to: hex.count, by: 2).map { UInt8(hex[hex.index(hex.startIndex, offsetBy: $0)...].prefix(2), radix: 16) ?? 0 }
    }

    @Test func scalarRoundTripAndSameKeyAsPEM() throws {
        let key = try SM2PrivateKey()
        let raw = key.rawRepresentation
        #expect(raw.count == 32)
        let reread = try SM2PrivateKey(rawRepresentation: raw)
        #expect(reread.rawRepresentation == raw)
        #expect(try reread.publicKey.derRepresentation == key.publicKey.derRepresentation, "OpenSSL derives the same point")
        let message = Array("chip TBS".utf8)
        #expect(try key.publicKey.isValidSignature(try reread.signature(for: message), for: message))
    }

    @Test func pointRoundTrip() throws {
        let key = try SM2PrivateKey().publicKey
        let point = key.x963Representation
        #expect(point.count == 65 && point.first == 0x04)
        #expect(try SM2PublicKey(x963Representation: point).derRepresentation == key.derRepresentation)
        var offCurve = point
        offCurve[64] ^= 0x01
        #expect(throws: GMCryptoError.self) { try SM2PublicKey(x963Representation: offCurve) }
        #expect(throws: GMCryptoError.self) { try SM2PublicKey(x963Representation: Array(point.dropLast())) }
    }

    @Test func scalarRange() throws {
        var nMinus1 = Self.bytes(Self.order)
        nMinus1[31] -= 1
        var nMinus2 = nMinus1
        nMinus2[31] -= 1
        #expect(!SM2.isValidPrivateScalar([UInt8](repeating: 0, count: 32)))
        #expect(SM2.isValidPrivateScalar([UInt8](repeating: 0, count: 31) + [1]))
        #expect(SM2.isValidPrivateScalar(nMinus2))
        #expect(!SM2.isValidPrivateScalar(nMinus1), "d = n - 1 has no inverse of 1 + d")
        #expect(!SM2.isValidPrivateScalar(Self.bytes(Self.order)))
        #expect(!SM2.isValidPrivateScalar([UInt8](repeating: 0xFF, count: 32)))
        #expect(throws: GMCryptoError.self) { try SM2PrivateKey(rawRepresentation: nMinus1) }
        #expect(try SM2PrivateKey(rawRepresentation: nMinus2).rawRepresentation == nMinus2)
    }
}
