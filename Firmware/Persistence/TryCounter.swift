/// A PIN or PUK try counter as stored: tries remaining and the limit set at personalization.
struct TryCounter: Equatable {
    var remaining: UInt8
    var limit: UInt8

    var isBlocked: Bool { remaining == 0 }

    var encoded: [UInt8] { [remaining, limit] }

    init(remaining: UInt8, limit: UInt8) {
        self.remaining = remaining
        self.limit = limit
    }

    /// `nil` unless exactly two bytes with remaining ≤ limit ≤ 15.
    init?(stored: [UInt8]) {
        guard stored.count == 2, stored[1] <= 15, stored[0] <= stored[1] else { return nil }
        self.init(remaining: stored[0], limit: stored[1])
    }

    /// The counter after one more presentation has been charged.
    func decremented() -> TryCounter {
        TryCounter(remaining: remaining == 0 ? 0 : remaining - 1, limit: limit)
    }

    func reset() -> TryCounter {
        TryCounter(remaining: limit, limit: limit)
    }
}
