/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as used by zip and PNG.
///
/// It guards the NVM image against accidental corruption (bit rot, truncation,
/// a stray editor); it is not a MAC and does not protect against tampering.
/// CRC-32 detects every single-byte error and every burst up to 32 bits, which
/// the corruption tests rely on.
enum NVMCRC32 {
    private static let table: [UInt32] = (0..<256).map { index -> UInt32 in
        var value = UInt32(index)
        for _ in 0..<8 {
            value = (value & 1) != 0 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1
        }
        return value
    }

    /// The CRC-32 of `bytes`.
    static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }
}
