import BillSyncConfig
import BillSyncCore
import BillSyncMetrics
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `POST /webhooks/<source>`: a verified webhook only schedules a sync of that source; its
/// payload is never stored (the sync reads the provider's own list). Answers 202, 401 (bad or
/// missing signature, stale timestamp: the body says only "invalid signature"), 404 (no such
/// source with a webhook secret), 413 (over 64 KiB), 400 (not JSON).
struct WebhookRoute: Sendable {
    static let maxBody = 64 * 1024

    let config: @Sendable () -> Config
    let metrics: BillSyncMetrics
    let clock: @Sendable () -> Int64
    let logger: Logger
    let onWebhook: @Sendable (String) -> Void
    let deliveries = DeliveryLog()

    func handle(_ request: Request, source name: String) async throws -> Response {
        guard let source = config().source(named: name), let secretRef = source.webhookSecret,
            let scheme = source.descriptor.webhooks
        else {
            return reply(.notFound, "no webhook for this source\n", source: nil, outcome: "unknown_source")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxBody)
        } catch {
            return reply(.contentTooLarge, "body over 64 KiB\n", source: name, outcome: "too_large")
        }
        let bytes = Array(body.readableBytesView)
        var secrets: [String] = []
        do {
            let file = config().path
            secrets.append(try KeyReader.read(secretRef, source: name, file: file, keyName: "webhook_secret"))
            if let previous = source.webhookSecretPrevious {
                secrets.append(
                    try KeyReader.read(previous, source: name, file: file, keyName: "webhook_secret_previous"))
            }
        } catch {
            logger.error("webhook.failed", metadata: ["source": .string(name), "error": .string("\(error)")])
            return reply(.serviceUnavailable, "webhook secret unavailable\n", source: name, outcome: "no_secret")
        }
        for secret in secrets { SecretRegistry.shared.add(secret) }
        let verifier = WebhookVerifier(scheme: scheme, secrets: secrets, secretHeader: source.webhookSecretHeader)
        do throws(WebhookVerifier.Rejection) {
            try verifier.verify(
                header: { name in HTTPField.Name(name).flatMap { request.headers[$0] } }, body: bytes, now: clock())
        } catch {
            logger.warning("webhook.rejected", metadata: ["source": .string(name), "reason": .string(error.rawValue)])
            return reply(.unauthorized, "invalid signature\n", source: name, outcome: "rejected")
        }
        guard case .object(let event)? = try? JSONValue.parse(bytes) else {
            logger.warning("webhook.rejected", metadata: ["source": .string(name), "reason": "malformed_json"])
            return reply(.badRequest, "body is not a JSON object\n", source: name, outcome: "malformed")
        }
        let type = event["type"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? ""
        let key = Self.deliveryKey(
            event, type: type, timestamp: request.headers[HTTPField.Name("X-UsageFlow-Timestamp")!])
        var metadata: Logger.Metadata = ["source": .string(name), "type": .string(type)]
        if let key { metadata["delivery"] = .string(key) }
        if let key, !deliveries.first(name + "\u{0}" + key) {
            logger.info("webhook.duplicate", metadata: metadata)
            return reply(.accepted, "duplicate\n", source: name, outcome: "duplicate")
        }
        logger.info("webhook.accepted", metadata: metadata)
        onWebhook(name)
        return reply(.accepted, "accepted\n", source: name, outcome: "accepted")
    }

    /// The event id, or for events without one their type, invoice id and timestamp; nil when
    /// there is nothing to tell deliveries apart by.
    static func deliveryKey(_ event: JSONObject, type: String, timestamp: String?) -> String? {
        func string(_ value: JSONValue?) -> String? {
            switch value {
            case .string(let s)?: s
            case .number(let n)?: n
            default: nil
            }
        }
        if let id = string(event["id"]) { return "id:" + id }
        guard case .object(let data)? = event["data"], let invoice = string(data["invoiceId"]) else { return nil }
        return "event:\(type)|\(invoice)|\(timestamp ?? "")"
    }

    func reply(_ status: HTTPResponse.Status, _ text: String, source: String?, outcome: String) -> Response {
        metrics.recordWebhook(source: source ?? "", outcome: outcome)
        return Listener.text(status, text)
    }
}
