import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SealHostDriver
import SealProtocol

/// `sealctl timestamp RECORD`: an RFC 3161 timestamp token over a record's stamp signature, from
/// a TSA online (`--tsa URL`) or offline (`--tsa-request FILE`, then `--tsa-reply FILE`).
struct Timestamp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add an RFC 3161 timestamp token over a stamp record's signature.",
        discussion: """
            The chip signs the time the host gives it; a token from a time-stamping authority (TSA) \
            proves the stamp existed before the TSA's time, for whoever trusts the TSA \
            (sealctl verify --tsa-root). Online: --tsa URL posts the query (application/timestamp-query). \
            Offline: --tsa-request FILE writes the query for any RFC 3161 TSA (e.g. openssl ts -reply); \
            --tsa-reply FILE then adds the TSA's reply to the record. The token is not part of the \
            record's canonical bytes (docs/stamp-record.md).
            """)
    @Argument(help: "The stamp record (JSON) to time-stamp; rewritten with the token.") var record: String
    @Option(help: ArgumentHelp("The TSA's URL (HTTP POST).", valueName: "URL")) var tsa: String?
    @Option(help: ArgumentHelp("Write the DER query for the record here instead of asking a TSA.", valueName: "FILE")) var tsaRequest: String?
    @Option(help: ArgumentHelp("Add the TSA's DER reply from this file to the record.", valueName: "FILE")) var tsaReply: String?

    func validate() throws {
        let modes = [tsa, tsaRequest, tsaReply].compactMap { $0 }.count
        guard modes == 1 else { throw ValidationError("give exactly one of --tsa URL, --tsa-request FILE, --tsa-reply FILE") }
        if let tsa, TimestampAuthority.url(tsa) == nil { throw ValidationError("--tsa must be an http(s) URL, got \(tsa)") }
    }

    func run() async throws {
        var stamp: StampRecord
        do {
            stamp = try StampRecord(jsonData: Data(try readFile(record, what: "record")))
        } catch let error as SealDriverError {
            throw CLIError("\(record): \(error.message)")
        }
        if let tsaRequest {
            try TimestampAuthority.write(RFC3161TimestampToken.request(for: stamp.signature, nonce: TimestampAuthority.nonce()),
                                         to: tsaRequest)
            print("query for stamp #\(stamp.counter) written to \(tsaRequest)")
            return
        }
        let token: RFC3161TimestampToken
        if let tsa, let url = TimestampAuthority.url(tsa) {
            token = try await TimestampAuthority.fetch(url, for: stamp.signature)
        } else {
            token = try TimestampAuthority.token(fromReply: try readFile(tsaReply ?? "", what: "TSA reply"), for: stamp.signature)
        }
        stamp.timestampToken = token.derEncoded
        try TimestampAuthority.write(try stamp.jsonData(), to: record)
        print("timestamp token added to \(record): the stamp existed before \(TimestampAuthority.describe(token.generationTime)) "
              + "(per \(token.signerCertificate?.subject.description ?? "the TSA"); check it with sealctl verify --tsa-root)")
    }
}

/// Talking to an RFC 3161 TSA (shared by `sealctl stamp --tsa` and `sealctl timestamp`).
enum TimestampAuthority {
    static func url(_ text: String) -> URL? {
        guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else { return nil }
        return url
    }

    /// 8 random bytes: the TSA echoes them, so a reply is known to answer this query.
    static func nonce() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<8).map { _ in UInt8.random(in: 1...255, using: &generator) }
    }

    /// Posts a query for SHA-256 of `signature` and returns the checked token.
    static func fetch(_ url: URL, for signature: [UInt8]) async throws -> RFC3161TimestampToken {
        let nonce = nonce()
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/timestamp-query", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(RFC3161TimestampToken.request(for: signature, nonce: nonce))
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw CLIError("TSA \(url): \(error.localizedDescription)")
        }
        if let http = response as? HTTPURLResponse, http.statusCode != 200 {
            throw CLIError("TSA \(url): HTTP \(http.statusCode)")
        }
        let token = try token(fromReply: Array(data), for: signature)
        guard token.nonce == Array(nonce.drop { $0 == 0 }) else { throw CLIError("TSA \(url): the reply does not echo the query's nonce") }
        return token
    }

    /// The token of a DER reply, checked to be over SHA-256 of `signature`.
    static func token(fromReply reply: [UInt8], for signature: [UInt8]) throws -> RFC3161TimestampToken {
        let token: RFC3161TimestampToken
        do {
            token = try RFC3161TimestampToken(timeStampResponse: reply)
        } catch {
            throw CLIError("TSA reply: \(error.message)")
        }
        guard token.imprintMatches(signature) else {
            throw CLIError("TSA reply: the token is not over SHA-256 of this stamp's signature")
        }
        return token
    }

    static func write(_ bytes: some DataProtocol, to path: String) throws {
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CLIError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    static func describe(_ date: Date) -> String {
        "\(UInt64(max(0, date.timeIntervalSince1970))) (\(date.ISO8601Format()))"
    }
}
