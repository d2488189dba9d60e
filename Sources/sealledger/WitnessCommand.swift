import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import NIOCore
import SealLedger

/// `sealledger witness ...`: a C2SP tlog-witness for ledgers (docs/ledger.md, "Witnesses").
struct WitnessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness",
        abstract: "A C2SP tlog-witness: cosigns checkpoints of the logs it trusts, after checking they extend the last one it cosigned.",
        subcommands: [WitnessServe.self, WitnessVKey.self])
}

/// Where a witness keeps its state and key.
struct WitnessStoreOptions: ParsableArguments {
    @Option(help: "The witness's SQLite state file (default $SEALKIT_HOME/witness/witness.sqlite).") var database: String?
    @Option(help: "The witness's private key file (default: the database path + .key), made on first use.") var key: String?
    @Option(help: "The name (and key name) of a new witness.") var name: String = "sealkit.local/witness"

    var databasePath: String {
        database ?? LedgerHome.directory().deletingLastPathComponent().appendingPathComponent("witness/witness.sqlite").path
    }
    var keyPath: String { key ?? databasePath + ".key" }

    /// Reads the witness key, or makes one and writes it exclusively with mode 0600.
    func signer() throws -> CosignatureSigner {
        if let text = try? String(contentsOfFile: keyPath, encoding: .utf8) { return try CosignatureSigner(privateKeyText: text) }
        let signer = try CosignatureSigner(generatingFor: name)
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: keyPath).deletingLastPathComponent(), withIntermediateDirectories: true)
        let fd = open(keyPath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            if let text = try? String(contentsOfFile: keyPath, encoding: .utf8) { return try CosignatureSigner(privateKeyText: text) }
            throw ValidationError("cannot create the witness key \(keyPath)")
        }
        let bytes = Array((signer.privateKeyText + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0 else { throw ValidationError("cannot write the witness key \(keyPath)") }
        return signer
    }
}

struct WitnessVKey: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vkey", abstract: "Print the witness's cosignature verifier key (type 0x04).")
    @OptionGroup var store: WitnessStoreOptions

    func run() throws {
        print(try store.signer().verifier.verifierKey)
    }
}

struct WitnessServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve POST <prefix>/add-checkpoint over HTTP.")
    @OptionGroup var store: WitnessStoreOptions
    @Option(help: "HOST:PORT to listen on (port 0: any free port; the line 'listening on URL' says which).")
    var listen: String = "127.0.0.1:8090"
    @Option(name: .customLong("log-key"), help: "A trusted log's verifier key (its name is the log's origin); repeatable, at least one.")
    var logKeys: [String] = []
    @Option(help: "The path prefix of add-checkpoint.") var prefix: String = ""

    func run() async throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen takes HOST:PORT, e.g. 127.0.0.1:8090")
        }
        guard !logKeys.isEmpty else { throw ValidationError("give at least one --log-key") }
        let keys = try logKeys.map { try NoteVerifier(verifierKey: $0) }
        let host = String(listen[..<colon])
        let witness = try Witness(path: store.databasePath, signer: try store.signer(), logKeys: keys)
        let router = Router()
        router.post("\(prefix)/add-checkpoint") { request, _ in
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: 1 << 20) } catch {
                return Response(status: .contentTooLarge, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: "the body exceeds 1 MiB\n")))
            }
            let answer = witness.addCheckpoint(body: String(decoding: body.readableBytesView, as: UTF8.self))
            return Response(status: HTTPResponse.Status(code: answer.status), headers: [.contentType: answer.contentType],
                            body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "sealledger-witness"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? port
                FileHandle.standardOutput.write(Data("listening on http://\(host):\(port)\n".utf8))
            })
        try await app.runService()
    }
}

/// Parses `URL=VKEY` (the witness's base URL, `/add-checkpoint` appended, and its cosignature vkey).
func witnessEndpoint(_ option: String) throws -> WitnessEndpoint {
    guard let equals = option.firstIndex(of: "=") else { throw ValidationError("--witness takes URL=VKEY") }
    var url = String(option[..<equals])
    if !url.hasSuffix("/add-checkpoint") { url += url.hasSuffix("/") ? "add-checkpoint" : "/add-checkpoint" }
    guard URL(string: url) != nil else { throw ValidationError("--witness: \(url) is not a URL") }
    return WitnessEndpoint(url: url, verifier: try CosignatureVerifier(verifierKey: String(option[option.index(after: equals)...])))
}

/// Posts add-checkpoint bodies with URLSession.
let urlSessionWitnessTransport: WitnessTransport = { url, body in
    guard let target = URL(string: url) else { throw ValidationError("not a URL: \(url)") }
    var request = URLRequest(url: target, timeoutInterval: 10)
    request.httpMethod = "POST"
    request.httpBody = Data(body.utf8)
    request.setValue("text/plain; charset=utf-8", forHTTPHeaderField: "Content-Type")
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as? HTTPURLResponse
    return (http?.statusCode ?? 0, http?.value(forHTTPHeaderField: "Content-Type") ?? "", String(decoding: data, as: UTF8.self))
}
