import SealUSB
import SealPCSC
import ArgumentParser
import Foundation
import SealHostDriver
import SealSM2Verifier
import SealSimulatedToken

/// Which token a command talks to: the embedded simulator (default), a simulated token's state
/// file, a PC/SC reader, or a USB CCID device (libusb or USB/IP).
struct TargetOptions: ParsableArguments {
    @Flag(help: "Use the embedded simulated token (the default when no other target is given).")
    var simulator = false

    @Option(help: "Use the simulated token whose state file is at this path (made with `sealsim manufacture`).")
    var tokenState: String?

    @Option(help: "Use the token in this PC/SC reader (exact name or unique substring, see `sealctl readers`).")
    var reader: String?

    @Flag(help: "With --reader: connect exclusively (SCARD_SHARE_EXCLUSIVE) instead of shared.")
    var exclusive = false

    @Option(name: .customLong("usb"), help: ArgumentHelp(
        "Use a USB CCID token directly through libusb (optionally VID:PID; `--usb any` for the first CCID device).",
        valueName: "VID:PID|any"))
    var usb: String?

    @Option(help: ArgumentHelp("Use a USB CCID token exported over USB/IP.", valueName: "HOST[:PORT][/BUSID]"))
    var usbip: String?

    var isSimulated: Bool { reader == nil && usb == nil && usbip == nil }

    func validate() throws {
        let chosen = [simulator, tokenState != nil, reader != nil, usb != nil, usbip != nil].filter { $0 }.count
        if chosen > 1 { throw ValidationError("give only one of --simulator, --token-state, --reader, --usb, --usbip") }
    }

    var targetDescription: String {
        if let reader { return "PC/SC reader \(reader)" }
        if let usb { return "USB CCID device \(usb)" }
        if let usbip { return "USB/IP device \(usbip)" }
        return tokenState.map { "simulated token \($0)" } ?? "embedded simulator"
    }

    /// Opens the chosen token's transport. PC/SC and USB errors propagate as they are;
    /// ``userFacing(_:)`` turns them into one line and an exit status.
    func openTransport() async throws -> any CardTransport {
        if let usbip { return try await CCIDTransport.usbip(usbip) }
        if let usb { return try await CCIDTransport.usb(usb == "any" ? nil : usb) }
        if let reader {
            let name = try await PCSCTransport.resolve(readerQuery: reader)
            return PCSCTransport(readerName: name, shareMode: exclusive ? .exclusive : .shared)
        }
        if let tokenState {
            return try TokenStore.openToken(at: URL(fileURLWithPath: tokenState))
        }
        return try await TokenStore().openDefaultToken()
    }
}

/// `--trace` and `--json`, shared by every command.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON instead of text.") var json = false
    @Flag(help: "Print every APDU with its decoded meaning (to stderr).") var trace = false

    var traceHandler: APDUTraceHandler? {
        guard trace else { return nil }
        return { event in FileHandle.standardError.write(Data("\(event)\n".utf8)) }
    }
}

/// Prints an Encodable as stable, pretty JSON: keys sorted, numbers as JSON numbers.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Prints an Encodable as one line of JSON (JSON Lines), keys sorted.
func printJSONLine(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Opens a connected token for a command, closing it (and its transport) when done.
func withToken<T>(_ target: TargetOptions, _ output: OutputOptions, _ body: (SealToken) async throws -> T) async throws -> T {
    try await userFacing {
        let token = SealToken(transport: try await target.openTransport(), trace: output.traceHandler)
        await token.addSignatureVerifier(SM2SealSignatureVerifier())
        do {
            try await token.connect()
            let result = try await body(token)
            await token.close()
            return result
        } catch {
            await token.close()
            throw error
        }
    }
}
