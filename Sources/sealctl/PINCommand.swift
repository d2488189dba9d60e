import ArgumentParser
import Foundation
import SealHostDriver
import SealProtocol

/// `sealctl pin change | unblock | status`, after `ykman piv access change-pin / unblock-pin`,
/// `pkcs15-tool --change-pin / --unblock-pin / --list-pins` and `gpg --card-edit` → `passwd`.
struct PIN: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin",
        abstract: "Change the PIN, unblock it with the PUK, or show the tries left.",
        discussion: """
            PIN, PUK and new PIN come from the first of: their option (--pin, --puk, --new-pin: \
            visible to other users in the process list), standard input with --pin-stdin (one per \
            line, in the order the command asks), the environment (SEALKIT_PIN, SEALKIT_PUK, \
            SEALKIT_NEW_PIN), a no-echo prompt when standard input is a terminal.
            """,
        subcommands: [Change.self, Unblock.self, Status.self])

    /// The PIN and PUK tries as `pin status` prints them.
    struct TriesOutput: Encodable {
        let pinTriesRemaining: Int
        let pinTryLimit: Int
        let pukTriesRemaining: Int
        let pukTryLimit: Int
        let pinBlocked: Bool
        let pukBlocked: Bool

        init(_ status: PINStatus) {
            pinTriesRemaining = Int(status.pinTriesRemaining)
            pinTryLimit = Int(status.pinTryLimit)
            pukTriesRemaining = Int(status.pukTriesRemaining)
            pukTryLimit = Int(status.pukTryLimit)
            pinBlocked = status.pinTriesRemaining == 0
            pukBlocked = status.pukTriesRemaining == 0
        }

        var text: String {
            func line(_ name: String, _ left: Int, _ limit: Int) -> String {
                "\(name) tries left: \(left) of \(limit)\(left == 0 ? " (blocked)" : "")"
            }
            return line("PIN", pinTriesRemaining, pinTryLimit) + "\n" + line("PUK", pukTriesRemaining, pukTryLimit)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show how many PIN and PUK tries are left (spends none).")

        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let status = try await withToken(target, output) { token in try await token.pinStatus() }
            let out = TriesOutput(status)
            if output.json { try printJSON(out) } else { print(out.text) }
        }
    }

    struct Change: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change the PIN: asks for the current PIN, then the new one twice.",
            discussion: "With --pin-stdin, standard input holds the current PIN, then the new PIN, one per line.")

        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var pinOptions: PINOptions
        @Option(help: ArgumentHelp("The new PIN, 6 to 12 digits (visible in the process list; prefer the prompt or SEALKIT_NEW_PIN).",
                                   valueName: "PIN"))
        var newPIN: String?

        func run() async throws {
            let reader = SecretReader(readsStandardInput: pinOptions.pinStdin)
            let current = try reader.read(.pin, given: pinOptions.pin)
            let new = try reader.read(.newPIN, given: newPIN)
            let status = try await withToken(target, output) { token in
                try await token.changePIN(current: current, new: new)
                return try await token.pinStatus()
            }
            if output.json {
                struct Out: Encodable { let changed: Bool; let tries: TriesOutput }
                try printJSON(Out(changed: true, tries: TriesOutput(status)))
            } else {
                print("PIN changed")
            }
        }
    }

    struct Unblock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unblock the PIN with the PUK and set a new PIN; both try counters are reset.",
            discussion: "With --pin-stdin, standard input holds the PUK, then the new PIN, one per line.")

        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions
        @Option(help: ArgumentHelp("The PUK, 8 to 16 digits (visible in the process list; prefer the prompt or SEALKIT_PUK).",
                                   valueName: "PUK"))
        var puk: String?
        @Option(help: ArgumentHelp("The new PIN, 6 to 12 digits (visible in the process list; prefer the prompt or SEALKIT_NEW_PIN).",
                                   valueName: "PIN"))
        var newPIN: String?
        @Flag(help: "Read the PUK and the new PIN from standard input, one per line.")
        var pinStdin = false

        func run() async throws {
            let reader = SecretReader(readsStandardInput: pinStdin)
            let puk = try reader.read(.puk, given: puk)
            let new = try reader.read(.newPIN, given: newPIN)
            let status = try await withToken(target, output) { token in
                try await token.unblockPIN(puk: puk, newPIN: new)
                return try await token.pinStatus()
            }
            let out = TriesOutput(status)
            if output.json {
                struct Out: Encodable { let unblocked: Bool; let tries: TriesOutput }
                try printJSON(Out(unblocked: true, tries: out))
            } else {
                print("PIN unblocked and set; \(out.pinTriesRemaining) PIN tries left")
            }
        }
    }
}
