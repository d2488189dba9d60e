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

    /// Payload lengths at the edges: empty, a control byte, a status word, a no-op APDU, one-byte
    /// and two-byte length boundaries, the largest frame.
    static let edgeLengths = [0, 1, 2, 5, 255, 256, 257, 300, 0xFFFF]

    static func payload(_ length: Int, seed: Int) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }
    }

    @Test("the array overload writes the generic encoder's bytes", arguments: edgeLengths)
    func arrayOverloadMatchesGeneric(length: Int) throws {
        let payload = Self.payload(length, seed: length)
        let generic = try VPCDFrame.encode(payload[...])  // an ArraySlice: the generic encoder
        #expect(try VPCDFrame.encode(payload) == generic)
        #expect(generic.count == 2 + length)
        #expect(generic[0] == UInt8(length >> 8) && generic[1] == UInt8(length & 0xFF))
    }

    @Test("encode(into:) writes the same bytes whatever the buffer held: empty, same length, longer, shorter",
          arguments: edgeLengths)
    func encodeIntoMatchesGeneric(length: Int) throws {
        let payload = Self.payload(length, seed: 7)
        let expected = try VPCDFrame.encode(payload[...])
        let previousFrames: [[UInt8]] = [
            [], try VPCDFrame.encode(Self.payload(length, seed: 99)),  // same length: written over in place
            [UInt8](repeating: 0xEE, count: length + 9), [0xEE],
        ]
        for previous in previousFrames {
            var frame = previous
            try VPCDFrame.encode(payload, into: &frame)
            #expect(frame == expected, "after a buffer of \(previous.count) bytes")
        }
    }

    @Test("encode(into:) leaves a copy of the reused buffer alone")
    func encodeIntoCopyOnWrite() throws {
        var frame = try VPCDFrame.encode([0x90, 0x00])
        let sent = frame  // the caller still holds the last frame (shared storage)
        try VPCDFrame.encode([0x6A, 0x82], into: &frame)  // same length: the in-place path
        #expect(sent == [0x00, 0x02, 0x90, 0x00])
        #expect(frame == [0x00, 0x02, 0x6A, 0x82])
    }

    @Test("encode(into:) refuses a payload too long for one frame and leaves the buffer empty")
    func encodeIntoTooLong() {
        var frame: [UInt8] = [0x00, 0x02, 0x90, 0x00]
        #expect(throws: VPCDFrameError.payloadTooLong(0x10000)) {
            try VPCDFrame.encode([UInt8](repeating: 0, count: 0x10000), into: &frame)
        }
        #expect(frame.isEmpty)
    }

    @Test("nextPayload(into:) yields what nextPayload() yields, frame by frame, into one reused buffer")
    func decodeIntoMatchesNextPayload() throws {
        // Frames of every edge length, repeated (the in-place path) and alternating (the resizing one),
        // fed in uneven reads.
        var wire: [UInt8] = []
        var payloads: [[UInt8]] = []
        for (index, length) in (Self.edgeLengths + Self.edgeLengths.reversed() + [5, 5, 5, 0, 0, 2]).enumerated() {
            let payload = Self.payload(length, seed: index)
            payloads.append(payload)
            wire += try VPCDFrame.encode(payload)
        }
        var reference = VPCDFrameDecoder()
        var decoder = VPCDFrameDecoder()
        var referencePayloads: [[UInt8]] = []
        var decoded: [[UInt8]] = []
        var payload: [UInt8] = [0xEE]
        var offset = 0
        var readSize = 1
        while offset < wire.count {
            let end = min(offset + readSize, wire.count)
            wire[offset..<end].withUnsafeBytes { decoder.append($0) }
            reference.append(wire[offset..<end])
            offset = end
            readSize = readSize * 3 + 1
            while let next = try reference.nextPayload() { referencePayloads.append(next) }
            while true {
                let before = payload
                guard try decoder.nextPayload(into: &payload) else {
                    #expect(payload == before, "an incomplete frame leaves the buffer as it was")
                    break
                }
                decoded.append(payload)
            }
            #expect(decoder.bufferedByteCount == reference.bufferedByteCount)
        }
        #expect(referencePayloads == payloads)
        #expect(decoded == payloads)
    }

    @Test("nextPayload(into:) leaves a copy of the reused buffer alone")
    func decodeIntoCopyOnWrite() throws {
        var decoder = VPCDFrameDecoder()
        decoder.append([0x00, 0x02, 0x90, 0x00, 0x00, 0x02, 0x6A, 0x82])
        var payload: [UInt8] = []
        #expect(try decoder.nextPayload(into: &payload))
        let kept = payload  // e.g. a command still held by the chip
        #expect(try decoder.nextPayload(into: &payload))  // same length: the in-place path
        #expect(kept == [0x90, 0x00])
        #expect(payload == [0x6A, 0x82])
    }

    @Test("nextPayload(into:) refuses an oversize frame for good, as nextPayload() does")
    func decodeIntoOversize() throws {
        var decoder = VPCDFrameDecoder(maximumPayloadLength: 4)
        decoder.append([0x00, 0x05])
        var payload: [UInt8] = [0x01]
        #expect(throws: VPCDFrameError.oversize(length: 5, limit: 4)) { _ = try decoder.nextPayload(into: &payload) }
        decoder.append([0x00, 0x01, 0x04])
        #expect(throws: VPCDFrameError.oversize(length: 5, limit: 4)) { _ = try decoder.nextPayload(into: &payload) }
        #expect(payload == [0x01])
    }

    @Test("a long stream whose reads end mid-frame comes out whole, whatever collection carries the bytes")
    func decodeLongStraddlingStream() throws {
        let lengths = [0, 1, 3, 5, 17, 255, 300, 2]
        var wire: [UInt8] = []
        var payloads: [[UInt8]] = []
        for index in 0..<2_000 {
            let payload = Self.payload(lengths[index % lengths.count], seed: index)
            payloads.append(payload)
            wire += try VPCDFrame.encode(payload)
        }
        let readSizes = [1, 2, 3, 7, 64, 1_000, 5_000, 6]
        var decoder = VPCDFrameDecoder()
        var decoded: [[UInt8]] = []
        var payload: [UInt8] = []
        var offset = 0
        var read = 0
        while offset < wire.count {
            let end = min(offset + readSizes[read % readSizes.count], wire.count)
            let chunk = wire[offset..<end]
            switch read % 3 {
            case 0: chunk.withUnsafeBytes { decoder.append($0) }  // the socket's raw buffer
            case 1: decoder.append(chunk)  // contiguous storage
            default: decoder.append(chunk.lazy.map { $0 })  // no contiguous storage: copied first
            }
            offset = end
            read += 1
            while try decoder.nextPayload(into: &payload) { decoded.append(payload) }
            #expect(decoder.bufferedByteCount < 2 + 300)  // at most one incomplete frame is kept
        }
        #expect(decoded == payloads)
        #expect(decoder.bufferedByteCount == 0)
    }
}
