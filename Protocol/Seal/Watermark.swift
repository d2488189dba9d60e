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
    ///
    /// One pass into the string's own buffer: a chip mints a serial on every stamp.
    public static func serial(chipPrefix prefix: [UInt8], counter: UInt32) -> String {
        // The check value of prefix ‖ counter digits by Horner's rule, as `checkValue(digits:)`
        // computes it from the characters: the prefix's remainder, then the counter's seven 5-bit
        // digits, which together are the counter's value (0 when a prefix character is not a digit).
        var remainder: Int? = 0
        let values = digitValues
        for char in prefix {
            guard let sum = remainder else { break }
            let digit = values[Int(char)]
            remainder = digit < 0 ? nil : (sum * 32 + Int(digit)) % 37
        }
        let check = checkAlphabet[remainder.map { ($0 * counterDigitsFactor + Int(counter % 37)) % 37 } ?? 0]
        // PPPPPP-PPPPPP-PPPPPP-CCCCCCC-K: the first 18 prefix characters in three groups.
        let groups = min(prefix.count / 6, 3)
        let loose = groups == 3 ? 0 : prefix.count % 6
        return String(unsafeUninitializedCapacity: groups * 7 + loose + counterDigits + 2) { buffer in
            var index = 0
            for group in 0..<groups {
                for offset in 0..<6 {
                    buffer[index] = prefix[group * 6 + offset]
                    index += 1
                }
                buffer[index] = UInt8(ascii: "-")
                index += 1
            }
            for offset in 0..<loose {
                buffer[index] = prefix[groups * 6 + offset]
                index += 1
            }
            var rest = counter
            for position in stride(from: index + counterDigits - 1, through: index, by: -1) {
                buffer[position] = base32Alphabet[Int(rest & 0x1F)]
                rest >>= 5
            }
            index += counterDigits
            buffer[index] = UInt8(ascii: "-")
            buffer[index + 1] = check
            return index + 2
        }
    }

    /// 32^7 mod 37: shifts a remainder past the counter's seven base-32 digits.
    private static let counterDigitsFactor = (0..<counterDigits).reduce(1) { factor, _ in factor * 32 % 37 }

    /// The value of each byte as a base-32 digit of `base32Alphabet`, −1 for a byte that is none.
    private static let digitValues: [Int8] = {
        var values = [Int8](repeating: -1, count: 256)
        for (value, char) in base32Alphabet.enumerated() { values[Int(char)] = Int8(value) }
        return values
    }()

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
        var hmac = keyedMAC
        // "SEALKIT-EXPIRY-V1" ‖ serial ‖ expiry u64, assembled on the stack: one update, no array.
        var serial = serial
        serial.withUTF8 { serialBytes in
            let length = expiryDomain.count + serialBytes.count + 8
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length) { message in
                var index = 0
                for byte in expiryDomain {
                    message[index] = byte
                    index += 1
                }
                for byte in serialBytes {
                    message[index] = byte
                    index += 1
                }
                for shift in stride(from: 56, through: 0, by: -8) {
                    message[index] = UInt8(truncatingIfNeeded: expiry >> UInt64(shift))
                    index += 1
                }
                hmac.update(data: UnsafeRawBufferPointer(message))
            }
        }
        // Dynamic truncation (RFC 4226 §5.3) read straight from the MAC's bytes.
        let binary = hmac.finalize().withUnsafeBytes { mac in
            let offset = Int(mac[31] & 0x0F)
            return (UInt32(mac[offset]) << 24 | UInt32(mac[offset + 1]) << 16 | UInt32(mac[offset + 2]) << 8
                | UInt32(mac[offset + 3])) & 0x7FFF_FFFF
        }
        var code = binary % 100_000_000
        // Eight digits, zero-padded: a small string, built in place.
        return String(unsafeUninitializedCapacity: codeDigits) { buffer in
            for index in stride(from: codeDigits - 1, through: 0, by: -1) {
                buffer[index] = UInt8(ascii: "0") + UInt8(code % 10)
                code /= 10
            }
            return codeDigits
        }
    }
}
