// Timed APDU round trips through a CardTransport.
import SealPCSC
import Foundation
import SealHostDriver

/// Times round trips on the PC/SC transport's own executor (its serial queue): an actor that
/// shares the transport's executor calls `transmit` without a thread switch, so a sample is
/// `SCardTransmit` — libpcsclite, pcscd, vpcd, loopback TCP, the card — and nothing of Swift
/// concurrency. This is how the simulator and the echo card are compared.
actor OnTransportExecutor {
    let transport: PCSCTransport

    nonisolated var unownedExecutor: UnownedSerialExecutor { transport.unownedExecutor }

    init(_ transport: PCSCTransport) { self.transport = transport }

    /// `count` round trips of `apdu`, timed on the transport's own executor (no hop per call).
    func roundTrips(_ apdu: [UInt8], count: Int, what: String) async throws -> [Double] {
        try await sealbench.roundTrips(transport, apdu, count: count, what: what)
    }
}

/// Times round trips of any transport on the caller's executor (`nonisolated(nonsending)`): called
/// from a task, as application code calls it, each sample includes the hops to the transport's
/// executor and back; called from an actor on the transport's executor, none.
nonisolated(nonsending) func roundTrips(_ transport: any CardTransport, _ apdu: [UInt8], count: Int, what: String) async throws -> [Double] {
    var samples: [Double] = []
    samples.reserveCapacity(count)
    for _ in 0..<count {
        let start = now()
        let response = try await transport.transmit(apdu)
        let end = now()
        guard response.count >= 2, response[response.count - 2] == 0x90, response[response.count - 1] == 0x00 else {
            throw BenchError("\(what): unexpected answer \(hex(response)) to \(hex(apdu))")
        }
        samples.append(end - start)
    }
    return samples
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02X", $0) }.joined(separator: " ")
}
