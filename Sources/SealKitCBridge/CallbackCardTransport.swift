import CSealKit
import SealHostDriver
import Synchronization

/// A caller's `sealkit_transport` (sealkit.h). `@unchecked Sendable` because it holds a C context
/// pointer: the header makes the caller responsible for that context being usable from the
/// driver's threads, one call at a time. The struct itself is a copy, never mutated.
package struct CTransportFunctions: @unchecked Sendable {
    /// The caller's functions and context.
    package let transport: sealkit_transport

    /// Copies `transport`.
    package init(_ transport: sealkit_transport) { self.transport = transport }

    /// Whether the functions the driver cannot do without (`connect`, `transmit`) are there.
    package var hasRequiredFunctions: Bool { transport.connect != nil && transport.transmit != nil }

    /// Calls the caller's `release`, if it gave one.
    package func release() { transport.release?(transport.context) }
}

/// A ``CardTransport`` over the caller's C functions: a vendor reader stack, or the simulated
/// token of libsealkit-sim. Both C libraries use it: libsealkit for `sealkit_token_open_transport`,
/// where the token owns the functions and `release` is the close action, and libsealkit-skf for a
/// registered device, whose registration owns them and whose close action frees the device.
///
/// The calls are synchronous C calls made on the task's thread. ``SealToken`` runs one operation
/// at a time, so the functions are never called concurrently for one token, as the header
/// promises. The close action runs exactly once: from ``close()`` or, if the transport is dropped
/// without closing, from `deinit`.
package final class CallbackCardTransport: CardTransport {
    package let name: String
    private let functions: CTransportFunctions
    private let closeAction: @Sendable () -> Void
    private let closed = Mutex(false)

    /// A transport over `functions`, named `name` in errors; `closeAction` runs once when it is
    /// closed or dropped. The caller has checked ``CTransportFunctions/hasRequiredFunctions``.
    package init(name: String, functions: CTransportFunctions, closeAction: @escaping @Sendable () -> Void) {
        self.name = name
        self.functions = functions
        self.closeAction = closeAction
    }

    deinit { closeOnce() }

    package func connect() async throws -> [UInt8] {
        guard let connect = functions.transport.connect else { throw missing("connect") }
        return try answerToReset("connect", connect)
    }

    package func reset() async throws -> [UInt8] {
        guard let reset = functions.transport.reset else {
            await disconnect()
            return try await connect()
        }
        return try answerToReset("reset", reset)
    }

    package func disconnect() async {
        functions.transport.disconnect?(functions.transport.context)
    }

    package func close() async {
        await disconnect()
        closeOnce()
    }

    package nonisolated(nonsending) func transmit(_ apdu: [UInt8]) async throws -> [UInt8] {
        guard let transmit = functions.transport.transmit else { throw missing("transmit") }
        let capacity = Int(SEALKIT_MAX_RESPONSE_LENGTH)
        var status: Int32 = SEALKIT_OK
        var reported = 0
        let response = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            status = apdu.withUnsafeBufferPointer { command in
                transmit(functions.transport.context, command.baseAddress, command.count,
                         buffer.baseAddress, capacity, &reported)
            }
            // Only what the callback says it wrote counts, and never more than the buffer.
            initialized = status == SEALKIT_OK && reported <= capacity ? reported : 0
        }
        try check(status, "transmit")
        guard reported <= capacity else {
            throw SealDriverError(code: .transportFailure,
                                  reason: "\(name): transmit reported \(reported) response bytes, more than the \(capacity)-byte buffer")
        }
        return response
    }

    // MARK: Private

    private typealias ATRFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt8>?, Int, UnsafeMutablePointer<Int>?) -> Int32

    private func answerToReset(_ what: String, _ function: ATRFunction) throws -> [UInt8] {
        var atr = [UInt8](repeating: 0, count: Int(SEALKIT_MAX_ATR_LENGTH))
        var length = 0
        let status = atr.withUnsafeMutableBufferPointer { buffer in
            function(functions.transport.context, buffer.baseAddress, buffer.count, &length)
        }
        try check(status, what)
        guard length <= atr.count else {
            throw SealDriverError(code: .transportFailure,
                                  reason: "\(name): \(what) reported a \(length)-byte ATR, more than the \(atr.count)-byte buffer")
        }
        return Array(atr.prefix(length))
    }

    /// Turns a callback's status into the driver error the header promises.
    private func check(_ status: Int32, _ what: String) throws(SealDriverError) {
        switch status {
        case SEALKIT_OK: return
        case SEALKIT_E_CARD_REMOVED: throw SealDriverError(code: .cardRemoved, reason: "\(name): \(what) reported the token removed")
        case SEALKIT_E_NO_RESPONSE: throw SealDriverError(code: .noResponse, reason: "\(name): \(what) reported no response")
        default: throw SealDriverError(code: .transportFailure, reason: "\(name): \(what) failed (\(status))")
        }
    }

    private func missing(_ function: String) -> SealDriverError {
        SealDriverError(code: .transportFailure, reason: "\(name): no \(function) function")
    }

    private func closeOnce() {
        let first = closed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        if first { closeAction() }
    }
}
