import SealUSB
import SealPCSC
import ArgumentParser
import Foundation
import SealHostDriver
import SealProtocol
import SealSimulatedToken

@main
struct SealCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sealctl",
        abstract: "Administer electronic-seal tokens: inspect, stamp, verify, PIN, lifecycle, attestation, export, audit log, conformance.",
        discussion: """
            With no target option every command uses the embedded default: a simulated token kept in \
            $SEALKIT_HOME (default ~/.sealkit), made on first use under the TEST vendor CA with PIN 123456. \
            Exit status: 0 success, 1 failure (refused, invalid, unreadable), 64 usage error, \
            75 the token is temporarily unreachable (removed, not answering, in use): retry. \
            Reference: docs/sealctl.md.
            """,
        version: SealKitVersion.current,
        subcommands: [Info.self, Stamp.self, Verify.self, PIN.self, Lifecycle.self, TimeFloor.self, Timestamp.self, Attest.self, Export.self,
                      Audit.self, Conformance.self, Readers.self, Sim.self, SES.self, OFD.self, LedgerCommand.self, Imprint.self, Trace.self, Report.self])

    /// Runs the command like ArgumentParser's own `main()`, except that a ``CLIError`` leaves as one
    /// line on stderr with its own exit status (ArgumentParser knows only 0, 1 and 64).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("Error: \(error.message)\n".utf8))
            Foundation.exit(error.status.rawValue)
        } catch {
            exit(withError: error)
        }
    }
}

/// A failure to report to the user: one line on stderr and an exit status.
struct CLIError: Error, CustomStringConvertible {
    /// The exit statuses of sealctl (docs/sealctl.md). Usage errors (64) are normally
    /// ArgumentParser's `ValidationError`; ``usage`` is for those found only after parsing.
    enum Status: Int32 {
        /// The command failed: the token refused it, a record is invalid, a file is unreadable.
        case failure = 1
        /// The command line is wrong (EX_USAGE).
        case usage = 64
        /// The token cannot be reached right now — removed, not answering, in use (EX_TEMPFAIL).
        case temporaryFailure = 75
    }

    let message: String
    let status: Status

    init(_ message: String, status: Status = .failure) {
        self.message = message
        self.status = status
    }

    /// A driver error as the driver words it: ``SealDriverError/message`` is already one line that
    /// says what happened and what to do, so the CLI adds nothing.
    init(_ error: SealDriverError) {
        self.init(error.message, status: Self.status(for: error.code))
    }

    var description: String { message }

    static func status(for code: SealDriverError.Code) -> Status {
        switch code {
        case .transportFailure, .cardRemoved, .noResponse: .temporaryFailure
        case .invalidArgument: .usage
        default: .failure
        }
    }
}

/// Runs `body`, turning every error into a one-line ``CLIError`` (no stack traces, no Swift type
/// dumps); usage errors, exit codes and help requests pass through to ArgumentParser.
func userFacing<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as CLIError {
        throw error
    } catch let error as SealDriverError {
        throw CLIError(error)
    } catch let error as PCSCError {
        throw CLIError(error.message, status: CLIError.status(for: error.driverCode))
    } catch let error as USBError {
        throw CLIError(error.message, status: CLIError.status(for: error.driverCode))
    } catch let error as SimulatorError {
        // Another process has the file-based token open: retry later, like a busy reader.
        throw CLIError(error.reason, status: error.code == .tokenInUse ? .temporaryFailure : .failure)
    } catch let error as ValidationError {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch let error as CleanExit {
        throw error
    } catch {
        throw CLIError("\(error)")
    }
}
