import SealUSB
import SealPCSC
import ArgumentParser
import Foundation
import SealHostDriver
import SealProtocol
import SealSM2Verifier
import SealSimulatedToken
import X509

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

    @Option(help: ArgumentHelp(
        "Trusted vendor root certificate (PEM or DER; repeatable): the chip's key-agreement certificate must chain to it (SPEC §14.2), or the token is refused. Required with --reader, --usb and --usbip; the simulated tokens (--simulator, --token-state) are checked against the TEST vendor root of Fixtures/ unless given.",
        valueName: "PEM"))
    var vendorRoot: [String] = []

    @Option(help: ArgumentHelp(
        "With a simulated token: the size limits its chip runs with (SPEC §3.5) — reference (4096-byte commands, 65536-byte responses, extended length) or constrained (512, 1024, no extended length).",
        valueName: "reference|constrained"))
    var chipSizes: String?

    var isSimulated: Bool { reader == nil && usb == nil && usbip == nil }

    /// The simulated chip's size limits, `--chip-sizes` (validated).
    var simulatedCapabilities: SealCapabilities { chipSizes == "constrained" ? .constrained : .reference }

    func validate() throws {
        let chosen = [simulator, tokenState != nil, reader != nil, usb != nil, usbip != nil].filter { $0 }.count
        if chosen > 1 { throw ValidationError("give only one of --simulator, --token-state, --reader, --usb, --usbip") }
        if let chipSizes {
            guard chipSizes == "reference" || chipSizes == "constrained" else {
                throw ValidationError("--chip-sizes must be reference or constrained, got \(chipSizes)")
            }
            guard isSimulated else { throw ValidationError("--chip-sizes goes with a simulated token (--simulator, --token-state)") }
        }
        if !isSimulated && vendorRoot.isEmpty {
            throw ValidationError("\(reader != nil ? "--reader" : usbip != nil ? "--usbip" : "--usb") needs --vendor-root PEM: the vendor root the chip is authenticated under")
        }
    }

    /// The roots the chip is authenticated under: --vendor-root, or for a simulated token the
    /// TEST vendor root its chips are manufactured under. (validate() requires --vendor-root for
    /// a token in a reader or on USB.)
    func trustedVendorRoots() throws -> [Certificate] {
        let loaded = try VendorRoots.load(vendorRoot)
        guard loaded.isEmpty else { return loaded }
        guard isSimulated else { throw CLIError("give --vendor-root PEM for \(targetDescription)", status: .usage) }
        guard let testRoot = SecureChannelSettings.testVendorRoot.trustedVendorRoots.first else {
            throw CLIError("the TEST vendor root of Fixtures/ does not parse")
        }
        return [testRoot]
    }

    /// How the token opens its secure channel: authenticating the chip under ``trustedVendorRoots()``.
    func secureChannelSettings() throws -> SecureChannelSettings {
        SecureChannelSettings(trustedVendorRoots: try trustedVendorRoots())
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
            return try TokenStore.openToken(at: URL(fileURLWithPath: tokenState), capabilities: simulatedCapabilities)
        }
        return try await TokenStore().openDefaultToken(capabilities: simulatedCapabilities)
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
        let secureChannel = try target.secureChannelSettings()
        let token = SealToken(transport: try await target.openTransport(), trace: output.traceHandler, secureChannel: secureChannel)
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
