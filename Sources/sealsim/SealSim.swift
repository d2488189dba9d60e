import SealSimulatorServers
import ArgumentParser
import Crypto
import Foundation
import SealFirmware
import SealHostDriver
import SealProtocol
import SealSimulatedToken

@main
struct SealSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sealsim",
        abstract: "The SealKit seal-chip simulator: make simulated tokens and serve them to PC/SC (vpcd) and USB (USB/IP).",
        version: SealKitVersion.current,
        subcommands: [Manufacture.self, Personalize.self, Serve.self, Transcript.self])
}

/// Runs `body`; when it finds the token in use by another process after the wait
/// (`SEALKIT_TOKEN_WAIT`), prints the reason on one line and exits 75 (EX_TEMPFAIL: retry later),
/// as sealctl does.
func exitingWhenInUse<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as SimulatorError where error.code == .tokenInUse {
        FileHandle.standardError.write(Data("Error: \(error.reason)\n".utf8))
        throw ExitCode(75)
    }
}

/// Reads a PEM file, or fails with one line that names the file.
func readPEM(_ path: String, what: String) throws -> String {
    do {
        return try String(contentsOfFile: path, encoding: .utf8)
    } catch {
        throw SimulatorError(.invalidArgument, "cannot read \(what) \(path): \(error.localizedDescription)")
    }
}

/// A P-256 public key from a PEM file holding either a public or a private key.
func loadPublicKey(_ path: String, what: String) throws -> P256.Signing.PublicKey {
    let pem = try readPEM(path, what: what)
    if let key = try? P256.Signing.PublicKey(pemRepresentation: pem) { return key }
    if let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) { return key.publicKey }
    throw SimulatorError(.invalidArgument, "\(path) holds no P-256 key in PEM form")
}

func loadPrivateKey(_ path: String?, what: String, default fallback: String) throws -> P256.Signing.PrivateKey {
    let pem = try path.map { try readPEM($0, what: what) } ?? fallback
    do {
        return try P256.Signing.PrivateKey(pemRepresentation: pem)
    } catch {
        throw SimulatorError(.invalidArgument, "\(path ?? "built-in \(what)") holds no P-256 private key in PEM form")
    }
}

func parseHex(_ text: String, bytes count: Int, what: String) throws -> [UInt8] {
    guard let value = bytesFromHex(text), value.count == count else {
        throw ValidationError("\(what) must be \(count) bytes of hex (\(count * 2) hex digits)")
    }
    return value
}

struct Manufacture: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manufacture a token: chip ID, on-chip device key, device certificate from a vendor CA.",
        discussion: "Without --ca-cert/--ca-key the TEST vendor CA of Fixtures/test-vendor-ca is used; without --issuer-key the TEST issuer key.")

    @Option(help: "State file to create (the token's NVM).") var state: String
    @Option(help: "Vendor CA certificate (PEM).") var caCert: String?
    @Option(help: "Vendor CA private key (PEM).") var caKey: String?
    @Option(help: "Issuer key (PEM, public or private): authenticates personalization and lifecycle commands.") var issuerKey: String?
    @Option(help: "Chip ID, 16 bytes of hex (random when omitted).") var chipID: String?
    @Option(help: "Seed (hex) for deterministic mode: reproducible keys, IDs and challenges.") var seed: String?
    @Flag(help: "Replace an existing state file.") var force = false
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if (caCert == nil) != (caKey == nil) { throw ValidationError("--ca-cert and --ca-key go together") }
    }

    func run() async throws {
        let url = URL(fileURLWithPath: state)
        // One writer per token: replacing (or making) a state file that another process has open
        // would pull the NVM from under it. Wait for the token like every other writer does.
        let lock = try exitingWhenInUse { try TokenFileLock(stateFile: url) }
        defer { lock.release() }
        if FileManager.default.fileExists(atPath: url.path) {
            guard force else { throw SimulatorError(.stateFile, "\(state) exists; pass --force to replace it") }
            try FileManager.default.removeItem(at: url)
        }
        let ca: VendorCA
        if let caCert, let caKey {
            ca = try VendorCA(certificatePEM: try readPEM(caCert, what: "CA certificate"), privateKeyPEM: try readPEM(caKey, what: "CA key"))
        } else {
            ca = try VendorCA.testVendor()
        }
        let issuer = try issuerKey.map { try loadPublicKey($0, what: "issuer key") }
            ?? P256.Signing.PrivateKey(pemRepresentation: TestCredentials.issuerKeyPEM).publicKey
        let random: any ChipRandomSource
        if let seed {
            guard let bytes = bytesFromHex(seed), !bytes.isEmpty else { throw ValidationError("--seed must be hex") }
            random = SeededChipRandom(seed: bytes)
        } else {
            random = SystemChipRandom()
        }
        let id = try TokenFactory.manufacture(
            backing: FileBackingStore(url: url), ca: ca, issuerPublicKey: issuer,
            chipID: try chipID.map { try parseHex($0, bytes: 16, what: "--chip-id") }, random: random)
        if json {
            print(#"{"chipID": "\#(hexString(id))", "lifecycle": "MANUFACTURED", "state": "\#(url.path)"}"#)
        } else {
            print("manufactured chip \(hexString(id)) in \(url.path) (MANUFACTURED)")
        }
    }
}

struct Personalize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Personalize a MANUFACTURED token through the APDU protocol, as the issuer.",
        discussion: """
            With --seal-algorithm sm2 the chip generates an SM2 seal key (SPEC §7.1). A GB/T 38540 \
            seal lists the certificate of that key, so it is made after personalization and installed \
            in a second run on the PERSONALIZED token: sealsim personalize --state FILE --ses-seal SEAL.esl \
            [--activate] (PUT SES SEAL in chunks, read back and compared; the other options are not used).
            """)

    @Option(help: "State file of the token.") var state: String
    @Option(help: "Issuer private key (PEM); the TEST issuer key when omitted.") var issuerKey: String?
    @Option(help: "Organization name.") var organization: String?
    @Option(help: "Seal name.") var sealName: String?
    @Option(help: "Seal key algorithm the chip generates: p256 (default) or sm2 (SPEC §7 tag 4E).") var sealAlgorithm = "p256"
    @Option(help: ArgumentHelp("Install this DER GB/T 38540 SES_Seal on a PERSONALIZED SM2 token (PUT SES SEAL).", valueName: "FILE"))
    var sesSeal: String?
    @Option(help: "Imprint image or physical fingerprint file; its SHA-256 is the physical-feature hash.") var featureImage: String?
    @Option(help: "Physical-feature hash, 32 bytes of hex (instead of --feature-image).") var featureHash: String?
    @Option(help: "The seal's image file; its SHA-256 is the seal image hash every stamp signs (tag 4C, optional).")
    var sealImage: String?
    @Option(help: "Seal image hash, 32 bytes of hex (instead of --seal-image).") var sealImageHash: String?
    @Flag(inversion: .prefixedNo, help: "PIN always (seal policy bit 1): every STAMP needs its own VERIFY.")
    var pinPerStamp = true
    @Flag(help: "Seal policy bit 2: READ AUDIT LOG needs the PIN or the issuer.") var protectAuditLog = false
    @Option(help: "PIN: 6 to 12 digits.") var pin: String?
    @Option(help: "PUK: 8 to 16 digits.") var puk: String?
    @Option(help: "PIN try limit.") var pinTries: UInt8 = 3
    @Option(help: "PUK try limit.") var pukTries: UInt8 = 10
    @Option(help: "Watermark validity in days.") var validityDays: UInt32 = 365
    @Option(help: "Watermark key, 32 bytes of hex (random when omitted; printed once).") var watermarkKey: String?
    @Option(help: "Remote-authority key (PEM, public or private).") var remoteAuthorityKey: String?
    @Flag(help: "Require a remote authorization grant for every stamp.") var requireRemoteAuthorization = false
    @Flag(help: "Move the token to ACTIVE after personalization.") var activate = false
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard SealKeyAlgorithm(name: sealAlgorithm) != nil else { throw ValidationError("--seal-algorithm must be p256 or sm2") }
        if sesSeal != nil { return }
        for (value, name) in [(organization, "--organization"), (sealName, "--seal-name"), (pin, "--pin"), (puk, "--puk")] where value == nil {
            throw ValidationError("missing \(name) (needed unless --ses-seal installs a seal on a personalized token)")
        }
        if (featureImage == nil) == (featureHash == nil) { throw ValidationError("give exactly one of --feature-image and --feature-hash") }
        if requireRemoteAuthorization && remoteAuthorityKey == nil {
            throw ValidationError("--require-remote-authorization needs --remote-authority-key")
        }
        guard validityDays >= 1, validityDays <= 36_500 else { throw ValidationError("--validity-days must be 1 to 36500") }
    }

    /// The seal image hash from --seal-image or --seal-image-hash; nil when neither is given.
    func sealImageHashValue() throws -> [UInt8]? {
        if let sealImage {
            guard let data = FileManager.default.contents(atPath: sealImage) else {
                throw SimulatorError(.invalidArgument, "cannot read seal image \(sealImage)")
            }
            return TokenFactory.featureHash(of: [UInt8](data))
        }
        return try sealImageHash.map { try parseHex($0, bytes: 32, what: "--seal-image-hash") }
    }

    func run() async throws {
        let transport = try exitingWhenInUse { try TokenStore.openToken(at: URL(fileURLWithPath: state)) }
        if let sesSeal {
            try await installSESSeal(sesSeal, transport: transport)
            return
        }
        let hash: [UInt8]
        if let featureImage {
            guard let data = FileManager.default.contents(atPath: featureImage) else {
                throw SimulatorError(.invalidArgument, "cannot read feature image \(featureImage)")
            }
            hash = TokenFactory.featureHash(of: [UInt8](data))
        } else {
            hash = try parseHex(featureHash ?? "", bytes: 32, what: "--feature-hash")
        }
        let key = try watermarkKey.map { try parseHex($0, bytes: 32, what: "--watermark-key") } ?? SystemChipRandom().randomBytes(count: 32)
        let authority = try remoteAuthorityKey.map { try loadPublicKey($0, what: "remote-authority key") }
        let data = PersonalizationData(
            organizationName: organization ?? "", sealName: sealName ?? "", featureHash: hash, pin: pin ?? "", pinTryLimit: pinTries, puk: puk ?? "",
            pukTryLimit: pukTries, remoteAuthorityKey: authority.map { [UInt8]($0.x963Representation) },
            requiresRemoteAuthorization: requireRemoteAuthorization, watermarkValiditySeconds: validityDays * 86_400, watermarkKey: key,
            sealImageHash: try sealImageHashValue(), requiresPINPerStamp: pinPerStamp,
            auditLogRequiresAuthentication: protectAuditLog, sealKeyAlgorithm: SealKeyAlgorithm(name: sealAlgorithm) ?? .p256)
        do {
            try data.validate()
        } catch {
            throw ValidationError(error.reason)
        }
        let issuer = try loadPrivateKey(issuerKey, what: "issuer key", default: TestCredentials.issuerKeyPEM)
        let publicKey = try await TokenFactory.personalize(transport: transport, issuerKey: issuer, data: data, activate: activate)
        let lifecycle = activate ? "ACTIVE" : "PERSONALIZED"
        if json {
            print(#"{"lifecycle": "\#(lifecycle)", "sealPublicKey": "\#(hexString(publicKey))", "watermarkKey": "\#(hexString(key))"}"#)
        } else {
            print("personalized \(state): \(lifecycle)")
            print("seal public key: \(hexString(publicKey))")
            print("watermark key (give it to the validation service; it is not shown again): \(hexString(key))")
        }
    }
}

extension Personalize {
    /// PUT SES SEAL in chunks as the issuer, READ SES SEAL back and compare, then (--activate) ACTIVE.
    func installSESSeal(_ path: String, transport: any CardTransport) async throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SimulatorError(.invalidArgument, "cannot read SES seal \(path)")
        }
        let seal = [UInt8](data)
        let issuer = try loadPrivateKey(issuerKey, what: "issuer key", default: TestCredentials.issuerKeyPEM)
        // The simulator's chips are certified by the TEST vendor CA, as TokenFactory.personalize assumes.
        let token = SealToken(transport: transport, secureChannel: .testVendorRoot)
        _ = try await token.connect()
        try await token.authenticateIssuer(using: P256IssuerSigner(privateKey: issuer))
        try await token.installSESSeal(seal)
        guard try await token.sesSeal() == seal else {
            throw SimulatorError(.invalidArgument, "the seal read back differs from \(path)")
        }
        if activate { try await token.setLifecycle(.active) }
        await token.disconnect()
        if json {
            print(#"{"sesSealBytes": \#(seal.count), "lifecycle": "\#(activate ? "ACTIVE" : "PERSONALIZED")"}"#)
        } else {
            print("installed the \(seal.count)-byte SES seal on \(state) and read it back identical")
        }
    }
}

struct Transcript: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the APDU transcript of a deterministic simulated chip (Fixtures/transcripts/basic-session.txt).")

    @Option(help: "Output file (stdout when omitted).") var out: String?

    func run() async throws {
        let lines = try await TranscriptScenario.generate()
        let text = TranscriptScenario.header + "\n" + lines.joined(separator: "\n") + "\n"
        if let out {
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                throw SimulatorError(.invalidArgument, "cannot write \(out): \(error.localizedDescription)")
            }
        } else {
            print(text, terminator: "")
        }
    }
}

/// `[HOST:]PORT` → (host, port).
func parseEndpoint(_ text: String, defaultHost: String = "127.0.0.1") throws -> (host: String, port: UInt16) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    let host = parts.count == 2 ? String(parts[0]) : defaultHost
    guard parts.count <= 2, !host.isEmpty, let port = UInt16(parts.last ?? ""), port > 0 else {
        throw ValidationError("expected [HOST:]PORT, got \(text)")
    }
    return (host, port)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve simulated tokens to pcscd's vpcd driver and/or as USB CCID devices over USB/IP.",
        discussion: """
            --vpcd: one token per vpcd slot (TCP port PORT + slot); by default sealsim connects to vpcd \
            (pcscd with vsmartcard-vpcd) and retries until it is up; --reversed listens instead. \
            Control a running simulator with `sealctl sim insert|remove|reset|status --slot N`. \
            --usbip: a USB/IP server (default 127.0.0.1:3240) exporting one CCID device per slot. \
            Runs until SIGINT or SIGTERM; every token's NVM persists in its state file.
            """)

    @Option(help: "Serve to vpcd at [HOST:]PORT (default port 35963).") var vpcd: String?
    @Option(help: "Serve USB/IP at [HOST:]PORT (default 127.0.0.1:3240).") var usbip: String?
    @Flag(help: "Serve USB/IP on the default 127.0.0.1:3240 (same as --usbip 127.0.0.1:3240).") var usbipDefault = false
    @Option(help: "Number of tokens (slots).") var slots: Int = 2
    @Option(help: "State directory (default $SEALKIT_HOME/vpcd or $SEALKIT_HOME/usbip).") var state: String?
    @Flag(help: "vpcd reversed mode: listen and let vpcd connect.") var reversed = false
    @Option(help: "USB: send a CCID time extension before answers that took at least this many milliseconds.")
    var timeExtensionMs: Int = 0
    @Option(help: ArgumentHelp(
        "The size limits every served chip runs with (SPEC §3.5): reference (4096-byte commands, 65536-byte responses, extended length) or constrained (512, 1024, no extended length).",
        valueName: "reference|constrained"))
    var profile = "reference"

    func validate() throws {
        if vpcd == nil && usbip == nil && !usbipDefault { throw ValidationError("give --vpcd [HOST:]PORT and/or --usbip [HOST:]PORT") }
        guard profile == "reference" || profile == "constrained" else {
            throw ValidationError("--profile must be reference or constrained, got \(profile)")
        }
        guard (1...16).contains(slots) else { throw ValidationError("--slots must be 1 to 16") }
        guard timeExtensionMs >= 0 else { throw ValidationError("--time-extension-ms must not be negative") }
    }

    func run() async throws {
        let home = TokenStore().home
        let log: @Sendable (String) -> Void = { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        let vpcdEndpoint = try vpcd.map { try parseEndpoint($0) }
        let usbipEndpoint: (host: String, port: UInt16)? = try usbip.map { try parseEndpoint($0) } ?? (usbipDefault ? (host: "127.0.0.1", port: 3240) : nil)
        let slots = self.slots, reversed = self.reversed, state = self.state
        let threshold = Duration.milliseconds(timeExtensionMs)
        let capabilities: SealCapabilities = profile == "constrained" ? .constrained : .reference
        try await withThrowingTaskGroup(of: Void.self) { group in
            if let endpoint = vpcdEndpoint {
                let directory = state.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? home.appendingPathComponent("vpcd", isDirectory: true)
                group.addTask {
                    try await VPCDCardServer.serve(vpcd: endpoint, slots: slots, stateDirectory: directory, reversed: reversed,
                                                 capabilities: capabilities, log: log)
                }
            }
            if let endpoint = usbipEndpoint {
                let directory = state.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? USBIPServer.defaultStateDirectory(home: home)
                group.addTask {
                    try await USBIPServer.serveUSBIP(host: endpoint.host, port: endpoint.port, slots: slots, stateDirectory: directory,
                                                     timeExtensionThreshold: threshold, capabilities: capabilities, log: log)
                }
            }
            try await group.waitForAll()
        }
    }
}
