// libFuzzer target: the vpcd framing decoder (Sources/SealReaderWire/VPCDFrame.swift).
// docs/fuzzing.md lists the invariants.
import SealFuzzSupport
import SealReaderWire

/// The first input byte sets the read size (1–256 bytes per `recv`), the second a payload limit
/// for a second decoder; the rest is the byte stream from the socket. Invariants: no crash; the
/// payloads the decoder returns are exactly the frames a direct reading of the stream finds, in
/// order, whatever the read size; re-encoding them gives back the consumed bytes; the bytes left
/// buffered are the incomplete tail; the limited decoder fails with `oversize` exactly at the
/// first frame over its limit and returns the frames before it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVPCDFrame(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzBytes(data, size)
    guard input.count >= 2 else { return 0 }
    let readSize = Int(input[0]) + 1
    let limit = Int(input[1]) * 4
    let stream = Array(input[2...])

    // The frames as the protocol defines them, read directly.
    var frames: [[UInt8]] = []
    var offset = 0
    while offset + 2 <= stream.count {
        let length = Int(stream[offset]) << 8 | Int(stream[offset + 1])
        guard offset + 2 + length <= stream.count else { break }
        frames.append(Array(stream[(offset + 2)..<(offset + 2 + length)]))
        offset += 2 + length
    }

    var decoder = VPCDFrameDecoder()
    var limited = VPCDFrameDecoder(maximumPayloadLength: limit)
    var payloads: [[UInt8]] = []
    var limitedPayloads: [[UInt8]] = []
    var limitedFailure: VPCDFrameError?
    var start = 0
    while start < stream.count {
        let chunk = stream[start..<min(start + readSize, stream.count)]
        start += chunk.count
        decoder.append(chunk)
        limited.append(chunk)
        do {
            while let payload = try decoder.nextPayload() { payloads.append(payload) }
        } catch {
            fuzzRequire(false, "the unlimited decoder failed: \(error)")
        }
        do {
            while let payload = try limited.nextPayload() { limitedPayloads.append(payload) }
        } catch {
            if limitedFailure == nil { limitedFailure = error }
        }
    }
    fuzzRequire(payloads == frames, "decoded \(payloads.count) payloads, the stream holds \(frames.count) frames")
    var reencoded: [UInt8] = []
    for payload in payloads { reencoded += (try? VPCDFrame.encode(payload)) ?? [] }
    fuzzRequire(reencoded == Array(stream[..<offset]), "re-encoded frames differ from the consumed bytes")
    fuzzRequire(decoder.bufferedByteCount == stream.count - offset,
                "\(decoder.bufferedByteCount) bytes buffered, \(stream.count - offset) left in the stream")

    // The limited decoder: the frames before the first one over the limit, then `oversize` as soon
    // as that frame's header has arrived.
    var headerOffset = 0
    var expectedFailure: VPCDFrameError?
    var accepted = 0
    while headerOffset + 2 <= stream.count {
        let length = Int(stream[headerOffset]) << 8 | Int(stream[headerOffset + 1])
        if length > limit { expectedFailure = .oversize(length: length, limit: limit); break }
        guard headerOffset + 2 + length <= stream.count else { break }
        accepted += 1
        headerOffset += 2 + length
    }
    fuzzRequire(limitedFailure == expectedFailure, "limited decoder failed with \(String(describing: limitedFailure)), expected \(String(describing: expectedFailure))")
    fuzzRequire(limitedPayloads == Array(frames.prefix(accepted)), "limited decoder returned \(limitedPayloads.count) payloads, expected \(accepted)")
    return 0
}

#if !SEALKIT_FUZZING
@main enum Replay { static func main() { fuzzReplay(fuzzVPCDFrame) } }
#endif
