import SealProtocol

/// The audit log's head as stored: the newest entry's counter and its entry hash (SPEC §9.6).
struct AuditHead: Equatable {
    static let storedLength = 36
    static let empty = AuditHead(newestCounter: 0, hash: [UInt8](repeating: 0, count: 32))

    var newestCounter: UInt32
    var hash: [UInt8]

    var encoded: [UInt8] {
        hash.withUnsafeBytes { Self.encoded(newestCounter: newestCounter, hash: $0) }
    }

    /// The stored form of a head with these fields: STAMP writes it straight from the chain hash's
    /// digest, without a head value and an array of the hash.
    static func encoded(newestCounter: UInt32, hash: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4 + hash.count)
        out.appendBigEndian(newestCounter)
        out.append(contentsOf: hash)
        return out
    }

    init(newestCounter: UInt32, hash: [UInt8]) {
        self.newestCounter = newestCounter
        self.hash = hash
    }

    init?(stored: [UInt8]) {
        guard stored.count == Self.storedLength else { return nil }
        newestCounter = readBigEndian(stored.prefix(4), as: UInt32.self)
        hash = Array(stored.dropFirst(4))
    }

    /// The oldest counter still in the ring of `RecordID.auditSlotCount` slots; 0 when empty.
    var oldestRetainedCounter: UInt32 {
        let capacity = UInt32(RecordID.auditSlotCount)
        if newestCounter == 0 { return 0 }
        return newestCounter >= capacity ? newestCounter - capacity + 1 : 1
    }

    /// Whether counter `n` (≥ 1) is still retained.
    func retains(_ n: UInt32) -> Bool {
        n >= 1 && n <= newestCounter && n >= oldestRetainedCounter
    }

    /// GET DATA `0109`.
    var status: AuditStatus {
        AuditStatus(oldestCounter: oldestRetainedCounter, newestCounter: newestCounter, headHash: hash)
    }
}
