import SealReaderWire
import Testing

@Suite("vpcd frame codec")
struct VPCDFrameCodecTests {
    @Test("encodes the 2-byte big-endian length then the payload")
    func encode() throws {
        #expect(try VPCDFrame.encode([UInt8]()) == [0x00, 0x00])
        #expect(try VPCDFrame.encode([0x04]) == [0x00, 0x01, 0x04])
        #expect(try VPCDFrame.encode([0x90, 0x00]) == [0x00, 0x02, 0x90, 0x00])
        let apdu: [UInt8] = [0x00, 0xA4, 0x04, 0x00, 0x09, 0xF0, 0x53, 0x45, 0x41, 0x4C, 0x4B, 0x49, 0x54, 0x01]
        #expect(try VPCDFrame.encode(apdu) == [0x00, 0x0E] + apdu)
        let long = [UInt8](repeating: 0xAB, count: 0x012C)
        let frame = try VPCDFrame.encode(long)
        #expect(frame.count == 2 + 300)
        #expect(Array(frame.prefix(2)) == [0x01, 0x2C])
        #expect(Array(frame.dropFirst(2)) == long)
    }

    @Test("the largest payload is 65 535 bytes; one more is refused")
    func encodeLimits() throws {
        let largest = try VPCDFrame.encode([UInt8](repeating: 0, count: 0xFFFF))
        #expect(Array(largest.prefix(2)) == [0xFF, 0xFF])
        #expect(largest.count == 0xFFFF + 2)
        #expect(throws: VPCDFrameError.payloadTooLong(0x10000)) {
            try VPCDFrame.encode([UInt8](repeating: 0, count: 0x10000))
        }
    }

    @Test("decodes one complete frame and then asks for more")
    func decodeWhole() throws {
        var decoder = VPCDFrameDecoder()
        decoder.append([0x00, 0x02, 0x90, 0x00])
        #expect(try decoder.nextPayload() == [0x90, 0x00])
        #expect(try decoder.nextPayload() == nil)
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test("a frame fed one byte at a time appears only with its last byte")
    func decodeByteByByte() throws {
        let frame: [UInt8] = [0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00]
        var decoder = VPCDFrameDecoder()
        for (index, byte) in frame.enumerated() {
            decoder.append([byte])
            if index < frame.count - 1 {
                #expect(try decoder.nextPayload() == nil, "complete after only \(index + 1) bytes")
                #expect(decoder.bufferedByteCount == index + 1)
            }
        }
        #expect(try decoder.nextPayload() == [0x00, 0xA4, 0x04, 0x00, 0x00])
        #expect(try decoder.nextPayload() == nil)
    }

    @Test("a header split across reads, and a payload split across reads")
    func decodeSplit() throws {
        var decoder = VPCDFrameDecoder()
        decoder.append([0x00])
        #expect(try decoder.nextPayload() == nil)
        decoder.append([0x03, 0x11])
        #expect(try decoder.nextPayload() == nil)
        decoder.append([0x22, 0x33, 0x00])  // ends the frame and starts the next header
        #expect(try decoder.nextPayload() == [0x11, 0x22, 0x33])
        #expect(try decoder.nextPayload() == nil)
        decoder.append([0x01, 0x04])
        #expect(try decoder.nextPayload() == [0x04])
    }

    @Test("several frames in one read come out in order")
    func decodeSeveral() throws {
        var decoder = VPCDFrameDecoder()
        decoder.append([0x00, 0x01, 0x01, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x02, 0x90, 0x00, 0x00])
        #expect(try decoder.nextPayload() == [0x01])
        #expect(try decoder.nextPayload() == [0x04])
        #expect(try decoder.nextPayload() == [])
        #expect(try decoder.nextPayload() == [0x90, 0x00])
        #expect(try decoder.nextPayload() == nil)
        #expect(decoder.bufferedByteCount == 1)
    }

    @Test("a zero-length frame decodes to an empty payload")
    func decodeEmpty() throws {
        var decoder = VPCDFrameDecoder()
        decoder.append([0x00, 0x00])
        #expect(try decoder.nextPayload() == [])
        #expect(try decoder.nextPayload() == nil)
    }

    @Test("the largest frame decodes, split in uneven reads")
    func decodeLargest() throws {
        let payload = (0..<0xFFFF).map { UInt8(truncatingIfNeeded: $0) }
        let frame = try VPCDFrame.encode(payload)
        var decoder = VPCDFrameDecoder()
        var offset = 0
        var result: [UInt8]?
        for size in [1, 1, 7000, 1, 30000] + Array(repeating: 9999, count: 10) where offset < frame.count {
            let end = min(offset + size, frame.count)
            decoder.append(frame[offset..<end])
            offset = end
            result = try decoder.nextPayload()
            if offset < frame.count { #expect(result == nil) }
        }
        #expect(result == payload)
    }

    @Test("an oversize frame is refused at its header, before its payload arrives, and for good")
    func decodeOversize() throws {
        var decoder = VPCDFrameDecoder(maximumPayloadLength: 261)
        decoder.append([0x01, 0x06])
        #expect(decoder.maximumPayloadLength == 261)
        #expect(throws: VPCDFrameError.oversize(length: 262, limit: 261)) { _ = try decoder.nextPayload() }
        #expect(decoder.bufferedByteCount == 0)
        decoder.append([0x00, 0x01, 0x04])
        #expect(throws: VPCDFrameError.oversize(length: 262, limit: 261)) { _ = try decoder.nextPayload() }
    }

    @Test("a frame exactly at the limit is accepted")
    func decodeAtLimit() throws {
        var decoder = VPCDFrameDecoder(maximumPayloadLength: 3)
        decoder.append([0x00, 0x03, 0x01, 0x02, 0x03])
        #expect(try decoder.nextPayload() == [0x01, 0x02, 0x03])
        #expect(VPCDFrameDecoder(maximumPayloadLength: 1 << 20).maximumPayloadLength == 0xFFFF)
    }
}

