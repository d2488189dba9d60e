import ArgumentParser
import Foundation
import SealHostDriver
import SealProtocol

struct Stamp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stamp a document: the token signs its SHA-256 and the metadata; writes an offline-verifiable record.")

    @OptionGroup var target: TargetOptions
    @OptionGroup var output: OutputOptions

    @OptionGroup var pinOptions: PINOptions
    @Option(help: "The document to stamp.") var document: String
    @Option(help: "Where to write the stamp record (JSON, see docs/stamp-record.md).") var out: String
    @Option(help: "Stamping time: seconds since 1970 or ISO 8601 (default: now).") var time: String?
    @Option(help: "Latitude in degrees (with --longitude).") var latitude: Double?
    @Option(help: "Longitude in degrees (with --latitude).") var longitude: Double?
    @Option(name: .customLong("operator"), help: "Operator ID.") var operatorID: String?
    @Option(help: "Device fingerprint (text).") var deviceFingerprint: String?
    @Option(help: "Organization unit.") var orgUnit: String?
    @Option(help: "Approval node.") var approvalNode: String?
    @Option(help: "The document's name, signed in clear (default: none).") var documentName: String?
    @Option(help: "Operator biometric reference: the 64-hex-digit SHA-256 of the matched biometric template (never the template).")
    var biometricReference: String?
    @Option(help: "Remote authorization grant (JSON file), when the seal requires one.") var grant: String?
    @Option(help: ArgumentHelp("An RFC 3161 time-stamping authority (HTTP URL): the record carries its token over the stamp signature.", valueName: "URL"))
    var tsa: String?
    @Option(help: ArgumentHelp("Write the RFC 3161 query for the new stamp here, for an offline TSA (then: sealctl timestamp RECORD --tsa-reply FILE).", valueName: "FILE"))
    var tsaRequest: String?

    func validate() throws {
        if pinOptions.pin != nil && pinOptions.pinStdin { throw ValidationError("give --pin or --pin-stdin, not both") }
        _ = try buildMetadata()
        if let tsa, TimestampAuthority.url(tsa) == nil { throw ValidationError("--tsa must be an http(s) URL, got \(tsa)") }
    }

    func run() async throws {
        let metadata = try buildMetadata()
        let grantValue = try grant.map { path -> AuthorizationGrant in
            let data = Data(try readFile(path, what: "grant"))
            do { return try JSONDecoder().decode(AuthorizationGrant.self, from: data) } catch {
                throw CLIError("\(path) is not a grant file: \(error)")
            }
        }
        // Hashed in constant memory before the PIN is asked for or the token is opened, so that an
        // unreadable document costs neither, and a large one does not hold the token while it is read.
        let digest: [UInt8]
        do {
            digest = try SealDigest.sha256(contentsOf: URL(fileURLWithPath: document))
        } catch {
            throw CLIError("document \(document): \(error.message)")
        }
        let pin = try SecretReader(readsStandardInput: pinOptions.pinStdin).read(.pin, given: pinOptions.pin)
        let record = try await withToken(target, output) { token in
            // VERIFY and STAMP in one transaction: on a shared reader no other application can
            // reset or reselect the card between them.
            try await token.stamp(documentDigest: digest, metadata: metadata, pin: pin, grant: grantValue)
        }
        var stamped = record
        var timestampProblem: String?
        if let tsa, let url = TimestampAuthority.url(tsa) {
            // The stamp is made and counted: a TSA failure must not lose it, so the record is
            // written without a token and the failure reported after.
            do {
                stamped.timestampToken = try await TimestampAuthority.fetch(url, for: record.signature).derEncoded
            } catch {
                timestampProblem = "\(error)"
            }
        }
        do {
            try stamped.jsonData().write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw CLIError("cannot write \(out): \(error.localizedDescription)")
        }
        if let tsaRequest {
            try TimestampAuthority.write(RFC3161TimestampToken.request(for: record.signature, nonce: TimestampAuthority.nonce()),
                                         to: tsaRequest)
        }
        if output.json {
            struct Out: Encodable {
                let record: String
                let chipID: String
                let counter: UInt32
                let serial: String
                let expirationCode: String
                let expiry: UInt64
            }
            try printJSON(Out(record: out, chipID: hexString(record.chipID), counter: record.counter, serial: record.serial,
                              expirationCode: record.expirationCode, expiry: record.expiry))
        } else {
            print("stamped \(document): counter \(record.counter), serial \(record.serial), expiration code \(record.expirationCode)")
            for (name, value) in Verify.personalFields(record.metadata).sorted(by: { $0.key < $1.key }) {
                print("personal \(name): \(value) (committed with a random salt; opening in the record's personalData)")
            }
            print("record written to \(out)")
        }
        if let timestampProblem {
            throw CLIError("stamped and written to \(out), but without a timestamp token (\(timestampProblem)); add one with sealctl timestamp \(out) --tsa URL")
        }
    }

    /// The metadata from the options; every problem is a usage error (exit 64).
    func buildMetadata() throws -> StampMetadata {
        let seconds: UInt64
        if let time {
            guard let parsed = parseTime(time) else { throw ValidationError("--time must be seconds since 1970 or ISO 8601, got \(time)") }
            seconds = parsed
        } else {
            seconds = UInt64(Date().timeIntervalSince1970)
        }
        var metadata = StampMetadata(time: seconds, operatorID: operatorID, organizationUnit: orgUnit, approvalNode: approvalNode,
                                     documentName: documentName)
        if let biometricReference {
            guard let bytes = bytesFromHex(biometricReference), bytes.count == 32 else {
                throw ValidationError("--biometric-reference must be 64 hex digits (a SHA-256)")
            }
            metadata.operatorBiometricReference = bytes
        }
        metadata.deviceFingerprint = deviceFingerprint.map { Array($0.utf8) }
        switch (latitude, longitude) {
        case (nil, nil): break
        case let (lat?, lon?):
            guard (-90...90).contains(lat), (-180...180).contains(lon) else {
                throw ValidationError("--latitude must be within ±90 and --longitude within ±180 degrees")
            }
            metadata.latitudeMicrodegrees = Int32((lat * 1_000_000).rounded())
            metadata.longitudeMicrodegrees = Int32((lon * 1_000_000).rounded())
        default:
            throw ValidationError("--latitude and --longitude go together")
        }
        do {
            try metadata.validate()
        } catch {
            throw ValidationError("metadata: \(error.reason)")
        }
        return metadata
    }
}

func readFile(_ path: String, what: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CLIError("cannot read \(what) \(path): no such file or not readable")
    }
    return [UInt8](data)
}

/// Seconds since 1970 or an ISO 8601 date-time.
func parseTime(_ text: String) -> UInt64? {
    if let seconds = UInt64(text) { return seconds }
    let formatter = ISO8601DateFormatter()
    guard let date = formatter.date(from: text), date.timeIntervalSince1970 >= 0 else { return nil }
    return UInt64(date.timeIntervalSince1970)
}
