import Testing
@testable import SealProtocol

/// TLVWriter must produce byte for byte what `[TLV].encoded()` produces, for every length form.
struct TLVWriterTests {
    @Test(arguments: [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000])
    func matchesTheTLVEncoder(length: Int) {
        let value = (0..<length).map { UInt8(truncatingIfNeeded: $0) }
        for tag: BERTag in [0x9E, 0x5F20, 0x9F8101] {
            var writer = TLVWriter()
            writer.append(tag, value)
            #expect(writer.bytes == [TLV(tag: tag, value: value)].encoded(), "tag \(tag), length \(length)")
        }
    }

    @Test func integersAndTextMatchTheTLVEncoder() {
        var writer = TLVWriter()
        writer.append(SealTag.counter, bigEndian: UInt32(0x0102_0304))
        writer.append(SealTag.time, bigEndian: UInt64(0x0A0B_0C0D_0E0F_1011))
        writer.append(SealTag.serial, utf8: "0W2B-H1X7-0000001-~")
        #expect(writer.bytes == [
            TLV(tag: SealTag.counter, value: [1, 2, 3, 4]),
            TLV(tag: SealTag.time, value: [0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11]),
            TLV(tag: SealTag.serial, value: Array("0W2B-H1X7-0000001-~".utf8)),
        ].encoded())
    }
}
