import SealProtocol
/// The framing of vsmartcard's vpcd socket protocol: every message, in both directions, is a
/// 2-byte big-endian length followed by that many payload bytes.
///
/// A 1-byte payload 00, 01, 02 or 04 is a control message (see `VPCDMessage` in
/// SealSimulatorServers); any other payload is an APDU, and one shorter than 4 bytes (the empty
/// payload included) is answered `67 00` by the card side.
/// The largest payload a frame can carry is ``maximumPayloadLength`` (65 535 bytes).
package enum VPCDFrame {
    /// The largest payload the 2-byte length can describe.
    package static let maximumPayloadLength = Int(UInt16.max)

    /// Length of the frame header (the big-endian payload length).
    package static let headerLength = 2

    /// Encodes one frame: the 2-byte big-endian length of `payload`, then `payload`.
    ///
    /// The result is meant to be written to the socket in one `send`, so that the length and the
    /// payload leave in the same TCP segment.
    ///
    /// - Throws: ``VPCDFrameError/payloadTooLong(_:)`` when `payload` has more than
    ///   ``maximumPayloadLength`` bytes.
    package static func encode(_ payload: some Collection<UInt8>) throws(VPCDFrameError) -> [UInt8] {
        let count = payload.count
        guard count <= maximumPayloadLength else { throw .payloadTooLong(count) }
        var frame: [UInt8] = []
        frame.reserveCapacity(headerLength + count)
        frame.append(UInt8(truncatingIfNeeded: count >> 8))
        frame.append(UInt8(truncatingIfNeeded: count))
        frame.append(contentsOf: payload)
        return frame
    }

    /// Encodes one frame of an array payload: the same bytes as the generic ``encode(_:)-(some Collection<UInt8>)``.
    ///
    /// A concrete overload: called from another module, the generic one runs unspecialized
    /// (witness tables and generic metadata looked up on every call, measured as the largest
    /// user-space cost of the simulator's vpcd slot thread), where this one copies with `memcpy`.
    ///
    /// - Throws: ``VPCDFrameError/payloadTooLong(_:)`` when `payload` has more than
    ///   ``maximumPayloadLength`` bytes.
    package static func encode(_ payload: [UInt8]) throws(VPCDFrameError) -> [UInt8] {
        var frame: [UInt8] = []
        try encode(payload, into: &frame)
        return frame
    }

    /// Replaces the contents of `frame` with the frame of `payload` (the same bytes as
    /// ``encode(_:)-([UInt8])``), keeping `frame`'s capacity: a connection that reuses one buffer
    /// for its answers allocates nothing per frame.
    ///
    /// - Throws: ``VPCDFrameError/payloadTooLong(_:)`` when `payload` has more than
    ///   ``maximumPayloadLength`` bytes; `frame` is then left empty.
    package static func encode(_ payload: [UInt8], into frame: inout [UInt8]) throws(VPCDFrameError) {
        let count = payload.count
        guard count <= maximumPayloadLength else {
            frame.removeAll(keepingCapacity: true)
            throw .payloadTooLong(count)
        }
        guard frame.count == headerLength + count else {
            frame.removeAll(keepingCapacity: true)
            frame.reserveCapacity(headerLength + count)
            frame.append(UInt8(truncatingIfNeeded: count >> 8))
            frame.append(UInt8(truncatingIfNeeded: count))
            frame.append(contentsOf: payload)
            return
        }
        // As long as the last frame (the same answer again, as a client repeating a command
        // gets): written over in place, where emptying the array and growing it again costs
        // more than the copy itself.
        frame.withUnsafeMutableBufferPointer { out in
            out[0] = UInt8(truncatingIfNeeded: count >> 8)
            out[1] = UInt8(truncatingIfNeeded: count)
            payload.withUnsafeBufferPointer { source in
                _ = UnsafeMutableBufferPointer(rebasing: out[headerLength...]).update(fromContentsOf: source)
            }
        }
    }
}

/// Why a vpcd frame could not be encoded or decoded.
package enum VPCDFrameError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A payload to encode is longer than ``VPCDFrame/maximumPayloadLength``.
    case payloadTooLong(Int)
    /// A received frame announces a payload longer than the decoder accepts (length, limit).
    /// The stream cannot be resynchronized: close the connection.
    case oversize(length: Int, limit: Int)

    /// A one-line explanation.
    package var description: String {
        switch self {
        case .payloadTooLong(let count):
            return "a vpcd frame carries at most \(VPCDFrame.maximumPayloadLength) bytes, got \(count)"
        case .oversize(let length, let limit):
            return "received a vpcd frame of \(length) bytes, more than the \(limit) accepted"
        }
    }
}

/// An incremental decoder of vpcd frames from a byte stream.
///
/// Feed it whatever `recv` returned with ``append(_:)``, then take complete payloads with
/// ``nextPayload()`` until it returns `nil`. Frames split across reads, several frames in one read
/// and zero-length frames are all handled; bytes of an incomplete frame stay buffered until the
/// rest arrives.
///
/// After an ``VPCDFrameError/oversize(length:limit:)`` error the decoder stays failed: a length
/// prefix cannot be trusted any more, so the connection must be closed.
package struct VPCDFrameDecoder: Sendable {
    /// The largest payload accepted; longer frames are rejected as soon as their header arrives,
    /// before their payload is buffered.
    package let maximumPayloadLength: Int

    /// Received bytes: those of `start ..< end` are not returned yet; the array's count is the
    /// space reserved, never shrunk, so that taking a payload and receiving the next read move two
    /// indices instead of emptying and regrowing the array.
    private var buffer: [UInt8] = []
    private var start = 0
    private var end = 0
    private var failure: VPCDFrameError?

    /// A decoder accepting payloads of up to `maximumPayloadLength` bytes (clamped to
    /// 0…``VPCDFrame/maximumPayloadLength``).
    package init(maximumPayloadLength: Int = VPCDFrame.maximumPayloadLength) {
        self.maximumPayloadLength = min(max(maximumPayloadLength, 0), VPCDFrame.maximumPayloadLength)
    }

    /// Bytes received but not yet returned as a payload (a partial frame).
    package var bufferedByteCount: Int { end - start }

    /// Appends bytes read from the socket.
    package mutating func append(_ bytes: some Collection<UInt8>) {
        guard failure == nil else { return }
        let copied: Void? = bytes.withContiguousStorageIfAvailable { append(UnsafeRawBufferPointer($0)) }
        if copied == nil {
            Array(bytes).withUnsafeBytes { append($0) }
        }
    }

    /// Appends the bytes of a raw buffer (the socket read buffer), without an intermediate array.
    package mutating func append(_ pointer: UnsafeRawBufferPointer) {
        guard failure == nil, !pointer.isEmpty else { return }
        if start == end {
            start = 0
            end = 0
        }
        if end + pointer.count > buffer.count {
            // Out of room: drop the consumed bytes first (each byte moves at most once per frame
            // taken before it), then grow the reserve, at least doubling it, if that is not enough.
            if start > 0 {
                buffer.removeSubrange(0 ..< start)
                end -= start
                start = 0
            }
            let missing = end + pointer.count - buffer.count
            if missing > 0 {
                buffer.append(contentsOf: repeatElement(0, count: max(missing, buffer.count)))
            }
        }
        buffer.withUnsafeMutableBytes { storage in
            UnsafeMutableRawBufferPointer(rebasing: storage[end ..< end + pointer.count]).copyMemory(from: pointer)
        }
        end += pointer.count
    }

    /// The payload of the next complete frame, or `nil` when more bytes are needed.
    ///
    /// - Throws: ``VPCDFrameError/oversize(length:limit:)`` when the next frame announces a
    ///   payload longer than ``maximumPayloadLength``; every later call throws it again.
    package mutating func nextPayload() throws(VPCDFrameError) -> [UInt8]? {
        var payload: [UInt8] = []
        return try nextPayload(into: &payload) ? payload : nil
    }

    /// Replaces the contents of `payload` with the payload of the next complete frame and returns
    /// `true`, or returns `false` (leaving `payload` as it was) when more bytes are needed: what
    /// ``nextPayload()`` returns, into a buffer the caller reuses, so that a connection allocates
    /// nothing per frame once `payload` has grown to its largest frame.
    ///
    /// - Throws: ``VPCDFrameError/oversize(length:limit:)`` when the next frame announces a
    ///   payload longer than ``maximumPayloadLength``; every later call throws it again.
    package mutating func nextPayload(into payload: inout [UInt8]) throws(VPCDFrameError) -> Bool {
        if let failure { throw failure }
        let available = end - start
        guard available >= VPCDFrame.headerLength else { return false }
        let length = Int(buffer[start]) << 8 | Int(buffer[start + 1])
        guard length <= maximumPayloadLength else {
            let error = VPCDFrameError.oversize(length: length, limit: maximumPayloadLength)
            failure = error
            buffer = []
            start = 0
            end = 0
            throw error
        }
        guard available >= VPCDFrame.headerLength + length else { return false }
        let payloadStart = start + VPCDFrame.headerLength
        let range = payloadStart ..< payloadStart + length
        if payload.count == length {
            // As long as the last payload (a client repeating a command): written over in place.
            payload.withUnsafeMutableBufferPointer { out in
                buffer.withUnsafeBufferPointer { source in
                    _ = out.update(fromContentsOf: UnsafeBufferPointer(rebasing: source[range]))
                }
            }
        } else {
            payload.replaceSubrange(payload.startIndex ..< payload.endIndex, with: buffer[range])
        }
        start = payloadStart + length
        return true
    }
}
