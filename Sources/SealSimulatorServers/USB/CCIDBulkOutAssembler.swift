import SealSimulatedToken
import SealReaderWire
import SealProtocol

/// Delimits CCID messages in the bulk-OUT data stream the way reader firmware does.
///
/// A host sends each command as one bulk transfer, split into `wMaxPacketSize` packets; the
/// transfer ends with a short packet, or — when its length is an exact multiple of the packet size —
/// simply when `10 + dwLength` bytes have arrived (libccid sends no zero-length packet; a host
/// that does, e.g. with `URB_ZERO_PACKET`, is fine too). Over USB/IP a transfer may arrive as one
/// URB or several (usbfs splits large transfers), so the assembler accumulates URB payloads and
/// emits a candidate message when:
/// - exactly `10 + dwLength` bytes are there (the normal case);
/// - the transfer ended early (a short packet before `dwLength` was satisfied), or carried more
///   than `10 + dwLength` bytes, or announced more than `dwMaxCCIDMessageLength`: the bytes are
///   emitted as they are and ``CCIDDevice/receiveBulkOut(_:)`` answers them with a bad
///   `dwLength` (`bError` 01). The rest of such a transfer is dropped.
///
/// Fewer than 10 bytes ending a transfer are emitted too: the device answers them if it can
/// read `bSlot` and `bSeq`.
package struct CCIDBulkOutAssembler: Sendable {
    /// `wMaxPacketSize` of the bulk-OUT endpoint.
    package let maxPacketSize: Int
    /// `dwMaxCCIDMessageLength`.
    package let maxMessageLength: Int

    private var buffer: [UInt8] = []
    /// Dropping the rest of a transfer already answered as malformed.
    private var discarding = false

    /// An assembler for an endpoint of `maxPacketSize` (default 64) and messages of at most
    /// `maxMessageLength` bytes.
    package init(maxPacketSize: Int = 64, maxMessageLength: Int) {
        self.maxPacketSize = max(maxPacketSize, 1)
        self.maxMessageLength = max(maxMessageLength, CCIDHeader.size)
    }

    /// Bytes of a message still incomplete.
    package var bufferedByteCount: Int { buffer.count }

    /// Takes the payload of one bulk-OUT URB.
    ///
    /// - Parameters:
    ///   - chunk: the URB's data.
    ///   - zeroLengthPacket: the URB asked for a terminating zero-length packet
    ///     (`URB_ZERO_PACKET`), so it ends the transfer even when its length is a multiple of
    ///     the packet size.
    /// - Returns: the candidate messages completed by this chunk (at most one).
    package mutating func append(_ chunk: [UInt8], zeroLengthPacket: Bool = false) -> [[UInt8]] {
        take(chunk, zeroLengthPacket: zeroLengthPacket).map { [$0] } ?? []
    }

    /// Takes the payload of one bulk-OUT URB, as ``append(_:zeroLengthPacket:)`` does, and
    /// returns the candidate message it completes, if any (there is at most one).
    ///
    /// The usual URB, one whole message with nothing buffered before it, is returned as it is:
    /// no copy into the buffer and out again.
    package mutating func take(_ chunk: [UInt8], zeroLengthPacket: Bool = false) -> [UInt8]? {
        if buffer.isEmpty, !discarding, let header = CCIDHeader.peek(chunk),
           header.messageSize == chunk.count, header.messageSize <= maxMessageLength {
            return chunk
        }
        let endsTransfer = chunk.isEmpty || chunk.count % maxPacketSize != 0 || zeroLengthPacket
        if discarding {
            if endsTransfer { discarding = false }
            return nil
        }
        buffer.append(contentsOf: chunk)
        guard let header = CCIDHeader.peek(buffer) else {
            guard endsTransfer, !buffer.isEmpty else { return nil }
            return take(discardingRest: false)
        }
        if header.messageSize > maxMessageLength || buffer.count > header.messageSize {
            return take(discardingRest: !endsTransfer)
        }
        if buffer.count == header.messageSize || endsTransfer {
            return take(discardingRest: false)
        }
        return nil
    }

    /// Forgets a partial message (endpoint reset, CLEAR_FEATURE(ENDPOINT_HALT), re-import).
    package mutating func reset() {
        buffer = []
        discarding = false
    }

    private mutating func take(discardingRest: Bool) -> [UInt8] {
        let message = buffer
        buffer = []
        discarding = discardingRest
        return message
    }
}
