import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SealLedger

/// A webhook endpoint and the secret its deliveries are signed with.
struct WebhookEndpoint: Sendable {
    let url: String
    let secret: [UInt8]
}

/// The webhook signature (docs/alerts.md, "Verifying a webhook"), in the manner of Stripe's and
/// GitHub's: `SealKit-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The
/// time is signed with the body so that a captured delivery cannot be replayed later than the
/// receiver's tolerance; the receiver deduplicates by `Idempotency-Key` (the alert ID).
enum WebhookSignature {
    static let header = "SealKit-Signature"

    static func value(secret: [UInt8], time: Int, body: Data) -> String {
        var message = Data("\(time).".utf8)
        message.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret))
        return "t=\(time),v1=\(Data(mac).map { String(format: "%02x", $0) }.joined())"
    }
}

/// Delivers owed alerts to the webhooks, at least once: deliveries are rows of the alert store,
/// written with their alert; each is POSTed until the endpoint answers 2xx, after a failure again
/// `retryBase · 2^(attempts−1)` seconds later (at most 10 minutes). Rows survive a restart, so a
/// delivery owed when the server stopped is made when it starts again.
final class WebhookDeliverer: Sendable {
    let store: any AlertStore
    let endpoints: [String: WebhookEndpoint]
    let retryBase: Double

    init(store: any AlertStore, endpoints: [WebhookEndpoint], retryBase: Double) {
        self.store = store
        self.endpoints = Dictionary(endpoints.map { ($0.url, $0) }) { first, _ in first }
        self.retryBase = retryBase
    }

    /// Delivers until the task is cancelled: as soon as the monitor raised a new alert, and when a
    /// retry falls due.
    func run(monitor: AlertMonitor) async {
        var seen: UInt64 = .max
        var nextDue: Date? = Date()
        while !Task.isCancelled {
            let latest = monitor.latestAlertID
            if latest != seen || (nextDue.map { $0 <= Date() } ?? false) {
                seen = latest
                let due: [AlertDelivery]
                do throws(LedgerError) { due = try store.dueDeliveries(now: Date(), limit: 64) } catch {
                    warn("warning: webhook deliveries: \(error.reason)")
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
                await withTaskGroup(of: Void.self) { group in
                    for delivery in due { group.addTask { await self.deliver(delivery) } }
                }
                nextDue = try? store.nextDeliveryDue()
                if due.count == 64 { continue }
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    private func deliver(_ delivery: AlertDelivery) async {
        let outcome: String
        var delivered = false
        if let endpoint = endpoints[delivery.endpoint], let url = URL(string: endpoint.url) {
            let body = delivery.alert.jsonData()
            var request = URLRequest(url: url, timeoutInterval: 10)
            request.httpMethod = "POST"
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.setValue("\(delivery.alert.id)", forHTTPHeaderField: "Idempotency-Key")
            request.setValue(WebhookSignature.value(secret: endpoint.secret, time: Int(Date().timeIntervalSince1970), body: body),
                             forHTTPHeaderField: WebhookSignature.header)
            request.setValue("sealledger", forHTTPHeaderField: "User-Agent")
            do {
                let (_, response) = try await URLSession.shared.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                delivered = (200..<300).contains(status)
                outcome = "HTTP \(status)"
            } catch {
                outcome = "error: \(error.localizedDescription)"
            }
        } else {
            // An endpoint no longer configured: kept owed, retried rarely, delivered if it comes back.
            outcome = "endpoint not configured"
        }
        let wait = min(600, retryBase * pow(2, Double(min(delivery.attempts, 20))))
        do throws(LedgerError) {
            try store.recordAttempt(delivery: delivery.id, delivered: delivered, nextAttempt: delivered ? nil : Date().addingTimeInterval(wait),
                                    outcome: outcome)
        } catch {
            warn("warning: webhook delivery \(delivery.id): \(error.reason)")
        }
    }
}
