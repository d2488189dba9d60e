import Crypto

/// The printable watermark serial and its expiration code (SPEC §10).
public enum Watermark {
    static let base32Alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    static let checkAlphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U".utf8)
    static let serialDomain = Array("SEALKIT-SERIAL-V2".utf8)
    static let expiryDomain = Array("SEALKIT-EXPIRY-V1".utf8)
    /// Base-32 digits of the chip prefix: 90 bits of the chip ID's hash (SPEC §10.1).
    public static let prefixDigits = 18
    /// Base-32 digits of the counter (35 bits).
    public static let counterDigits = 7
    /// Length of a serial: `PPPPPP-PPPPPP-PPPPPP-CCCCCCC-K`, 26 symbols and four hyphens.
    public static let serialLength = 30
    /// Digits in an expiration code.
    public static let codeDigits = 8

    /// The 90-bit chip prefix of every serial the chip mints, as its 18 base-32 ASCII digits:
    /// the first 90 bits of SHA-256("SEALKIT-SERIAL-V2" ‖ chipID) (SPEC §10.1).
    public static func chipPrefix(chipID: [UInt8]) -> [UInt8] {
        let digest = Array(SHA256.hash(data: serialDomain + chipID))
        // 18 digits × 5 bits = 90 bits, read most significant first.
        return (0..<prefixDigits).map { index in
            let bit = index * 5
            let pair = UInt16(digest[bit / 8]) << 8 | UInt16(digest[bit / 8 + 1])
            return base32Alphabet[Int(pair >> (11 - UInt16(bit % 8)) & 0x1F)]
        }
    }

    /// The serial for `counter` on the chip `chipID` (SPEC §10.1).
    public static func serial(chipID: [UInt8], counter: UInt32) -> String {
        serial(chipPrefix: chipPrefix(chipID: chipID), counter: counter)
    }

    /// The serial from a precomputed ``chipPrefix(chipID:)``: a chip computes its prefix once.
    public static func serial(chipPrefix prefix: [UInt8], counter: UInt32) -> String {
        var chars: [UInt8] = []
        chars.reserveCapacity(serialLength)
        let counterChars = base32(UInt64(counter), digits: counterDigits)
        for group in 0..<3 {
            chars += prefix[(group * 6)..<(group * 6 + 6)]
            chars.append(UInt8(ascii: "-"))
        }
        chars += counterChars
        chars.append(UInt8(ascii: "-"))
        chars.append(checkAlphabet[checkValue(digits: prefix + counterChars) ?? 0])
        return String(decoding: chars, as: UTF8.self)
    }

    /// The components of a well-formed serial whose check symbol matches; nil otherwise. The
    /// prefix is its 18 base-32 ASCII digits, comparable with ``chipPrefix(chipID:)``.
    public static func parseSerial(_ serial: String) -> (prefix: [UInt8], counter: UInt32)? {
        let bytes = Array(serial.utf8)
        guard bytes.count == serialLength, [6, 13, 20, 28].allSatisfy({ bytes[$0] == UInt8(ascii: "-") }) else { return nil }
        let prefix = Array(bytes[0..<6] + bytes[7..<13] + bytes[14..<20])
        let counterChars = Array(bytes[21..<28])
        guard let check = checkValue(digits: prefix + counterChars),
              let counter = decodeBase32(counterChars), counter <= UInt64(UInt32.max) else { return nil }
        guard checkAlphabet[check] == bytes[29] else { return nil }
        return (prefix, UInt32(counter))
    }

    /// (prefix · 2^35 + counter) mod 37, by Horner's rule over the base-32 digits; nil when a
    /// character is not a Crockford digit.
    static func checkValue(digits: [UInt8]) -> Int? {
        var remainder = 0
        for char in digits {
            guard let digit = base32Alphabet.firstIndex(of: char) else { return nil }
            remainder = (remainder * 32 + digit) % 37
        }
        return remainder
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
