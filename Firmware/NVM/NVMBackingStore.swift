/// Where the durable image of a ``NonVolatileMemory`` lives between process runs.
///
/// The memory model writes a whole image at a time, and relies on ``store(_:)``
/// being atomic: after a crash the store must hold either the previous image or
/// the new one, never a mix. That is what makes storing once per committed
/// transaction (rather than on every simulated physical write) crash-consistent.
public protocol NVMBackingStore: AnyObject {
    /// Returns the last stored image, or `nil` if nothing has ever been stored.
    func load() throws -> [UInt8]?
    /// Atomically replaces the stored image with `image`.
    ///
    /// If this throws, the previously stored image must still be the one in place.
    func store(_ image: [UInt8]) throws
}
