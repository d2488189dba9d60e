import SealProtocol

/// The grant serials the chip has used (SPEC §9.5, v2): a bounded set instead of one strictly
/// increasing serial, so an unused higher grant does not cancel lower ones.
///
/// Stored in record `0041` as `floor u32 ‖ (serial u32 ‖ uses u32)*`, entries in ascending serial
/// order, at most ``capacity`` of them. A serial at or below the floor is spent. When a new serial
/// would exceed the capacity, the lowest entry leaves the set and the floor rises to its serial —
/// so at most ``capacity`` grants are outstanding at once, and a serial is never usable twice.
/// Manufacture writes `00000000`: an empty ledger (and the v1 "last grant serial 0").
struct GrantLedger: Equatable {
    static let capacity = 16

    struct Entry: Equatable {
        var serial: UInt32
        var uses: UInt32
    }

    private(set) var floor: UInt32
    private(set) var entries: [Entry]

    static let empty = GrantLedger(floor: 0, entries: [])

    private init(floor: UInt32, entries: [Entry]) {
        self.floor = floor
        self.entries = entries
    }

    init?(stored: [UInt8]) {
        guard stored.count >= 4, (stored.count - 4) % 8 == 0, (stored.count - 4) / 8 <= Self.capacity else { return nil }
        floor = readBigEndian(stored.prefix(4), as: UInt32.self)
        entries = stride(from: 4, to: stored.count, by: 8).map { offset in
            Entry(serial: readBigEndian(stored[offset..<offset + 4], as: UInt32.self),
                  uses: readBigEndian(stored[offset + 4..<offset + 8], as: UInt32.self))
        }
        guard zip(entries, entries.dropFirst()).allSatisfy({ $0.serial < $1.serial }),
              entries.allSatisfy({ $0.serial > floor && $0.uses >= 1 }) else { return nil }
    }

    var encoded: [UInt8] {
        var out = bigEndianBytes(floor)
        for entry in entries {
            out += bigEndianBytes(entry.serial)
            out += bigEndianBytes(entry.uses)
        }
        return out
    }

    /// How many stamps already used `serial`; 0 when unused, `nil` when the serial is spent
    /// (at or below the floor).
    func uses(of serial: UInt32) -> UInt32? {
        guard serial > floor else { return nil }
        return entries.first { $0.serial == serial }?.uses ?? 0
    }

    /// The ledger after one more stamp under `serial`.
    func recording(_ serial: UInt32) -> GrantLedger {
        var copy = self
        if let index = copy.entries.firstIndex(where: { $0.serial == serial }) {
            copy.entries[index].uses &+= 1
            return copy
        }
        copy.entries.append(Entry(serial: serial, uses: 1))
        copy.entries.sort { $0.serial < $1.serial }
        while copy.entries.count > Self.capacity {
            copy.floor = max(copy.floor, copy.entries.removeFirst().serial)
        }
        return copy
    }
}
