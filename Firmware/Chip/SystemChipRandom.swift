/// Production randomness: the operating system's CSPRNG via `SystemRandomNumberGenerator`.
public final class SystemChipRandom: ChipRandomSource, Sendable {
    /// The system generator; it has no state of its own.
    public init() {}

    /// `count` bytes from the operating system's CSPRNG.
    public func randomBytes(count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var out: [UInt8] = []
        out.reserveCapacity(max(count, 0))
        while out.count < count {
            let word: UInt64 = generator.next()
            withUnsafeBytes(of: word) { out += $0.prefix(count - out.count) }
        }
        return out
    }
}
