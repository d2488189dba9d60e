/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as used by zip and PNG.
///
/// It guards the NVM image against accidental corruption (bit rot, truncation,
/// a stray editor); it is not a MAC and does not protect against tampering.
/// CRC-32 detects every single-byte error and every burst up to 32 bits, which
/// the corruption tests rely on.
///
/// Slicing-by-8: the whole image is checksummed on every committed transaction, so this sits on
/// the STAMP path; eight table lookups per 8 bytes instead of one per byte.
enum NVMCRC32 {
    /// tables[k][b]: the CRC contribution of byte b followed by k zero bytes.
    private static let tables: [[UInt32]] = {
        var first = [UInt32](repeating: 0, count: 256)
        for index in 0..<256 {
            var value = UInt32(index)
            for _ in 0..<8 {
                value = (value & 1) != 0 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1
            }
            first[index] = value
        }
        var tables = [first]
        for k in 1..<8 {
            let previous = tables[k - 1]
            tables.append((0..<256).map { index in (previous[index] >> 8) ^ first[Int(previous[index] & 0xFF)] })
        }
        return tables
    }()

    /// The CRC-32 of `bytes`.
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        let t = tables
        return t[0].withUnsafeBufferPointer { t0 in
            t[1].withUnsafeBufferPointer { t1 in
                t[2].withUnsafeBufferPointer { t2 in
                    t[3].withUnsafeBufferPointer { t3 in
                        t[4].withUnsafeBufferPointer { t4 in
                            t[5].withUnsafeBufferPointer { t5 in
                                t[6].withUnsafeBufferPointer { t6 in
                                    t[7].withUnsafeBufferPointer { t7 in
                                        bytes.withUnsafeBufferPointer { data in
                                            var crc: UInt32 = 0xFFFF_FFFF
                                            var index = 0
                                            let count = data.count
                                            while index + 8 <= count {
                                                let low = crc ^ (UInt32(data[index]) | UInt32(data[index + 1]) << 8
                                                    | UInt32(data[index + 2]) << 16 | UInt32(data[index + 3]) << 24)
                                                crc = t7[Int(low & 0xFF)] ^ t6[Int((low >> 8) & 0xFF)]
                                                    ^ t5[Int((low >> 16) & 0xFF)] ^ t4[Int(low >> 24)]
                                                    ^ t3[Int(data[index + 4])] ^ t2[Int(data[index + 5])]
                                                    ^ t1[Int(data[index + 6])] ^ t0[Int(data[index + 7])]
                                                index += 8
                                            }
                                            while index < count {
                                                crc = t0[Int((crc ^ UInt32(data[index])) & 0xFF)] ^ (crc >> 8)
                                                index += 1
                                            }
                                            return crc ^ 0xFFFF_FFFF
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The CRC-32 of `bytes`.
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        checksum(bytes[...])
    }
}
