/// A transport that can simulate power loss at a chosen NVM write, for tearing tests.
///
/// Implemented by simulators (the in-process simulator in `SealSimulatedToken`), never by PC/SC or USB
/// transports. The conformance suite checks SPEC §11 (atomicity) with it: arm a loss at write *n*,
/// run a command, expect the chip to go mute (``SealDriverError/Code-swift.struct/noResponse``),
/// ``powerCycle()``, and check that persistent state is as before or as after the transaction.
@_spi(Testing)
public protocol FaultInjectingTransport: CardTransport {
    /// Arms a power loss that cuts power during the `n`-th NVM write from now (1 = the next write).
    /// After the loss the chip is mute until ``powerCycle()``.
    func armPowerLoss(atNVMWrite n: Int) async throws

    /// The number of NVM writes performed since the transport was created, so a test can learn how
    /// many writes a command makes and then tear each of them.
    func nvmWriteCount() async throws -> Int

    /// Cancels an armed power loss that has not fired yet.
    func disarmPowerLoss() async throws

    /// Powers the chip off and on again and returns the ATR. Volatile state is lost (SPEC §2.3).
    func powerCycle() async throws -> [UInt8]
}
