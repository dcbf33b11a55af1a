import BillSyncCore
import BillSyncTestSupport
import Crypto
import Foundation
import Testing

/// `POST /webhooks/<source>` against a running `billsync run` and the simulator: what is
/// accepted starts a sync of that source and nothing else; what is not gets its status and
/// causes no request to the provider.
@Suite struct WebhookTests {
    static let secret = "whsec-uf-7c1d93"
    static let previous = "whsec-uf-old-22"
    static let northflankSecret = "nf-hook-secret-41"

    final class Running: @unchecked Sendable {
        let sim: SimHarness
        let ws: Workspace
        let daemon: RunningProcess
        let port: Int

        init(minInterval: String = "5s") throws {
            sim = try SimHarness()
            ws = try Workspace(sim: sim)
            port = freeLoopbackPort()
            for (name, text) in [("uf-hook", secret), ("uf-hook-old", previous), ("nf-hook", northflankSecret)] {
                try (text + "\n").write(toFile: ws.root + "/keys/" + name, atomically: true, encoding: .utf8)
            }
            try ws.writeConfig(extra: "poll_interval = \"1h\"\n[http]\nlisten = \"127.0.0.1:\(port)\"")
            var text = try String(contentsOfFile: ws.configPath, encoding: .utf8)
            text = text.replacingOccurrences(
                of: "currency = \"EUR\"",
                with: """
                    currency = "EUR"
                    webhook_secret_file = "\(ws.root)/keys/uf-hook"
                    webhook_secret_previous_file = "\(ws.root)/keys/uf-hook-old"
                    webhook_min_interval = "\(minInterval)"
                    """)
            text = text.replacingOccurrences(
                of: "team = \"team-1\"",
                with: "team = \"team-1\"\nwebhook_secret_file = \"\(ws.root)/keys/nf-hook\"")
            try text.write(toFile: ws.configPath, atomically: true, encoding: .utf8)
            daemon = try ws.startBillsync(["run"])
            guard daemon.waitForEvent("sync.finished", count: 4, timeout: 30) else {
                throw TestFailure("the first syncs did not finish: \(daemon.stderrSoFar)")
            }
        }

        deinit {
            daemon.signal(SIGTERM)
            _ = daemon.waitForExit(timeout: 10)
        }

        func post(_ source: String, _ body: [UInt8], _ headers: [String: String]) throws -> (Int, String) {
            let reply = try LoopbackClient(port: port).send(
                "POST", "/webhooks/" + source, headers.merging(["Content-Type": "application/json"]) { a, _ in a },
                close: true, body: body)
            return (reply.status, reply.text)
        }

        var webhookSyncs: Int {
            daemon.lines(withEvent: "sync.started").filter { $0.contains("trigger=webhook") }.count
        }
        var usageflowRequests: Int { (try? sim.endpointCounts()["GET /api/invoices"]) ?? -1 }
    }

    static func hex(_ mac: some Sequence<UInt8>) -> String { mac.map { String(format: "%02x", $0) }.joined() }

    static func legacy(_ body: [UInt8], secret: String = secret) -> [String: String] {
        [
            "X-UsageFlow-Signature": hex(
                HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8))))
        ]
    }

    static func v1(_ body: [UInt8], at timestamp: Int64 = testNow, secret: String = secret) -> [String: String] {
        let signed = Array("\(timestamp).".utf8) + body
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Array(secret.utf8)))
        return ["X-UsageFlow-Timestamp": String(timestamp), "X-UsageFlow-Signature": "v1=" + hex(mac)]
    }

    static func event(_ id: String?, invoice: String = "uf_inv_3") -> [UInt8] {
        let idField = id.map { "\"id\":\"\($0)\"," } ?? ""
        return Array(
            "{\(idField)\"type\":\"invoice.paid\",\"data\":{\"invoiceId\":\"\(invoice)\",\"amount\":120}}".utf8)
    }

    /// Waits until `condition` holds (at most `seconds`).
    static func within(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition()
    }

    @Test func eachSignatureSchemeStartsASyncOfItsSourceWithinASecond() throws {
        // Webhook syncs at most every 100 ms here, so that each webhook starts its own.
        let r = try Running(minInterval: "100ms")
        let before = r.usageflowRequests
        for (i, headers) in [Self.v1(Self.event("evt_1")), Self.legacy(Self.event(nil, invoice: "uf_inv_4"))]
            .enumerated()
        {
            let syncs = r.webhookSyncs
            let started = Date()
            let body = i == 0 ? Self.event("evt_1") : Self.event(nil, invoice: "uf_inv_4")
            #expect(try r.post("usageflow", body, headers) == (202, "accepted\n"))
            #expect(Self.within(1) { r.webhookSyncs == syncs + 1 }, "no sync within a second: \(r.daemon.stderrSoFar)")
            #expect(Date().timeIntervalSince(started) < 1)
            #expect(Self.within(5) { r.usageflowRequests == before + i + 1 }, "the sync reads the provider's list")
            #expect(r.daemon.waitForEvent("sync.finished", count: 5 + i, timeout: 10))
        }
        let started = r.daemon.lines(withEvent: "sync.started").filter { $0.contains("trigger=webhook") }
        #expect(started.allSatisfy { $0.contains("source=usageflow") })
        // The previous secret, during a rotation; Northflank's shared secret in its header.
        let syncs = r.webhookSyncs
        #expect(
            try r.post("usageflow", Self.event("evt_2"), Self.v1(Self.event("evt_2"), secret: Self.previous)).0 == 202)
        #expect(Self.within(1) { r.webhookSyncs == syncs + 1 })
        #expect(
            try r.post("nf-team", Self.event("nf_1"), ["X-Northflank-Webhook-Secret": Self.northflankSecret]).0 == 202)
        #expect(
            Self.within(1) {
                r.daemon.lines(withEvent: "sync.started").contains {
                    $0.contains("source=nf-team") && $0.contains("trigger=webhook")
                }
            })
        #expect(r.daemon.lines(withEvent: "webhook.accepted").count == 4)
    }

    @Test func whatIsRefusedGetsItsStatusAndCausesNoSyncAndNoRequest() throws {
        let r = try Running()
        let requests = try r.sim.totalRequests()
        let body = Self.event("evt_9")
        let cases: [(String, [UInt8], [String: String], Int, String)] = [
            ("usageflow", body, Self.legacy(body, secret: "not-the-secret"), 401, "invalid signature\n"),
            ("usageflow", body, [:], 401, "invalid signature\n"),
            ("usageflow", body, Self.v1(body, at: testNow - 301), 401, "invalid signature\n"),
            ("usageflow", body, ["X-UsageFlow-Signature": "v1=zz"], 401, "invalid signature\n"),
            (
                "usageflow", body, ["X-UsageFlow-Signature": "v1=zz", "X-UsageFlow-Timestamp": String(testNow)], 401,
                "invalid signature\n"
            ),
            ("typesense", body, Self.legacy(body), 404, "no webhook for this source\n"),
            ("nope", body, Self.legacy(body), 404, "no webhook for this source\n"),
            ("nf-team", body, ["X-Northflank-Webhook-Secret": "wrong"], 401, "invalid signature\n"),
            (
                "usageflow", Array("{not json".utf8), Self.legacy(Array("{not json".utf8)), 400,
                "body is not a JSON object\n"
            ),
        ]
        for (source, payload, headers, status, text) in cases {
            let (got, answer) = try r.post(source, payload, headers)
            #expect(got == status && answer == text, "\(source) \(headers.keys.sorted()): \(got) \(answer)")
        }
        let big = [UInt8](repeating: UInt8(ascii: " "), count: 1 << 20)
        #expect(try r.post("usageflow", big, Self.legacy(big)).0 == 413)
        Thread.sleep(forTimeInterval: 1)
        #expect(r.webhookSyncs == 0)
        #expect(try r.sim.totalRequests() == requests, "no request to any provider")
        let reasons = r.daemon.lines(withEvent: "webhook.rejected")
        for reason in [
            "bad_signature", "missing_signature", "stale_timestamp", "malformed_signature", "bad_secret",
            "malformed_json",
        ] {
            #expect(reasons.contains { $0.contains("reason=\(reason)") }, "\(reason): \(reasons)")
        }
        // No secret in the log, the answers or the status.
        let status = try r.ws.billsync(["status", "--json"]).stdout
        for secret in [Self.secret, Self.previous, Self.northflankSecret] {
            #expect(!r.daemon.stderrSoFar.contains(secret) && !status.contains(secret))
        }
    }

    @Test func fiftyWebhooksAtOnceMakeAtMostTwoSyncsAndDuplicatesCountOnce() throws {
        let r = try Running()
        let group = DispatchGroup()
        let statuses = StatusBox()
        for i in 0..<50 {
            DispatchQueue.global().async(group: group) {
                let body = Self.event("burst_\(i)")
                statuses.add((try? r.post("usageflow", body, Self.v1(body)).0) ?? -1)
            }
        }
        group.wait()
        #expect(statuses.all.allSatisfy { $0 == 202 }, "\(statuses.all)")
        Thread.sleep(forTimeInterval: 2)
        #expect((1...2).contains(r.webhookSyncs), "\(r.webhookSyncs) syncs")
        // A provider's retry of a delivery it already made: counted, not acted on.
        let syncs = r.webhookSyncs
        let again = Self.event("burst_7")
        #expect(try r.post("usageflow", again, Self.v1(again)) == (202, "duplicate\n"))
        Thread.sleep(forTimeInterval: 1)
        #expect(r.webhookSyncs == syncs)
        #expect(r.daemon.lines(withEvent: "webhook.duplicate").count == 1)
    }
}

extension WebhookTests {
    @Test func fiveHundredTricklingConnectionsDoNotStopAValidWebhook() throws {
        let r = try Running()
        // 500 connections that each send part of a request head and then nothing.
        var sockets: [Int32] = []
        defer { for fd in sockets { close(fd) } }
        for _ in 0..<500 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(r.port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                close(fd)
                continue
            }
            let partial = Array("POST /webhooks/usageflow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8)
            _ = partial.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            sockets.append(fd)
        }
        #expect(sockets.count == 500)
        let body = Self.event("through_the_crowd")
        let started = Date()
        #expect(try r.post("usageflow", body, Self.v1(body)) == (202, "accepted\n"))
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(Self.within(2) { r.webhookSyncs == 1 })
    }
}

final class StatusBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int] = []
    func add(_ v: Int) { lock.withLock { values.append(v) } }
    var all: [Int] { lock.withLock { values } }
}
