/// The chip's random number generator: the only source of keys, salts and challenges.
///
/// Class-bound so one generator's state is shared by every user on the chip, like a hardware
/// TRNG; implementations need not be thread-safe (the chip is single-threaded).
public protocol ChipRandomSource: AnyObject {
    /// `count` random bytes.
    func randomBytes(count: Int) -> [UInt8]
}
