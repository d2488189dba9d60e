import ArgumentParser
import Crypto
import Foundation
import SealHostDriver
import SealLedger
import SealProtocol

/// `sealctl lifecycle suspend | resume | terminate`: SET LIFECYCLE as the issuer (SPEC §6, §8.12).
struct Lifecycle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Suspend, resume or terminate a token, as its issuer.",
        discussion: """
            Each needs the issuer's private key (--issuer-key, PEM; the TEST issuer key of simulated \
            tokens is Fixtures/test-issuer/issuer-key.pem). Terminating erases the seal key for good: \
            it asks for confirmation on a terminal, and needs --yes otherwise.
            """,
        subcommands: [Suspend.self, Resume.self, Terminate.self])

    /// What the three subcommands share.
    struct Options: ParsableArguments {
        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions
        @Option(help: ArgumentHelp("The issuer's P-256 private key (PEM) that authenticates lifecycle commands.", valueName: "PEM"))
        var issuerKey: String
        @Option(help: ArgumentHelp("Also sign the change as a lifecycle event with the issuer key and submit it to this ledger.",
                                   valueName: "URL"))
        var ledger: String?
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "ACTIVE → SUSPENDED: the token refuses to stamp until resumed.")
        @OptionGroup var options: Options
        func run() async throws { try await change(to: .suspended, options, confirm: nil) }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "SUSPENDED → ACTIVE: the token stamps again.")
        @OptionGroup var options: Options
        func run() async throws { try await change(to: .active, options, confirm: nil) }
    }

    struct Terminate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Any state → TERMINATED: the seal key is erased; the token never stamps again. Cannot be undone.")
        @OptionGroup var options: Options
        @Flag(name: [.customShort("y"), .long], help: "Do not ask for confirmation (required when standard input is not a terminal).")
        var yes = false

        func validate() throws {
            if !yes && !Terminal.standardInputIsTerminal {
                throw ValidationError("terminate asks for confirmation on a terminal; standard input is not one, so pass --yes")
            }
        }

        func run() async throws {
            try await change(to: .terminated, options, confirm: yes ? nil : { info in
                let name = info.personalization.map { " (\($0.organizationName), \($0.sealName))" } ?? ""
                let answer = Terminal.ask("""
                    Terminate chip \(info.chipIDHex)\(name)? Its seal key is erased and it can never stamp again; \
                    this cannot be undone. Type "yes" to terminate: 
                    """)
                guard answer?.trimmingCharacters(in: .whitespaces).lowercased() == "yes" else {
                    throw CLIError("not terminated: the answer was not \"yes\"")
                }
            })
        }
    }

    /// Moves the token to `state` as the issuer, after checking that the move is allowed (so a
    /// refused move costs no issuer authentication) and, for termination, after `confirm`.
    static func change(to state: LifecycleState, _ options: Options,
                       confirm: ((SealTokenInfo) throws -> Void)?) async throws {
        let signer = try loadIssuerSigner(options.issuerKey)
        let (info, now) = try await withToken(options.target, options.output) { token in
            let info = try await token.info()
            guard info.lifecycle != state else { throw CLIError("the token is already \(state)") }
            guard info.lifecycle.canTransition(to: state) else {
                throw CLIError("the token is \(info.lifecycle); it cannot move to \(state) (SPEC §6)")
            }
            try confirm?(info)
            try await token.authenticateIssuer(using: signer)
            try await token.setLifecycle(state)
            return (info, try await token.info().lifecycle)
        }
        if options.output.json {
            struct Out: Encodable { let chipID: String; let previous: String; let lifecycle: String }
            try printJSON(Out(chipID: info.chipIDHex, previous: info.lifecycle.description, lifecycle: now.description))
        } else {
            print("chip \(info.chipIDHex): \(info.lifecycle) → \(now)")
        }
        if let ledger = options.ledger {
            // The chip has changed; the ledger hears of it now (a failure here leaves the chip changed).
            let kind: LifecycleEvent.Kind = switch state {
            case .suspended: .suspended
            case .terminated: .terminated
            default: info.lifecycle == .suspended ? .resumed : .activated
            }
            let event = try LifecycleEvent(kind: kind, chipID: info.chipID, time: UInt64(Date().timeIntervalSince1970),
                                           finalCounter: kind == .terminated ? info.counter : nil)
            let answer = try await submitLifecycleEvent(try SignedLifecycleEvent(signing: event, with: try loadIssuerKey(options.issuerKey)),
                                                        ledgerURL: ledger)
            if options.output.json { printJSONLine(answer) } else { print("ledger: \(kind) event \(answer["status"] ?? "?") at index \(answer["index"] ?? "?")") }
        }
    }
}

/// The issuer signer from a PEM file holding a P-256 private key.
func loadIssuerSigner(_ path: String) throws -> P256IssuerSigner {
    let pem = String(decoding: try readFile(path, what: "issuer key"), as: UTF8.self)
    do {
        return P256IssuerSigner(privateKey: try P256.Signing.PrivateKey(pemRepresentation: pem))
    } catch {
        throw CLIError("\(path) holds no P-256 private key in PEM form")
    }
}
