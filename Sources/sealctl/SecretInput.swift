import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A secret a command may need, with the option, environment variable and prompt that supply it.
enum Secret: CaseIterable {
    case pin, newPIN, puk

    /// The command-line option that gives it (visible to other users in the process list).
    var option: String {
        switch self {
        case .pin: "--pin"
        case .newPIN: "--new-pin"
        case .puk: "--puk"
        }
    }

    /// The environment variable read when neither the option nor `--pin-stdin` gives it.
    var environmentVariable: String {
        switch self {
        case .pin: "SEALKIT_PIN"
        case .newPIN: "SEALKIT_NEW_PIN"
        case .puk: "SEALKIT_PUK"
        }
    }

    /// The prompt on a terminal.
    var prompt: String {
        switch self {
        case .pin: "PIN: "
        case .newPIN: "New PIN: "
        case .puk: "PUK: "
        }
    }

    var name: String {
        switch self {
        case .pin: "PIN"
        case .newPIN: "new PIN"
        case .puk: "PUK"
        }
    }
}

/// `--pin` and `--pin-stdin`, shared by every command that needs the PIN.
struct PINOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The PIN. Other users see it in the process list and it stays in shell history: prefer the prompt, --pin-stdin or SEALKIT_PIN.",
        valueName: "PIN"))
    var pin: String?

    @Flag(help: "Read the PIN from standard input (its first line; `pin change` reads the new PIN from the next), e.g. from a secrets manager.")
    var pinStdin = false
}

/// Collects a command's secrets, each from the first of: its option, a line of standard input
/// (`--pin-stdin`, in the order the command asks), its environment variable, a no-echo prompt when
/// standard input is a terminal. With none of these it is a usage error.
struct SecretReader {
    let readsStandardInput: Bool
    var environment: [String: String] = ProcessInfo.processInfo.environment

    init(readsStandardInput: Bool) {
        self.readsStandardInput = readsStandardInput
    }

    func read(_ secret: Secret, given: String?) throws -> String {
        if let given { return given }
        if readsStandardInput {
            // --pin-stdin typed at a terminal: still without echo.
            if Terminal.standardInputIsTerminal { return try Terminal.readHidden(prompt: secret.prompt) }
            guard let line = readLine(strippingNewline: true) else {
                throw CLIError("--pin-stdin: standard input ended before the \(secret.name)", status: .usage)
            }
            return line.hasSuffix("\r") ? String(line.dropLast()) : line
        }
        if let value = environment[secret.environmentVariable], !value.isEmpty { return value }
        if Terminal.standardInputIsTerminal {
            let value = try Terminal.readHidden(prompt: secret.prompt)
            if secret == .newPIN {
                guard try Terminal.readHidden(prompt: "Repeat new PIN: ") == value else {
                    throw CLIError("the two new PINs differ; nothing was changed")
                }
            }
            return value
        }
        throw CLIError("no \(secret.name): run on a terminal to be asked, or give --pin-stdin, \(secret.environmentVariable) or \(secret.option)",
                       status: .usage)
    }
}

/// The terminal on standard input: whether there is one, and reading from it without echo.
enum Terminal {
    static var standardInputIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }
    static var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// Shows `prompt` on stderr and reads one line from the terminal on standard input with echo
    /// off, as `getpass(3)` does but without its deprecated buffer.
    ///
    /// Line editing is done here (canonical mode and signals are off while reading, so that no
    /// key leaves the terminal without echo): Backspace deletes, Ctrl-U clears the line, Enter
    /// ends it, Ctrl-C restores the terminal and ends the process by SIGINT, Ctrl-D on an empty
    /// line cancels.
    static func readHidden(prompt: String) throws -> String {
        var original = termios()
        guard tcgetattr(STDIN_FILENO, &original) == 0 else {
            throw CLIError("cannot read the terminal settings: \(String(cString: strerror(errno)))")
        }
        var hidden = original
        hidden.c_lflag &= ~tcflag_t(ECHO | ECHONL | ICANON | ISIG | IEXTEN)
        withUnsafeMutableBytes(of: &hidden.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(STDIN_FILENO, TCSAFLUSH, &hidden) == 0 else {
            throw CLIError("cannot turn off the terminal echo: \(String(cString: strerror(errno)))")
        }
        // The prompt goes out only once echo is off, so nothing typed after it can echo.
        FileHandle.standardError.write(Data(prompt.utf8))
        var line: [UInt8] = []
        var interrupted = false
        var cancelled = false
        reading: while true {
            var byte: UInt8 = 0
            let count = read(STDIN_FILENO, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { cancelled = line.isEmpty; break }
            switch byte {
            case 0x0A, 0x0D: break reading
            case 0x03: interrupted = true; break reading
            case 0x04:
                if line.isEmpty { cancelled = true; break reading }
            case 0x7F, 0x08: if !line.isEmpty { line.removeLast() }
            case 0x15: line.removeAll()
            default: line.append(byte)
            }
        }
        _ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &original)
        FileHandle.standardError.write(Data("\n".utf8))
        if interrupted {
            signal(SIGINT, SIG_DFL)
            raise(SIGINT)
        }
        if cancelled || interrupted { throw CLIError("cancelled at the \(prompt.trimmingCharacters(in: CharacterSet(charactersIn: ": "))) prompt") }
        return String(decoding: line, as: UTF8.self)
    }

    /// Asks a question on stderr and reads the answer (echoed) from standard input.
    static func ask(_ question: String) -> String? {
        FileHandle.standardError.write(Data(question.utf8))
        return readLine(strippingNewline: true)
    }
}
