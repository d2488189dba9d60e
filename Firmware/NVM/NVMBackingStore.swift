/// Where the durable image of a ``NonVolatileMemory`` lives between process runs.
///
/// The memory model stores an image at a time, and relies on storing being atomic:
/// after a crash the store must hold either the previous image or the new one, never
/// a mix. That is what makes storing once per committed transaction (rather than on
/// every simulated physical write) crash-consistent. The image the memory stores at a
/// commit is the records as last stored plus the transaction's committed journal, so a
/// store may write only the journal (``FileBackingStore`` appends it to a log).
public protocol NVMBackingStore: AnyObject {
    /// Returns the last stored image, or `nil` if nothing has ever been stored.
    func load() throws -> [UInt8]?
    /// Atomically replaces the stored image with `image`.
    ///
    /// If this throws, the previously stored image must still be the one in place.
    func store(_ image: [UInt8]) throws

    /// Atomically replaces the stored image with `snapshot`. The memory calls this one; the
    /// default serializes the snapshot and calls ``store(_:)``. A store that does not need bytes
    /// right away (``InMemoryBackingStore``) keeps the snapshot and serializes on demand, which
    /// keeps a whole-image CRC off the STAMP path of in-memory benchmarks and tests.
    func store(snapshot: NVMSnapshot) throws

    /// Offers the image that recovery produced (when the memory is opened over an image that
    /// carried a journal, and at every power-on). The default stores it like any other image.
    ///
    /// A store MAY keep it in memory only: recovery is deterministic and idempotent, so the
    /// durable image it started from recovers to the same contents on every later load, and the
    /// next committed transaction stores the recovered contents with its own change.
    /// ``FileBackingStore`` does so, so that opening and inspecting a token never writes its state
    /// file (and works on read-only media).
    func storeRecovered(snapshot: NVMSnapshot) throws
}

extension NVMBackingStore {
    public func store(snapshot: NVMSnapshot) throws {
        try store(snapshot.encoded())
    }

    public func storeRecovered(snapshot: NVMSnapshot) throws {
        try store(snapshot: snapshot)
    }
}

/// A point-in-time copy of the NVM contents (records and journal). Cheap to take: it shares
/// storage with the memory until either side changes.
public struct NVMSnapshot: Sendable {
    let image: NVMImage

    init(_ image: NVMImage) {
        self.image = image
    }

    /// The versioned binary image (see the format in `NVMImage.swift`).
    public func encoded() -> [UInt8] {
        image.encoded()
    }
}
