import ArgumentParser
import Foundation
import SealHostDriver
import SealImprint
import SealLedger

/// `sealctl imprint`: draws the stamp's imprint for the document — the seal, the serial and
/// expiration code as micro-text, and the QR code whose payload `sealctl trace` follows back to the
/// ledger (docs/imprint.md).
struct Imprint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imprint",
        abstract: "Draw a stamp's imprint (seal, micro-text, trace QR code) as PNG or SVG; the record must be in the ledger.",
        discussion: "The QR code carries the trace payload of docs/imprint.md (ledger URL and origin, entry index, record hash, serial, expiration code). Exit status 0 when written, 1 when the record is not in the ledger or cannot be drawn, 64 for usage errors, 75 when the ledger cannot be reached.")
    @Argument(help: "The stamp record (JSON) written by `sealctl stamp` and submitted with `sealctl ledger submit`.") var record: String
    @Option(help: ArgumentHelp("Where to write the imprint: a .png or .svg file.", valueName: "FILE")) var out: String
    @Option(help: ArgumentHelp("The seal image registered at personalization (PNG); checked against the record's signed seal image hash. Default: a generated round seal.", valueName: "PNG"))
    var sealImage: String?
    @Option(help: ArgumentHelp("The log's verifier key (text or a file holding it): the checkpoint naming the origin is checked with it.", valueName: "VKEY"))
    var logKey: String?
    @OptionGroup var ledger: LedgerURLOption
    @Flag(help: "Write only the QR code (its quiet zone included).") var qrOnly = false
    @Flag(help: "Print one JSON object (out, payload, payloadBytes, qrVersion, qrModules, index, origin, fonts, renderMilliseconds).") var json = false

    func validate() throws {
        if ImageFormat(fileName: out) == nil { throw ValidationError("--out must end in .png or .svg") }
        if qrOnly && sealImage != nil { throw ValidationError("--seal-image draws the seal; --qr-only draws none") }
    }

    func run() async throws {
        try await userFacing {
            let format = ImageFormat(fileName: out) ?? .png
            let stamp = try readStampRecord(record)
            var sealImageBytes: [UInt8]?
            if let sealImage {
                let bytes = try readFile(sealImage, what: "seal image")
                sealImageBytes = try imprintStep { () throws(ImprintError) in
                    try ImprintContent.checkedSealImage(bytes, registeredHash: stamp.sealImageHash)
                }
            }
            let entry = LedgerLeaf.stampRecordBytes(stamp)
            let recordHash = LedgerLeaf.recordHash(entry)
            let hexHash = recordHash.map { String(format: "%02X", $0) }.joined()
            let indices = try await ledger.object("/v1/lookup?recordHash=\(hexHash)")["indices"] as? [Any] ?? []
            guard let first = indices.first, let index = UInt64("\(first)") else {
                throw CLIError("\(record) is not in the ledger at \(ledger.base): submit it first (sealctl ledger submit)")
            }
            let (status, noteData) = try await ledger.request("/checkpoint")
            guard status == 200 else { throw CLIError("the ledger answered \(status) for /checkpoint") }
            let note = String(decoding: noteData, as: UTF8.self)
            let verifier = try logKey.map(loadVerifierKey)
            let checkpoint: Checkpoint
            do throws(LedgerError) {
                if let verifier {
                    checkpoint = try Checkpoint.open(note, verifier: verifier)
                } else {
                    checkpoint = try Checkpoint(text: SignedNote(parsing: note).text)
                }
            } catch {
                throw CLIError("the ledger's checkpoint: \(error.reason)")
            }
            let started = ContinuousClock.now
            let (bytes, payload, qr, fonts) = try imprintStep { () throws(ImprintError) in
                let payload = try TracePayload(ledgerURL: ledger.base, origin: checkpoint.origin, index: index, recordHash: recordHash,
                                               serial: stamp.serial, expirationCode: stamp.expirationCode)
                if qrOnly {
                    let qr = try QRCode(text: payload.text, errorCorrection: .medium)
                    return (try qr.image(format), payload, qr, [ResolvedFont]())
                }
                let content = ImprintContent(organizationName: stamp.organizationName, sealName: stamp.sealName, serial: stamp.serial,
                                             expirationCode: stamp.expirationCode, expiry: stamp.expiry, payload: payload,
                                             sealImagePNG: sealImageBytes)
                let rendered = try ImprintRenderer.render(content, format: format)
                return (rendered.bytes, payload, rendered.qrCode, rendered.fonts)
            }
            let elapsed = ContinuousClock.now - started
            do { try Data(bytes).write(to: URL(fileURLWithPath: out)) } catch {
                throw CLIError("cannot write \(out): \(error.localizedDescription)")
            }
            let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            if json {
                printJSONLine(["out": out, "payload": payload.text, "payloadBytes": payload.text.utf8.count, "qrVersion": qr.version,
                               "qrModules": qr.width, "index": Int(index), "origin": checkpoint.origin,
                               "fonts": fonts.map { ["family": $0.family, "file": $0.file] },
                               "renderMilliseconds": (milliseconds * 10).rounded() / 10])
            } else {
                print("\(out): entry \(index) of \(checkpoint.origin); QR version \(qr.version) (\(qr.width)×\(qr.width) modules, level M), payload \(payload.text.utf8.count) bytes")
                print("payload: \(payload.text)")
            }
        }
    }
}

/// Runs a step of the imprint library, its errors as one-line CLI failures.
func imprintStep<T>(_ body: () throws(ImprintError) -> T) throws -> T {
    do throws(ImprintError) { return try body() } catch {
        throw CLIError(error.reason)
    }
}
