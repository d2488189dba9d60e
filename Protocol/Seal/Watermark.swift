import Crypto

/// The printable watermark serial and its expiration code (SPEC §10).
public enum Watermark {
    static let base32Alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    static let checkAlphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U".utf8)
    static let serialDomain = Array("SEALKIT-SERIAL-V1".utf8)
    static let expiryDomain = Array("SEALKIT-EXPIRY-V1".utf8)
    /// Length of a serial including its three hyphens.
    public static let serialLength = 19
    /// Digits in an expiration code.
    public static let codeDigits = 8

    /// The 40-bit chip prefix of every serial the chip mints.
    public static func chipPrefix(chipID: [UInt8]) -> UInt64 {
        let digest = Array(SHA256.hash(data: serialDomain + chipID))
        return readBigEndian(digest.prefix(5), as: UInt64.self)
    }

    /// The serial for `counter` on the chip `chipID` (SPEC §10.1), e.g. `"3KQ8-ZR1M-0000001-7"`.
    public static func serial(chipID: [UInt8], counter: UInt32) -> String {
        serial(chipPrefix: chipPrefix(chipID: chipID), counter: counter)
    }

    /// The serial from a precomputed ``chipPrefix(chipID:)``: a chip computes its prefix once.
    public static func serial(chipPrefix prefix: UInt64, counter: UInt32) -> String {
        var chars: [UInt8] = []
        chars.reserveCapacity(serialLength)
        let p = base32(prefix, digits: 8)
        chars += p[0..<4]
        chars.append(UInt8(ascii: "-"))
        chars += p[4..<8]
        chars.append(UInt8(ascii: "-"))
        chars += base32(UInt64(counter), digits: 7)
        chars.append(UInt8(ascii: "-"))
        chars.append(checkAlphabet[checkValue(prefix: prefix, counter: UInt64(counter))])
        return String(decoding: chars, as: UTF8.self)
    }

    /// The components of a well-formed serial whose check symbol matches; nil otherwise.
    public static func parseSerial(_ serial: String) -> (prefix: UInt64, counter: UInt32)? {
        let bytes = Array(serial.utf8)
        guard bytes.count == serialLength, bytes[4] == UInt8(ascii: "-"), bytes[9] == UInt8(ascii: "-"),
              bytes[17] == UInt8(ascii: "-") else { return nil }
        guard let prefix = decodeBase32(Array(bytes[0..<4] + bytes[5..<9])),
              let counter = decodeBase32(Array(bytes[10..<17])), counter <= UInt64(UInt32.max) else { return nil }
        guard checkAlphabet[checkValue(prefix: prefix, counter: counter)] == bytes[18] else { return nil }
        return (prefix, UInt32(counter))
    }

    /// (prefix · 2^35 + counter) mod 37, computed without overflowing 64 bits.
    static func checkValue(prefix: UInt64, counter: UInt64) -> Int {
        let shift = (UInt64(1) << 35) % 37
        return Int(((prefix % 37) * shift + counter % 37) % 37)
    }

    static func base32(_ value: UInt64, digits: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: digits)
        var rest = value
        for index in stride(from: digits - 1, through: 0, by: -1) {
            out[index] = base32Alphabet[Int(rest & 0x1F)]
            rest >>= 5
        }
        return out
    }

    static func decodeBase32(_ chars: [UInt8]) -> UInt64? {
        var value: UInt64 = 0
        for char in chars {
            guard let digit = base32Alphabet.firstIndex(of: char) else { return nil }
            value = value << 5 | UInt64(digit)
        }
        return value
    }

    /// The HOTP-style expiration code (SPEC §10.2).
    public static func expirationCode(watermarkKey: [UInt8], serial: String, expiry: UInt64) -> String {
        expirationCode(keyedMAC: HMAC<SHA256>(key: SymmetricKey(data: watermarkKey)), serial: serial, expiry: expiry)
    }

    /// The expiration code from an HMAC already keyed with the watermark key: a chip keeps the
    /// keyed state and saves the key schedule on every stamp.
    public static func expirationCode(keyedMAC: HMAC<SHA256>, serial: String, expiry: UInt64) -> String {
        var message: [UInt8] = []
        message.reserveCapacity(expiryDomain.count + serialLength + 8)
        message += expiryDomain
        message += serial.utf8
        message.appendBigEndian(expiry)
        var hmac = keyedMAC
        message.withUnsafeBytes { hmac.update(data: $0) }
        let mac = Array(hmac.finalize())
        let offset = Int(mac[31] & 0x0F)
        let binary = readBigEndian(mac[offset..<offset + 4], as: UInt32.self) & 0x7FFF_FFFF
        let code = binary % 100_000_000
        let digits = String(code)
        return String(repeating: "0", count: codeDigits - digits.count) + digits
    }
}
