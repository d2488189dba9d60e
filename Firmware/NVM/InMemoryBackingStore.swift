/// A backing store that keeps the image in process memory, for tests and benchmarks.
///
/// Replacing an array is trivially atomic, so this store satisfies the
/// ``NVMBackingStore`` contract without any I/O. Not thread-safe: confine an
/// instance to one isolation domain, like the ``NonVolatileMemory`` that uses it.
public final class InMemoryBackingStore: NVMBackingStore {
    /// The last stored image, or the image passed to ``init(image:)``; `nil` if none.
    ///
    /// Settable so tests can plant a corrupted or hand-built image before opening a memory.
    /// Serialized on demand from the last stored snapshot.
    public var image: [UInt8]? {
        get { snapshot.map { $0.encoded() } ?? plantedImage }
        set {
            plantedImage = newValue
            snapshot = nil
        }
    }
    private var plantedImage: [UInt8]?
    private var snapshot: NVMSnapshot?
    /// How many times ``store(_:)`` has succeeded; lets tests and benchmarks check that
    /// the memory persists once per committed transaction and not per physical write.
    @_spi(Testing) public private(set) var storeCount = 0
    /// When `true`, ``store(_:)`` throws ``NVMError/Code/storageFailure`` and leaves
    /// ``image`` untouched, to exercise the memory's handling of a failed durable commit.
    @_spi(Testing) public var failsStores = false

    /// Creates a store, optionally pre-loaded with an image.
    public init(image: [UInt8]? = nil) {
        self.plantedImage = image
    }

    /// Returns ``image``.
    public func load() throws -> [UInt8]? {
        image
    }

    /// Replaces ``image`` (or throws `NVMError.Code.storageFailure` when tests set `failsStores`).
    public func store(_ image: [UInt8]) throws {
        if failsStores {
            throw NVMError(.storageFailure, "in-memory store configured to fail")
        }
        self.image = image
        storeCount += 1
    }

    /// Keeps `snapshot` (or throws as ``store(_:)``); ``image`` serializes it when read.
    public func store(snapshot: NVMSnapshot) throws {
        if failsStores {
            throw NVMError(.storageFailure, "in-memory store configured to fail")
        }
        self.snapshot = snapshot
        storeCount += 1
    }
}
