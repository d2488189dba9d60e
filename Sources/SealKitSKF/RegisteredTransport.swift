import CSealKit
import CSealKitSKF
import SealHostDriver
import Synchronization

/// A device registered with `SKF_SealKit_AddTransportDevice`: the caller's `sealkit_transport`
/// (sealkit.h), owned by the library from registration on. Registered devices stay for the life
/// of the process, so `release` runs only when registering fails (from `deinit`).
///
/// `@unchecked Sendable`: it holds the caller's C context pointer; sealkit.h makes the caller
/// responsible for that context being usable from the driver's threads, one call at a time. This
/// library connects at most one token to a registered device at once (``connected``), so the
/// functions are never called concurrently.
final class RegisteredTransport: @unchecked Sendable {
    let name: String
    let transport: sealkit_transport
    /// Whether a `DEVHANDLE` is connected over it.
    let connected = Mutex(false)

    /// Copies `transport`; refuses (releasing it) one without `connect` and `transmit`.
    init(name: String, transport: sealkit_transport) throws(SKFFailure) {
        self.name = name
        self.transport = transport
        guard transport.connect != nil, transport.transmit != nil else { throw SKFFailure(SAR_INVALIDPARAMERR, "the transport needs `connect` and `transmit` functions") }
    }

    /// Called when registering failed: the library does not keep it.
    func discard() { transport.release?(transport.context) }
}

/// One connection of a ``RegisteredTransport``: the ``CardTransport`` a ``SealToken`` drives.
/// Its `close()` disconnects and frees the device for the next connection, never releasing the
/// caller's transport (the registration owns it).
final class RegisteredTransportConnection: CardTransport {
    let name: String
    private let device: RegisteredTransport

    init(_ device: RegisteredTransport) {
        self.device = device
        name = device.name
    }

    func connect() async throws -> [UInt8] {
        guard let connect = device.transport.connect else { throw missing("connect") }
        return try answerToReset("connect", connect)
    }

    func reset() async throws -> [UInt8] {
        guard let reset = device.transport.reset else {
            await disconnect()
            return try await connect()
        }
        return try answerToReset("reset", reset)
    }

    func disconnect() async {
        device.transport.disconnect?(device.transport.context)
    }

    func close() async {
        await disconnect()
        device.connected.withLock { $0 = false }
    }

    nonisolated(nonsending) func transmit(_ apdu: [UInt8]) async throws -> [UInt8] {
        guard let transmit = device.transport.transmit else { throw missing("transmit") }
        let capacity = Int(SEALKIT_MAX_RESPONSE_LENGTH)
        var status: Int32 = SEALKIT_OK
        var reported = 0
        let response = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            status = apdu.withUnsafeBufferPointer { command in
                transmit(device.transport.context, command.baseAddress, command.count, buffer.baseAddress, capacity, &reported)
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

    private typealias ATRFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt8>?, Int, UnsafeMutablePointer<Int>?) -> Int32

    private func answerToReset(_ what: String, _ function: ATRFunction) throws -> [UInt8] {
        var atr = [UInt8](repeating: 0, count: Int(SEALKIT_MAX_ATR_LENGTH))
        var length = 0
        let status = atr.withUnsafeMutableBufferPointer { buffer in
            function(device.transport.context, buffer.baseAddress, buffer.count, &length)
        }
        try check(status, what)
        guard length <= atr.count else {
            throw SealDriverError(code: .transportFailure, reason: "\(name): \(what) reported a \(length)-byte ATR, more than \(atr.count)")
        }
        return Array(atr.prefix(length))
    }

    /// The driver error sealkit.h promises for a callback's status.
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
}
