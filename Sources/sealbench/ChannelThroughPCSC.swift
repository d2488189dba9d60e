// The SCP11b channel's cost per APDU through pcscd (issue 9): a no-op wrapped in the holder channel
// that `SealToken` opens at connect, beside the echo card's plain no-op on the same pcscd.
import SealPCSC
import SealHostDriver
import SealProtocol
import SealSimulatedToken

enum ChannelThroughPCSC {
    struct Result: Sendable {
        /// `SealToken.send(GET DATA lifecycle)` with the channel open: wrapped, sent, unwrapped.
        var wrapped = Latencies()
        /// The echo card's plain no-op, from a task like the token's.
        var echo = Latencies()
        var blockRatios: [Double] = []
    }

    /// Connects a `SealToken` (channel on, test vendor root) to the simulator's reader and times
    /// `GET DATA lifecycle` through it — the host wraps it (AES-CBC + CMAC), pcscd and vpcd carry
    /// it, the chip unwraps, answers and wraps, the host unwraps — in blocks of `options.block`
    /// alternating with blocks of the echo card's plain no-op, both called from a task. The token
    /// is disconnected before returning: the simulator's slot is then free for the other figures.
    static func measure(readerName: String, echo: PCSCTransport, noOp: [UInt8], options: TransportOptions) async throws -> Result {
        let token = SealToken(transport: PCSCTransport(readerName: readerName), secureChannel: .testVendorRoot)
        do {
            try await token.connect()
            let command = SealCommand.getData(.lifecycle)
            func wrappedBlock(_ count: Int) async throws -> [Double] {
                var samples: [Double] = []
                samples.reserveCapacity(count)
                for _ in 0..<count {
                    let start = now()
                    let response = try await token.send(command)
                    let end = now()
                    guard response.statusWord == .success else { throw BenchError("wrapped GET DATA: \(response.statusWord)") }
                    samples.append(end - start)
                }
                return samples
            }
            _ = try await wrappedBlock(options.warmUp)
            _ = try await roundTrips(echo, noOp, count: options.warmUp, what: "echo card")
            var result = Result()
            let blocks = max(1, (options.count + options.block - 1) / options.block)
            for index in 0..<blocks {
                let size = min(options.block, options.count - index * options.block)
                var wrapped: [Double] = [], plain: [Double] = []
                if index % 2 == 0 {
                    wrapped = try await wrappedBlock(size)
                    plain = try await roundTrips(echo, noOp, count: size, what: "echo card")
                } else {
                    plain = try await roundTrips(echo, noOp, count: size, what: "echo card")
                    wrapped = try await wrappedBlock(size)
                }
                result.wrapped.append(contentsOf: wrapped)
                result.echo.append(contentsOf: plain)
                result.blockRatios.append(median(wrapped) / median(plain))
            }
            await token.disconnect()
            return result
        } catch {
            await token.disconnect()
            throw BenchError("the channel through PC/SC: \(error)")
        }
    }
}
