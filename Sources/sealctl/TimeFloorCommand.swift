import ArgumentParser
import Foundation
import SealHostDriver
import SealProtocol

/// `sealctl time-floor reset`: RESET TIME FLOOR as the issuer (SPEC §8.16).
struct TimeFloor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "time-floor",
        abstract: "Issuer commands for the chip's stamp-time floor (SPEC §8.13 \"Time\").",
        subcommands: [Reset.self])

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the time floor again, as the token's issuer (SPEC §8.16).",
            discussion: """
                Two stamps dated in the future raise the floor below which the chip refuses stamp \
                times; honest stamps are then refused until real time reaches it. The issuer sets \
                the floor again, by default to this host's current time; until two stamps are made \
                after the reset, the new floor holds. Needs the issuer's private key (--issuer-key, \
                PEM; the TEST issuer key of simulated tokens is Fixtures/test-issuer/issuer-key.pem): \
                the chip accepts the command only inside the issuer's SCP11a channel.
                """)
        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions
        @Option(help: ArgumentHelp("The issuer's P-256 private key (PEM).", valueName: "PEM"))
        var issuerKey: String
        @Option(help: ArgumentHelp("The new floor, seconds since 1970-01-01T00:00:00Z (default: now).", valueName: "SECONDS"))
        var floor: UInt64?

        func run() async throws {
            let signer = try loadIssuerSigner(issuerKey)
            let floor = self.floor ?? UInt64(max(0, Date().timeIntervalSince1970))
            let chipID = try await withToken(target, output) { token in
                let info = try await token.info()
                try await token.authenticateIssuer(using: signer)
                try await token.resetTimeFloor(to: floor)
                return info.chipIDHex
            }
            if output.json {
                struct Out: Encodable { let chipID: String; let timeFloor: UInt64 }
                try printJSON(Out(chipID: chipID, timeFloor: floor))
            } else {
                print("chip \(chipID): time floor set to \(floor) (\(Date(timeIntervalSince1970: TimeInterval(floor)).ISO8601Format()))")
            }
        }
    }
}
