// The secure channel's figures (SPEC §14, issue 9): the host side of a channel over a bare
// SealChip, the cost of opening one (SCP11b handshake, host and chip in one process) and of
// wrapping and unwrapping one STAMP-sized command and its response. See docs/benchmarks.md.
import Crypto
import Foundation
import SealFirmware
import SealHostDriver
import SealProtocol

/// A holder's SCP11b channel to a `SealChip` driven directly with `process`, as the benchmark's
/// "chip alone" figure needs now that STAMP and VERIFY travel only inside a channel.
final class ChipChannel {
    private let chip: SealChip
    private var session: SCP03SecureMessaging

    /// Opens the channel; the chip must be powered and the applet selected.
    init(chip: SealChip, keyAgreementKey: P256.KeyAgreement.PublicKey) throws {
        self.chip = chip
        var handshake = try SCP11HostHandshake(variant: .b, cardStaticKey: keyAgreementKey)
        guard case .response(let bytes) = chip.process(try handshake.command.encoded()) else {
            throw SealDriverError(code: .noResponse, reason: "the chip did not answer the key agreement")
        }
        session = try handshake.complete(with: ResponseAPDU(decoding: bytes))
    }

    /// Wraps `command`, lets the chip process it and unwraps its answer (no 61xx: Le is 00 and
    /// the benchmark's answers fit).
    func send(_ command: CommandAPDU) throws -> ResponseAPDU {
        let wrapped = try session.wrapCommand(command)
        guard case .response(let bytes) = chip.process(try wrapped.encoded()) else {
            throw SealDriverError(code: .noResponse, reason: "the chip did not answer")
        }
        return try session.unwrapResponse(ResponseAPDU(decoding: bytes))
    }
}

enum SecureChannelBenchmark {
    /// The chip's key-agreement public key from its NVM.
    static func keyAgreementKey(_ nvm: NonVolatileMemory) throws -> P256.KeyAgreement.PublicKey {
        try P256.KeyAgreement.PublicKey(x963Representation: SealChip.keyAgreementPublicKey(nvm: nvm))
    }

    /// SCP11b handshakes per second, host and chip in this process (ECDH ×4, key generation ×2,
    /// X9.63 KDF, receipt), on `chip` (powered, applet selected).
    static func handshakes(chip: SealChip, key: P256.KeyAgreement.PublicKey, seconds: Double) async throws -> Tally {
        var tally = Tally()
        tally.add(try await runFor(seconds: seconds) { _ = try ChipChannel(chip: chip, keyAgreementKey: key) })
        return tally
    }

    /// One wrap + unwrap of a STAMP-sized command and of a STAMP-sized response, host and chip
    /// side, on a channel of its own: the channel's cryptographic cost per APDU, without the chip's
    /// work.
    struct WrapUnwrapRound {
        private var host: SCP03SecureMessaging
        private var card: SCP03SecureMessaging
        private let command: CommandAPDU
        private let responseData = [UInt8](repeating: 0xA5, count: 140)  // about a STAMP response

        init(commandData: [UInt8]) throws {
            let cardStatic = P256.KeyAgreement.PrivateKey()
            var handshake = try SCP11HostHandshake(variant: .b, cardStaticKey: cardStatic.publicKey)
            let answer = try SCP11CardHandshake.respond(variant: .b, commandData: handshake.commandData, cardStaticKey: cardStatic,
                                                         issuerStaticKey: nil, ephemeralKey: P256.KeyAgreement.PrivateKey())
            host = try handshake.complete(with: ResponseAPDU(data: answer.responseData, statusWord: .success))
            card = answer.session
            command = CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: commandData, ne: 256)
        }

        mutating func run() throws {
            let wrapped = try host.wrapCommand(command)
            _ = try card.unwrapCommand(cla: wrapped.cla, ins: wrapped.ins, p1: wrapped.p1, p2: wrapped.p2, data: wrapped.data)
            let protected = try card.wrapResponse(data: responseData, status: .success)
            _ = try host.unwrapResponse(ResponseAPDU(data: protected, statusWord: .success))
        }
    }

    /// Wrap + unwrap rounds (``WrapUnwrapRound``) per second.
    static func wrapUnwrapRounds(commandData: [UInt8], seconds: Double) async throws -> Tally {
        var round = try WrapUnwrapRound(commandData: commandData)
        var tally = Tally()
        tally.add(try await runFor(seconds: seconds) { try round.run() })
        return tally
    }

    /// Prints the channel's figures beside the STAMP ones.
    static func report(handshakes: Tally, wrapUnwrap: Tally) {
        print(String(format: "  SCP11b handshake (host + chip):       %10.0f /s          (%.2f ms each)",
                     handshakes.perSecond, handshakes.perSecond > 0 ? 1000 / handshakes.perSecond : 0))
        print(String(format: "  wrap+unwrap of a STAMP APDU pair:      %10.0f /s          (%.1f us each)",
                     wrapUnwrap.perSecond, wrapUnwrap.perSecond > 0 ? 1_000_000 / wrapUnwrap.perSecond : 0))
    }
}
