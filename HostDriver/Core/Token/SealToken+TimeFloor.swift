import SealProtocol

extension SealToken {
    /// Sets the chip's stamp-time floor to `floor`, seconds since the epoch (RESET TIME FLOOR,
    /// SPEC §8.16), as its issuer.
    ///
    /// Two stamps dated in the future raise the floor of SPEC §8.13, and the chip then refuses
    /// honest stamps until real time reaches it; this is the issuer's way back. Until two stamps
    /// are made after the reset, `floor` is the floor; then the log defines it again.
    ///
    /// Requires ``authenticateIssuer(using:)`` with a signer that can agree keys
    /// (``P256IssuerSigner``): the chip accepts the command only inside the SCP11a issuer channel.
    ///
    /// - Throws: `statusWord` `6982` outside the issuer channel, `6985` when the token is
    ///   MANUFACTURED or TERMINATED.
    public func resetTimeFloor(to floor: UInt64) async throws {
        try await session {
            _ = try await run(SealCommand.resetTimeFloor(to: floor))
            logger.debug("time floor reset", metadata: ["floor": "\(floor)"])
        }
    }
}
