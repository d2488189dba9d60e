import SealHostDriver
import SealReaderWire
import SealProtocol

/// The host side of the CCID bulk protocol as a pure state machine: no I/O, no clock.
///
/// The session numbers commands (`bSeq`, incremented modulo 256), checks every reply against the
/// command in flight (sequence number, slot, message type), skips time-extension replies (at most
/// ``maximumTimeExtensions`` per command), maps failed replies to ``USBError``, reassembles
/// responses chained with `bChainParameter`, splits commands longer than
/// `dwMaxCCIDMessageLength` into chained XfrBlocks, and reassembles messages that arrive over
/// several bulk transfers (see ``CCIDBulkPipe`` on zero-length packets).
///
/// A driver loop runs it over a pipe:
///
/// ```swift
/// var session = CCIDHostSession(maximumMessageLength: 271)
/// try await pipe.write(try session.start(.iccPowerOn(.automatic)))
/// loop: while true {
///     switch try session.next() {
///     case .read: try session.receive(try await pipe.read(maxLength: 271, timeout: .seconds(5)))
///     case .timeExtension: continue            // wait longer on the next read
///     case .write(let bytes): try await pipe.write(bytes)
///     case .completed(let reply): print(reply); break loop
///     }
/// }
/// ```
///
/// After a transport failure (timeout, cancellation) call ``abandon()``: the reply of the
/// abandoned command, should it still come, is then discarded instead of failing the next one.
package struct CCIDHostSession: Sendable {
    /// What the driver does next.
    package enum Step: Hashable, Sendable {
        /// Read a bulk IN transfer and pass it to ``CCIDHostSession/receive(_:)``.
        case read
        /// The reader asked for more time (`bStatus` 0x80, `bError` = BWT multiplier): keep
        /// reading, with a timeout extended by `multiplier` (0 means 1).
        case timeExtension(multiplier: UInt8)
        /// Write these bytes to bulk OUT (the next part of a chain), then call
        /// ``CCIDHostSession/next()`` again.
        case write([UInt8])
        /// The command completed. For `XfrBlock`, the `dataBlock` carries the whole reassembled
        /// response and `chain` 0.
        case completed(CCIDMessage)
    }

    /// `bSlot` of every command.
    package let slot: UInt8
    /// `dwMaxCCIDMessageLength`: commands longer than this are chained; longer replies are errors.
    package let maximumMessageLength: Int
    /// Time-extension replies accepted per command before ``USBError/Code-swift.struct/timeExtensionLimit``.
    package let maximumTimeExtensions: Int
    /// Bound on a reassembled (chained) response.
    package let maximumResponseLength: Int
    /// Consecutive stray zero-length transfers tolerated while waiting for a reply.
    package let maximumEmptyTransfers: Int
    /// The `bSeq` the next command gets.
    package private(set) var nextSequence: UInt8

    private var buffer: [UInt8] = []
    private var pending: Pending?
    /// Sequence numbers of abandoned commands whose late replies are discarded (bounded).
    private var staleSequences: [UInt8] = []
    private var emptyTransfers = 0

    private struct Pending: Sendable {
        var sequence: UInt8
        var kind: CCIDMessage.Kind
        var expectedType: UInt8
        var timeExtensions = 0
        /// Command parts still to send (XfrBlock command chaining).
        var outgoing: [[UInt8]] = []
        /// Response parts received so far (bChainParameter chaining).
        var incoming: [UInt8]?
        var bwi: UInt8 = 0
    }

    /// The smallest `dwMaxCCIDMessageLength` the session works with: a header and one data byte.
    package static let minimumMessageLength = CCIDHeader.size + 1

    /// Creates a session.
    ///
    /// - Parameters:
    ///   - slot: `bSlot` of the commands, 0 for single-slot readers.
    ///   - maximumMessageLength: the reader's `dwMaxCCIDMessageLength` (header included);
    ///     values below 11 are raised to 11.
    ///   - maximumTimeExtensions: time extensions accepted per command (default 64).
    ///   - maximumResponseLength: bound on a reassembled response (default 65 538: an extended
    ///     response of 65 536 bytes plus SW1 SW2).
    ///   - firstSequence: `bSeq` of the first command.
    package init(slot: UInt8 = 0, maximumMessageLength: Int = CCIDMessage.defaultMaximumLength,
                maximumTimeExtensions: Int = 64, maximumResponseLength: Int = 65_538,
                maximumEmptyTransfers: Int = 8, firstSequence: UInt8 = 0) {
        self.slot = slot
        self.maximumMessageLength = max(Self.minimumMessageLength, maximumMessageLength)
        self.maximumTimeExtensions = max(0, maximumTimeExtensions)
        self.maximumResponseLength = max(0, maximumResponseLength)
        self.maximumEmptyTransfers = max(0, maximumEmptyTransfers)
        self.nextSequence = firstSequence
    }

    /// Whether a command is in flight.
    package var isBusy: Bool { pending != nil }

    /// The `bSeq` of the message in flight (the last part sent), if any.
    package var pendingSequence: UInt8? { pending?.sequence }

    // MARK: Commands

    /// Starts a command and returns the bytes to write to bulk OUT.
    ///
    /// An `xfrBlock` whose message would exceed ``maximumMessageLength`` is split into a chain
    /// (`wLevelParameter` 01, 03 …, 02); the other parts come as ``Step/write(_:)`` steps when the
    /// reader asks for them (`bChainParameter` 10).
    ///
    /// - Throws: ``USBError/Code-swift.struct/busy`` when a command is in flight;
    ///   ``USBError/Code-swift.struct/commandTooLong`` when a non-XfrBlock command does not fit, or
    ///   when an XfrBlock that does not fit already uses a `wLevelParameter`;
    ///   ``USBError/Code-swift.struct/unexpectedMessage`` for a reply kind or unknown type.
    package mutating func start(_ kind: CCIDMessage.Kind) throws(USBError) -> [UInt8] {
        guard pending == nil else {
            throw USBError(code: .busy, reason: "\(kind.name) started while bSeq \(pending?.sequence ?? 0) is in flight")
        }
        guard let expected = Self.expectedReply(to: kind) else {
            throw USBError(code: .unexpectedMessage, reason: "\(kind.name) is not a command the host sends")
        }
        var state = Pending(sequence: 0, kind: kind, expectedType: expected)
        let capacity = maximumMessageLength - CCIDHeader.size
        var first = kind
        if case .xfrBlock(let bwi, let level, let data) = kind, data.count > capacity {
            guard level == 0 else {
                throw USBError(code: .commandTooLong,
                                reason: "an XfrBlock of \(data.count) bytes with wLevelParameter \(level) exceeds dwMaxCCIDMessageLength \(maximumMessageLength)")
            }
            var parts = stride(from: 0, to: data.count, by: capacity).map { Array(data[$0 ..< min($0 + capacity, data.count)]) }
            let head = parts.removeFirst()
            first = .xfrBlock(bwi: bwi, levelParameter: CCIDChainParameter.begins.rawValue, data: head)
            state.outgoing = parts
            state.bwi = bwi
        } else if CCIDHeader.size + Self.dataCount(of: kind) > maximumMessageLength {
            throw USBError(code: .commandTooLong,
                            reason: "\(kind.name) of \(CCIDHeader.size + Self.dataCount(of: kind)) bytes exceeds dwMaxCCIDMessageLength \(maximumMessageLength)")
        }
        state.sequence = takeSequence()
        pending = state
        emptyTransfers = 0
        return CCIDMessage(slot: slot, sequence: state.sequence, kind: first).encoded()
    }

    /// Marks the command in flight as abandoned (its reply timed out or the caller gave up):
    /// a late reply with its `bSeq` will be discarded. Buffered bytes are dropped.
    package mutating func abandon() {
        if let pending { markStale(pending.sequence) }
        pending = nil
        buffer = []
        emptyTransfers = 0
    }

    // MARK: Replies

    /// Passes one bulk IN transfer to the session.
    ///
    /// An empty transfer (zero-length packet) is skipped when no message is partly buffered (a
    /// ZLP that ended the previous message); inside a message it is the end of a transfer that
    /// cut the message short.
    ///
    /// - Throws: ``USBError/Code-swift.struct/malformedMessage`` for a truncated message or
    ///   too many empty transfers in a row.
    package mutating func receive(_ bytes: [UInt8]) throws(USBError) {
        guard bytes.isEmpty else {
            emptyTransfers = 0
            buffer.append(contentsOf: bytes)
            return
        }
        if !buffer.isEmpty {
            let have = buffer.count
            let announced = CCIDHeader.peek(buffer).map { " of \($0.messageSize)" } ?? ""
            fail()
            throw USBError(code: .malformedMessage,
                            reason: "the bulk transfer ended after \(have) bytes of a message\(announced) (truncated)")
        }
        emptyTransfers += 1
        if emptyTransfers > maximumEmptyTransfers {
            fail()
            throw USBError(code: .malformedMessage,
                            reason: "\(emptyTransfers) zero-length transfers in a row instead of a reply")
        }
    }

    /// Processes buffered bytes and says what to do next.
    ///
    /// - Throws: ``USBError``: `sequenceMismatch`, `slotMismatch`, `unexpectedMessage`,
    ///   `malformedMessage`, `timeExtensionLimit`, `chainingError`, `responseTooLong`, and for
    ///   failed replies `iccMute`, `cardAbsent` or `slotFailure`. After an error no command is in
    ///   flight.
    package mutating func next() throws(USBError) -> Step {
        while true {
            guard var state = pending else {
                throw USBError(code: .unexpectedMessage, reason: "no command in flight")
            }
            let decoded: (message: CCIDMessage, consumed: Int)?
            do {
                decoded = try CCIDMessage.decode(from: buffer, maximumLength: maximumMessageLength)
            } catch {
                fail()
                throw USBError(code: .malformedMessage, reason: "reply: \(error)")
            }
            guard let (message, consumed) = decoded else { return .read }
            buffer.removeFirst(consumed)

            guard message.sequence == state.sequence else {
                if let index = staleSequences.firstIndex(of: message.sequence) {
                    staleSequences.remove(at: index)
                    continue   // the late reply of an abandoned command
                }
                fail()
                throw USBError(code: .sequenceMismatch,
                                reason: "\(message.kind.name) has bSeq \(message.sequence), expected \(state.sequence)")
            }
            guard message.slot == slot else {
                fail()
                throw USBError(code: .slotMismatch,
                                reason: "\(message.kind.name) has bSlot \(message.slot), expected \(slot)")
            }
            guard let (status, error) = message.kind.replyStatus else {
                fail()
                throw USBError(code: .unexpectedMessage,
                                reason: "\(message.kind.name) on bulk IN in reply to \(state.kind.name)")
            }

            switch status.commandStatus {
            case .timeExtension:
                state.timeExtensions += 1
                guard state.timeExtensions <= maximumTimeExtensions else {
                    fail()
                    throw USBError(code: .timeExtensionLimit,
                                    reason: "\(state.timeExtensions) time extensions for \(state.kind.name), at most \(maximumTimeExtensions)")
                }
                pending = state
                return .timeExtension(multiplier: error.rawValue)
            case .failed:
                finish()
                throw Self.failure(status: status, error: error, command: state.kind.name)
            case .processed, .rfu:
                break
            }

            guard message.kind.messageType == state.expectedType else {
                fail()
                throw USBError(code: .unexpectedMessage,
                                reason: "\(message.kind.name) in reply to \(state.kind.name)")
            }

            guard case .dataBlock(_, _, let chainByte, let data) = message.kind,
                  case .xfrBlock = state.kind else {
                finish()
                return .completed(message)
            }
            return try chainStep(&state, message: message, chain: CCIDChainParameter(rawValue: UInt16(chainByte)), data: data)
        }
    }

    // MARK: Internals

    private mutating func chainStep(_ state: inout Pending, message: CCIDMessage, chain: CCIDChainParameter,
                                    data: [UInt8]) throws(USBError) -> Step {
        switch chain {
        case .continueRequest:
            guard !state.outgoing.isEmpty, state.incoming == nil, data.isEmpty else {
                fail()
                throw USBError(code: .chainingError, reason: "bChainParameter 10 (send more) but no command part is left")
            }
            let part = state.outgoing.removeFirst()
            let level = state.outgoing.isEmpty ? CCIDChainParameter.ends : CCIDChainParameter.continues
            state.sequence = takeSequence()
            pending = state
            return .write(CCIDMessage(slot: slot, sequence: state.sequence,
                                      kind: .xfrBlock(bwi: state.bwi, levelParameter: level.rawValue, data: part)).encoded())
        case .complete, .begins, .continues, .ends:
            guard state.outgoing.isEmpty else {
                fail()
                throw USBError(code: .chainingError,
                                reason: "a response (\(chain)) before the reader took the rest of the command")
            }
            let starts = chain == .complete || chain == .begins
            guard starts == (state.incoming == nil) else {
                fail()
                throw USBError(code: .chainingError,
                                reason: state.incoming == nil ? "bChainParameter \(chain) without a chain in progress"
                                                              : "bChainParameter \(chain) inside a chain")
            }
            // A part that announces more but carries nothing makes no progress: a reader answering
            // such parts forever would keep the host asking forever (maximumResponseLength never
            // fills), so it is refused.
            if chain.hasMore && data.isEmpty {
                fail()
                throw USBError(code: .chainingError, reason: "bChainParameter \(chain) with no data (the response chain makes no progress)")
            }
            // The usual reply is one part: its data is the response as it is, with no copy.
            let assembled = state.incoming.map { $0 + data } ?? data
            guard assembled.count <= maximumResponseLength else {
                fail()
                throw USBError(code: .responseTooLong,
                                reason: "the chained response exceeds \(maximumResponseLength) bytes")
            }
            if chain.hasMore {
                state.incoming = assembled
                state.sequence = takeSequence()
                pending = state
                return .write(CCIDMessage(slot: slot, sequence: state.sequence,
                                          kind: .xfrBlock(bwi: state.bwi, levelParameter: CCIDChainParameter.continueRequest.rawValue,
                                                          data: [])).encoded())
            }
            finish()
            if state.incoming == nil && chain == .complete { return .completed(message) }
            guard case .dataBlock(let status, let error, _, _) = message.kind else { return .completed(message) }
            return .completed(CCIDMessage(slot: message.slot, sequence: message.sequence,
                                          kind: .dataBlock(status: status, error: error, chain: 0, data: assembled)))
        default:
            fail()
            throw USBError(code: .chainingError, reason: "unknown bChainParameter \(chain)")
        }
    }

    /// Ends the command in flight after its reply. Bytes left in the buffer came in the same
    /// transfer as the reply, after the `dwLength` it announced: a transfer carries one message, so
    /// they are junk (a reader whose dwLength lies short) and must not become the start of the next
    /// command's reply.
    private mutating func finish() {
        pending = nil
        buffer.removeAll(keepingCapacity: true)
        emptyTransfers = 0
    }

    /// Ends the command in flight after a protocol error: its sequence number is stale and the
    /// buffer is dropped (it cannot be trusted).
    private mutating func fail() {
        abandon()
    }

    private mutating func markStale(_ sequence: UInt8) {
        staleSequences.append(sequence)
        if staleSequences.count > 8 { staleSequences.removeFirst() }
    }

    private mutating func takeSequence() -> UInt8 {
        defer { nextSequence &+= 1 }
        if !staleSequences.isEmpty { staleSequences.removeAll { $0 == nextSequence } }
        return nextSequence
    }

    private static func failure(status: CCIDSlotStatus, error: CCIDSlotError, command: String) -> USBError {
        if status.iccStatus == .absent {
            return USBError(code: .cardAbsent, reason: "\(command) failed: no ICC in the slot (\(error))", slotError: error)
        }
        if error == .iccMute {
            return USBError(code: .iccMute, reason: "\(command) failed: ICC_MUTE", slotError: error)
        }
        return USBError(code: .slotFailure, reason: "\(command) failed with \(error.name)", slotError: error)
    }

    private static func expectedReply(to kind: CCIDMessage.Kind) -> UInt8? {
        switch kind {
        case .iccPowerOn, .xfrBlock, .secure: CCIDMessageType.dataBlock
        case .iccPowerOff, .getSlotStatus, .iccClock, .t0APDU, .mechanical, .abort: CCIDMessageType.slotStatus
        case .getParameters, .resetParameters, .setParameters: CCIDMessageType.parameters
        case .escape: CCIDMessageType.escapeResponse
        case .setDataRateAndClockFrequency: CCIDMessageType.dataRateAndClockFrequency
        default: nil
        }
    }

    private static func dataCount(of kind: CCIDMessage.Kind) -> Int {
        switch kind {
        case .xfrBlock(_, _, let data), .secure(_, _, let data), .setParameters(_, let data), .escape(let data): data.count
        case .setDataRateAndClockFrequency: 8
        default: 0
        }
    }
}
