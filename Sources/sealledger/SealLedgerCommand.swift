import ArgumentParser
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SealHostDriver
import SealSM2Verifier
import SealLedger
import SealLedgerPostgres
import SealSimulatedToken
import X509

@main
struct SealLedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sealledger",
        abstract: "The SealKit traceability ledger: a transparency log of stamp records (docs/ledger.md).",
        discussion: """
            With no options it keeps its SQLite database and log key under $SEALKIT_HOME/ledger \
            (default ~/.sealkit/ledger), made on first use. Exit status: 0 success, 1 failure, 64 usage error.
            """,
        subcommands: [Serve.self, VKey.self, Fsck.self, Bench.self, WitnessCommand.self, TokenCommand.self, KeysCommand.self])
}

/// Where the ledger's database and key are.
struct StoreOptions: ParsableArguments {
    @Option(help: "The SQLite database file (default $SEALKIT_HOME/ledger/ledger.sqlite), or a postgres://USER@HOST:PORT/DB URL: PostgreSQL, several instances may serve one database (docs/ledger.md).")
    var database: String?
    @Option(help: "The log's private key file (default: the database path + .key), made on first use.") var key: String?
    @Option(help: "The origin (and key name) of a new log.") var origin: String = LedgerHome.defaultOrigin

    /// Whether the database is a PostgreSQL URL.
    var isPostgres: Bool { database.map(PostgresStorage.isPostgresURL) ?? false }
    /// The SQLite file, or for PostgreSQL the local path the key and access files default beside
    /// ($SEALKIT_HOME/ledger/postgres: instances on one machine share the key; elsewhere pass --key).
    var databasePath: String {
        if isPostgres { return LedgerHome.directory().appendingPathComponent("postgres").path }
        return database ?? LedgerHome.databasePath()
    }
    var keyPath: String { key ?? LedgerHome.keyPath(database: databasePath) }

    func signer() throws -> NoteSigner {
        try LedgerHome.loadOrCreateKey(at: keyPath, origin: origin)
    }

    func open(verifier: StampVerifier, issuerTrust: IssuerTrust = IssuerTrust(keys: [])) throws -> Ledger {
        try Ledger(storage: try storage(), signer: try signer(), stampVerifier: verifier, issuerTrust: issuerTrust)
    }

    func storage() throws -> any LedgerStorage {
        if let database, isPostgres { return try PostgresStorage(url: database) }
        return try SQLiteStorage(path: databasePath)
    }
}

/// Prints `message` on stderr.
func warn(_ message: String) {
    FileHandle.standardError.write(Data("\(message)\n".utf8))
}

struct VKey: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vkey", abstract: "Print the log's verifier key in the signed-note format.")
    @OptionGroup var store: StoreOptions

    func run() throws {
        print(try store.signer().verifier.verifierKey)
    }
}

struct Fsck: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-derive the tree from the stored leaves and compare it with the last signed checkpoint.")
    @OptionGroup var store: StoreOptions

    func run() throws {
        let ledger = try store.open(verifier: StampVerifier(trustedRoots: [Certificate]()))
        do throws(LedgerError) {
            let checkpoint = try ledger.fsck()
            print("ok: \(checkpoint.size) entries, root \(Data(checkpoint.rootHash).base64EncodedString())")
        } catch {
            warn("Error: \(error.reason)")
            throw ExitCode.failure
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the ledger over HTTP.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var access: AccessOptions
    @OptionGroup(title: "Alerts") var alerting: AlertOptions
    @Option(help: "HOST:PORT to listen on (port 0: any free port; the line 'listening on URL' says which).")
    var listen: String = "127.0.0.1:8079"
    @Option(name: .customLong("vendor-roots"), help: "Trusted vendor root certificates (PEM or DER); repeatable. Default: the TEST vendor root.")
    var vendorRoots: [String] = []
    @Option(help: "The largest request body accepted, in bytes.") var maxBody: Int = 4 << 20
    @Option(name: .customLong("witness"), help: "A witness as URL=VKEY (its base URL and cosignature vkey); repeatable.")
    var witnesses: [String] = []
    @Option(help: "How many of the witnesses must cosign a checkpoint before /checkpoint serves it (default: all).")
    var quorum: Int?
    @Option(name: .customLong("issuer-root"),
            help: "A trusted issuer key for lifecycle events: a P-256 public key or a certificate holding one (PEM or DER); repeatable. Default: the TEST issuer key.")
    var issuerRoots: [String] = []
    @Option(name: .customLong("tls-cert"), help: "Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.")
    var tlsCertificate: String?
    @Option(name: .customLong("tls-key"), help: "The private key (PEM) of --tls-cert.")
    var tlsKey: String?

    func run() async throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen takes HOST:PORT, e.g. 127.0.0.1:8079")
        }
        let host = String(listen[..<colon])
        let tls = try serverTLSConfiguration(certificate: tlsCertificate, key: tlsKey)
        var roots: [Certificate] = []
        for path in vendorRoots {
            guard let bytes = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            roots += try StampVerifier(trustedRoots: Array(bytes)).trustedRoots
        }
        if roots.isEmpty {
            roots = [try Certificate(pemEncoded: TestCredentials.vendorRootCertificatePEM)]
            warn("warning: admitting records under the TEST vendor root of Fixtures/ (its key is public); pass --vendor-roots")
        }
        // One sequencer per database: a second server on the same file would sequence from a stale
        // tree edge. The lock goes with the process, however it ends. (PostgreSQL: several servers
        // share the database and take turns sequencing under an advisory lock instead.)
        var lock: Int32 = -1
        if !store.isPostgres {
            let lockPath = store.databasePath + ".lock"
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: lockPath).deletingLastPathComponent(), withIntermediateDirectories: true)
            lock = open(lockPath, O_CREAT | O_RDWR, 0o600)
            guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
                warn("Error: the database \(store.databasePath) is in use by another sealledger serve")
                throw ExitCode.failure
            }
        }
        defer { if lock >= 0 { close(lock) } }
        let endpoints = try witnesses.map(witnessEndpoint)
        if quorum != nil && endpoints.isEmpty { throw ValidationError("--quorum needs --witness") }
        var issuerKeys: [P256.Signing.PublicKey] = []
        for path in issuerRoots { issuerKeys.append(try issuerPublicKey(path)) }
        if issuerKeys.isEmpty {
            issuerKeys = [try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.issuerKeyPEM).publicKey]
            warn("warning: admitting lifecycle events signed by the TEST issuer key of Fixtures/ (its key is public); pass --issuer-root")
        }
        let verifier = StampVerifier(trustedRoots: roots).verifyingSM2()
        let ledger = try store.open(verifier: verifier, issuerTrust: IssuerTrust(keys: issuerKeys))
        var publisher: WitnessPublisher?
        if !endpoints.isEmpty {
            do throws(LedgerError) {
                publisher = try WitnessPublisher(ledger: ledger, witnesses: endpoints, quorum: quorum ?? endpoints.count,
                                                 transport: urlSessionWitnessTransport)
            } catch { throw ValidationError("--quorum: \(error.reason)") }
        }
        // On a shared database, follow the tree the other instances grow (checkpoint, proofs, tiles).
        let follower = store.isPostgres ? Task {
            while !Task.isCancelled {
                try? ledger.refresh()
                try? await Task.sleep(for: .milliseconds(250))
            }
        } : nil
        defer { follower?.cancel() }
        let accessLayer = try await access.open(store, ledger: ledger, verifier: verifier)
        let alertService = try alerting.open(store, ledger: ledger, access: accessLayer)
        try await LedgerServer(ledger: ledger, maxBody: maxBody, publisher: publisher, access: accessLayer, stampVerifier: verifier,
                               alertSource: StoredAlertSource(store: alertService.monitor.store),
                               alerting: alertService, tls: tls).run(host: host, port: port)
    }
}

/// The P-256 public key in `path`: a PEM or DER public key (SubjectPublicKeyInfo), or a PEM or DER
/// certificate whose subject key it is.
func issuerPublicKey(_ path: String) throws -> P256.Signing.PublicKey {
    guard let bytes = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
    let text = String(decoding: bytes, as: UTF8.self)
    if text.contains("-----BEGIN PUBLIC KEY-----"), let key = try? P256.Signing.PublicKey(pemRepresentation: text) { return key }
    if text.contains("-----BEGIN CERTIFICATE-----"), let certificate = try? Certificate(pemEncoded: text),
       let key = P256.Signing.PublicKey(certificate.publicKey) { return key }
    if let key = try? P256.Signing.PublicKey(derRepresentation: bytes) { return key }
    if let certificate = try? Certificate(derEncoded: Array(bytes)), let key = P256.Signing.PublicKey(certificate.publicKey) { return key }
    throw ValidationError("--issuer-root \(path) holds no P-256 public key or certificate")
}
