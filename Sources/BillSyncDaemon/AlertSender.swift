import BillSyncConfig
import BillSyncCore
import BillSyncHTTP
import Foundation
import Logging

/// Alerts out (`alert_webhook_url_file`): a JSON POST per event (`{"text": "…", "event":
/// "budget.threshold", …}`, which Slack and most chat tools accept), from a thread of its own,
/// so that no sync ever waits for it. Each alert is tried up to five times, 1, 2, 4 and 8 s
/// apart (a 2xx answer is delivered); one that cannot be delivered is logged `alert.failed`.
/// The URL is a secret (it carries the chat's token): it is read from a file and never logged.
public final class AlertSender: @unchecked Sendable {
    public struct Alert: Sendable {
        public let event: String
        public let text: String
        public let fields: [(String, String)]
    }

    let url: String
    let logger: Logger
    /// The first retry's wait, doubling after each failure.
    let retryBase: Double
    static let attempts = 5
    static let maxQueued = 1_000
    private let condition = NSCondition()
    private var queue: [Alert] = []
    private var busy = false
    private var started = false
    private var stopping = false

    public init(url: String, logger: Logger, retryBase: Double = 1) {
        self.url = url
        self.logger = logger
        self.retryBase = retryBase
        SecretRegistry.shared.add(url)
    }

    /// The sender the config asks for, or nil; the URL file is read now.
    public static func make(_ config: Config, logger: Logger, retryBase: Double = 1) throws(ConfigError)
        -> AlertSender?
    {
        guard let path = config.alertWebhookURLFile else { return nil }
        let url = try KeyReader.read(
            .file(path), source: "", file: config.path, keyName: "alert_webhook_url")
        guard url.hasPrefix("https://") || (url.hasPrefix("http://") && Config.isLoopbackURL(url)) else {
            throw ConfigError(
                file: config.path, key: "alert_webhook_url_file",
                problem: "the URL in \(path) must start with https:// (http:// only for loopback hosts)")
        }
        return AlertSender(url: url, logger: logger, retryBase: retryBase)
    }

    /// Queues an alert and returns at once.
    public func send(_ event: String, text: String, fields: [(String, String)]) {
        condition.lock()
        defer { condition.unlock() }
        if queue.count >= Self.maxQueued {
            let dropped = queue.removeFirst()
            logger.error("alert.failed", metadata: ["alert": .string(dropped.event), "reason": "queue full"])
        }
        queue.append(Alert(event: event, text: text, fields: fields))
        if !started {
            started = true
            let thread = Thread { [self] in work() }
            thread.stackSize = 512 << 10
            thread.start()
        }
        condition.broadcast()
    }

    /// Waits up to `timeout` seconds for the queued alerts (a one-shot `sync` before it exits);
    /// what is left is logged `alert.failed`.
    public func finish(timeout: Double) {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        while (!queue.isEmpty || busy) && condition.wait(until: deadline) {}
        stopping = true
        let left = queue
        queue.removeAll()
        condition.broadcast()
        condition.unlock()
        for alert in left {
            logger.error(
                "alert.failed", metadata: ["alert": .string(alert.event), "reason": "not delivered before exit"])
        }
    }

    private func work() {
        let client = HTTPClient(options: Self.clientOptions)
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if stopping {
                condition.unlock()
                return
            }
            let alert = queue.removeFirst()
            busy = true
            condition.unlock()
            deliver(alert, client)
            condition.lock()
            busy = false
            condition.broadcast()
            condition.unlock()
        }
    }

    static var clientOptions: HTTPClientOptions {
        var options = HTTPClientOptions()
        options.connectTimeoutMs = 5_000
        options.totalTimeoutMs = 10_000
        options.maxBodyBytes = 64 << 10
        return options
    }

    private func deliver(_ alert: Alert, _ client: HTTPClient) {
        let body = Array(Self.json(alert).utf8)
        var last = ""
        for attempt in 1...Self.attempts {
            do {
                let response = try client.post(
                    url, headers: [("Content-Type", "application/json")], body: body)
                if (200..<300).contains(response.status) {
                    logger.debug("alert.sent", metadata: ["alert": .string(alert.event), "attempts": "\(attempt)"])
                    return
                }
                last = "HTTP \(response.status)"
            } catch {
                last = SecretRegistry.shared.redact(error.description)
            }
            guard attempt < Self.attempts else { break }
            condition.lock()
            let stop = stopping
            if !stop {
                _ = condition.wait(until: Date(timeIntervalSinceNow: retryBase * pow(2, Double(attempt - 1))))
            }
            condition.unlock()
            if stop { break }
        }
        logger.error(
            "alert.failed",
            metadata: ["alert": .string(alert.event), "reason": .string(last), "attempts": "\(Self.attempts)"])
    }

    /// `{"text":"…","event":"…", then the fields as strings}`.
    static func json(_ alert: Alert) -> String {
        var out = "{\"text\":"
        JSONValue.writeQuoted(alert.text, into: &out)
        out += ",\"event\":"
        JSONValue.writeQuoted(alert.event, into: &out)
        for (key, value) in alert.fields {
            out += ","
            JSONValue.writeQuoted(key, into: &out)
            out += ":"
            JSONValue.writeQuoted(value, into: &out)
        }
        return out + "}"
    }
}
