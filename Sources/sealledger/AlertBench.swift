import ArgumentParser
import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import SealHostDriver
import SealLedger
import SealSimulatedToken
import Synchronization

extension Bench {
    /// From the submission that causes an alert to the webhook's receipt (docs/alerts.md): a ledger
    /// server and a webhook receiver on loopback, in this process; the simulated test token's chip is
    /// suspended, so each record submitted (`POST /v1/entries`, one at a time) raises a
    /// `stamp-by-suspended-seal` alert, delivered signed to the receiver. Each latency runs from just
    /// before the POST to the receiver's handler; the next record is sent after the receipt.
    func webhookLatency(scratch: URL, alerts: Int) async throws {
        let test = try await SimulatedTestToken.make()
        try await test.token.connect()
        var records: [StampRecord] = []
        for i in 0..<alerts {
            let metadata = StampMetadata(time: UInt64(Date().timeIntervalSince1970), operatorID: "bench")
            records.append(try await test.token.stamp(document: Array("alert document \(i)".utf8), metadata: metadata, pin: SimulatedTestToken.pin))
        }
        let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.issuerKeyPEM)
        let signer = try NoteSigner(generatingFor: "bench.sealkit/alerts")
        let database = scratch.appendingPathComponent("alerts-ledger.sqlite").path
        let ledger = try Ledger(storage: try SQLiteStorage(path: database), signer: signer, stampVerifier: SimulatedTestToken.verifier,
                                issuerTrust: IssuerTrust(keys: [issuerKey.publicKey]))
        guard let chipID = records.first?.chipID else { throw ValidationError("no records") }
        let suspension = try SignedLifecycleEvent(signing: try LifecycleEvent(kind: .suspended, chipID: chipID,
                                                                               time: UInt64(Date().timeIntervalSince1970)), with: issuerKey)
        guard case .added = ledger.submit(event: suspension) else { throw ValidationError("the suspension was not admitted") }

        // The receiver: when each alert arrived, by its Idempotency-Key.
        let receipts = Mutex<[String: ContinuousClock.Instant]>([:])
        let receiverPort = try freeLoopbackPort()
        let router = Router()
        router.post("/hook") { request, _ in
            let now = ContinuousClock.now
            if let key = request.headers.first(where: { $0.name.canonicalName == "idempotency-key" })?.value {
                receipts.withLock { if $0[key] == nil { $0[key] = now } }
            }
            _ = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .noContent)
        }
        let receiver = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: receiverPort)))
        let receiverTask = Task { try await receiver.runService(gracefulShutdownSignals: []) }

        let secret = Array(SHA256.hash(data: Array("bench webhook secret".utf8)))
        let monitor = try AlertMonitor(ledger: ledger, store: try SQLiteAlertStore(path: database + ".alerts.sqlite"),
                                       endpoints: ["http://127.0.0.1:\(receiverPort)/hook"])
        let service = AlertService(monitor: monitor, webhooks: [WebhookEndpoint(url: "http://127.0.0.1:\(receiverPort)/hook", secret: secret)],
                                   retryBase: 0.5, anonymousReports: RateLimiter(perMinute: 30))
        let ledgerPort = try freeLoopbackPort()
        let serverTask = Task {
            try await LedgerServer(ledger: ledger, maxBody: 1 << 20, publisher: nil, access: nil, alerting: service)
                .run(host: "127.0.0.1", port: ledgerPort)
        }
        defer {
            serverTask.cancel()
            receiverTask.cancel()
        }
        let base = "http://127.0.0.1:\(ledgerPort)"
        try await waitUntilAnswering(base + "/checkpoint")
        try await waitUntilAnswering("http://127.0.0.1:\(receiverPort)/hook", method: "POST")
        receipts.withLock { $0 = [:] }

        var latencies: [Double] = []
        var submitLatencies: [Double] = []
        let firstID = monitor.latestAlertID + 1
        for (offset, record) in records.enumerated() {
            let key = "\(firstID + UInt64(offset))"
            var request = URLRequest(url: try url(base + "/v1/entries"))
            request.httpMethod = "POST"
            request.httpBody = try record.jsonData()
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            let t0 = ContinuousClock.now
            let (_, response) = try await URLSession.shared.data(for: request)
            submitLatencies.append(elapsedSeconds(ContinuousClock.now - t0))
            guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw ValidationError("record \(offset) was not admitted") }
            let deadline = ContinuousClock.now + .seconds(30)
            var received: ContinuousClock.Instant?
            while received == nil {
                received = receipts.withLock { $0[key] }
                if received == nil {
                    guard ContinuousClock.now < deadline else { throw ValidationError("alert \(key) did not reach the webhook in 30 s") }
                    try await Task.sleep(for: .milliseconds(1))
                }
            }
            if let received { latencies.append(elapsedSeconds(received - t0)) }
        }
        latencies.sort()
        submitLatencies.sort()
        print(String(format: "alert latency, submission to webhook receipt, %d alerts (stamp-by-suspended-seal, one at a time, loopback): median %.1f ms (goal < 1000 ms), p99 %.1f ms, max %.1f ms; the submission's own answer: median %.1f ms, p99 %.1f ms",
                     latencies.count, latencies[latencies.count / 2] * 1000, latencies[latencies.count * 99 / 100] * 1000,
                     (latencies.last ?? 0) * 1000, submitLatencies[submitLatencies.count / 2] * 1000, submitLatencies[submitLatencies.count * 99 / 100] * 1000))
    }

    private func url(_ text: String) throws -> URL {
        guard let url = URL(string: text) else { throw ValidationError("\(text) is not a URL") }
        return url
    }

    private func waitUntilAnswering(_ address: String, method: String = "GET") async throws {
        var request = URLRequest(url: try url(address), timeoutInterval: 2)
        request.httpMethod = method
        for _ in 0..<200 {
            if (try? await URLSession.shared.data(for: request)) != nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ValidationError("\(address) does not answer")
    }

    private func elapsedSeconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, released).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ValidationError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw ValidationError("bind() failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw ValidationError("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
