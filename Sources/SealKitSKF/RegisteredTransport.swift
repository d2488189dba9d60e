import CSealKit
import CSealKitSKF
import SealHostDriver
import SealKitCBridge
import Synchronization

/// A device registered with `SKF_SealKit_AddTransportDevice`: the caller's `sealkit_transport`
/// (sealkit.h), owned by the library from registration on. Registered devices stay for the life
/// of the process, so `release` runs only when registering fails (``discard()``).
///
/// This library connects at most one token to a registered device at once (``connected``), so
/// the caller's functions are never called concurrently, as sealkit.h promises.
final class RegisteredTransport: Sendable {
    let name: String
    let functions: CTransportFunctions
    /// Whether a `DEVHANDLE` is connected over it.
    let connected = Mutex(false)

    /// Copies `transport`; refuses one without `connect` and `transmit` (the caller then calls
    /// ``discard()``).
    init(name: String, transport: sealkit_transport) throws(SKFFailure) {
        self.name = name
        functions = CTransportFunctions(transport)
        guard functions.hasRequiredFunctions else { throw SKFFailure(SAR_INVALIDPARAMERR, "the transport needs `connect` and `transmit` functions") }
    }

    /// Called when registering failed: the library does not keep it.
    func discard() { functions.release() }

    /// One connection: the ``CardTransport`` a ``SealToken`` drives (the C library's
    /// ``CallbackCardTransport``). Closing it, or dropping it, disconnects and frees the device for
    /// the next connection, never releasing the caller's transport (the registration owns it).
    func connection() -> CallbackCardTransport {
        CallbackCardTransport(name: name, functions: functions) { [self] in connected.withLock { $0 = false } }
    }
}
