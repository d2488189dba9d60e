import ArgumentParser
import Foundation
import SealHostDriver

@main
struct SealCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sealctl",
        abstract: "Talk to electronic-seal tokens: inspect, stamp, verify, read the audit log, run the conformance suite.",
        discussion: """
            With no target option every command uses the embedded default: a simulated token kept in \
            $SEALKIT_HOME (default ~/.sealkit), made on first use under the TEST vendor CA with PIN 123456.
            """,
        subcommands: [Info.self, Stamp.self, Verify.self, Audit.self, Conformance.self, Readers.self, Sim.self])
}

/// A user-facing failure: printed as one line, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Runs `body`, turning every error into a one-line ``CLIError`` (no stack traces, no Swift type dumps).
func userFacing<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as CLIError {
        throw error
    } catch let error as SealDriverError {
        throw CLIError(DriverErrorText.line(for: error))
    } catch let error as ExitCode {
        throw error
    } catch let error as CleanExit {
        throw error
    } catch {
        throw CLIError("\(error)")
    }
}

enum DriverErrorText {
    /// A sentence that says what happened and what to do.
    static func line(for error: SealDriverError) -> String {
        if let tries = error.statusWord?.retriesRemaining {
            return "wrong PIN: \(tries) tr\(tries == 1 ? "y" : "ies") left before the PIN blocks (\(error.command ?? "VERIFY") answered \(error.statusWord.map { "\($0)" } ?? ""))"
        }
        if let sw = error.statusWord {
            let advice: String
            switch sw {
            case .authenticationMethodBlocked: advice = "the PIN is blocked; unblock it with the PUK"
            case .securityStatusNotSatisfied: advice = "security status not satisfied: verify the PIN (or present a valid grant) first"
            case .conditionsOfUseNotSatisfied: advice = "the token's lifecycle state does not allow this command"
            case .fileNotFound: advice = "the token has no seal applet"
            default: advice = "the token refused the command"
            }
            return "\(advice) (\(error.command ?? "command") answered \(sw))"
        }
        return "\(error.reason) [\(error.code)]"
    }
}
