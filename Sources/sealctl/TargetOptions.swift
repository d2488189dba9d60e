import ArgumentParser
import Foundation
import SealHostDriver
import SealSimulator

/// Which token a command talks to. Today: the embedded simulator (default) or a simulated token's
/// state file; PC/SC readers and USB devices join here later.
struct TargetOptions: ParsableArguments {
    @Flag(help: "Use the embedded simulated token (the default when no other target is given).")
    var simulator = false

    @Option(help: "Use the simulated token whose state file is at this path (made with `sealsim manufacture`).")
    var tokenState: String?

    func validate() throws {
        if simulator && tokenState != nil { throw ValidationError("give --simulator or --token-state, not both") }
    }

    var targetDescription: String { tokenState.map { "simulated token \($0)" } ?? "embedded simulator" }

    func openTransport() async throws -> any CardTransport {
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

/// Prints an Encodable as stable, pretty JSON.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Opens a connected token for a command, closing it when done.
func withToken<T>(_ target: TargetOptions, _ output: OutputOptions, _ body: (SealToken) async throws -> T) async throws -> T {
    try await userFacing {
        let transport = try await target.openTransport()
        let token = SealToken(transport: transport, trace: output.traceHandler)
        try await token.connect()
        do {
            let result = try await body(token)
            await token.disconnect()
            return result
        } catch {
            await token.disconnect()
            throw error
        }
    }
}
