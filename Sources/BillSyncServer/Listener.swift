import BillSyncConfig
import BillSyncCore
import BillSyncMetrics
import BillSyncStore
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// What the daemon and the listener tell each other: the daemon loop's heartbeat (the loop
/// that feeds systemd's watchdog beats at least once a second), when it started, and when
/// the listener last served a request.
public final class DaemonHealth: @unchecked Sendable {
    private let lock = NSLock()
    private var lastBeat = monotonicSeconds()
    private var _lastServed: Double?
    public let startedAt: Int64

    public init(startedAt: Int64) { self.startedAt = startedAt }

    public func beat() { lock.withLock { lastBeat = monotonicSeconds() } }

    /// Whether the loop beat within the last five seconds.
    public var loopAlive: Bool { lock.withLock { monotonicSeconds() - lastBeat < 5 } }

    /// Called as each request is answered.
    public func served() { lock.withLock { _lastServed = monotonicSeconds() } }

    /// When (monotonic seconds) the listener last answered a request, if ever.
    public var lastServed: Double? { lock.withLock { _lastServed } }
}

/// Tells `DaemonHealth` about every request answered, so that the daemon knows when the
/// listener has gone quiet.
struct ActivityMiddleware<Context: RequestContext>: RouterMiddleware {
    let health: DaemonHealth

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        defer { health.served() }
        return try await next(request, context)
    }
}

/// billsync's HTTP listener (`[http] listen`), on Hummingbird 2 over SwiftNIO: `/livez`,
/// `/readyz`, `/metrics` and the webhooks. One event-loop thread; at most 1,024 connections at
/// once; a request head must arrive within 10 s, and idle connections close after 30 s.
public final class Listener: @unchecked Sendable {
    public static let maxConnections = 1024
    let host: String
    let port: Int
    let logger: Logger
    private var task: Task<Void, Error>?
    private var services: ServiceGroup?
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    /// The port bound (the configured one, or the system's pick for port 0).
    public private(set) var boundPort: Int?

    public init(host: String, port: Int, logger: Logger) {
        self.host = host
        self.port = port
        self.logger = logger
    }

    /// Starts serving; returns once the socket is bound, or throws why it could not be.
    public func start(
        config: @escaping @Sendable () -> Config, store: BillingStore, metrics: BillSyncMetrics,
        health: DaemonHealth, clock: @escaping @Sendable () -> Int64,
        onWebhook: @escaping @Sendable (_ source: String) -> Void = { _ in }
    ) throws {
        let router = Router()
        router.add(middleware: ActivityMiddleware(health: health))
        let webhooks = WebhookRoute(
            config: config, metrics: metrics, clock: clock, logger: logger, onWebhook: onWebhook)
        router.post("/webhooks/:source") { request, context -> Response in
            try await webhooks.handle(request, source: context.parameters.get("source") ?? "")
        }
        router.get("/livez") { _, _ -> Response in
            health.loopAlive
                ? Self.text(.ok, "ok\n") : Self.text(.serviceUnavailable, "the daemon loop has stopped\n")
        }
        router.get("/readyz") { request, _ -> Response in
            let readiness = try Readiness.check(config: config(), store: store, health: health, now: clock())
            if request.uri.queryParameters["verbose"] != nil {
                return Response(
                    status: readiness.ready ? .ok : .serviceUnavailable,
                    headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: readiness.json + "\n")))
            }
            return readiness.ready
                ? Self.text(.ok, "ready\n")
                : Self.text(.serviceUnavailable, "not ready: " + readiness.failing.joined(separator: ", ") + "\n")
        }
        router.get("/metrics") { _, _ -> Response in
            let text = try metrics.text(config: config(), store: store, now: clock())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let bound = DispatchSemaphore(value: 0)
        let outcome = BindOutcome()
        var quiet = logger
        quiet.logLevel = .warning
        let app = Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [RequestHeadDeadline(timeout: .seconds(10))], idleTimeout: .seconds(30))),
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: port), serverName: "billsync",
                availableConnectionsDelegate: .maximum(Self.maxConnections, logger: quiet)),
            onServerRunning: { channel in
                outcome.set(port: channel.localAddress?.port)
                bound.signal()
            },
            eventLoopGroupProvider: .shared(group),
            logger: quiet)
        let services = ServiceGroup(
            configuration: .init(services: [.init(service: app)], gracefulShutdownSignals: [], logger: quiet))
        self.services = services
        task = Task {
            do {
                try await services.run()
            } catch {
                outcome.set(error: error)
                bound.signal()
                throw error
            }
        }
        bound.wait()
        if let error = outcome.error {
            throw ListenerError(description: "cannot listen on \(host):\(port): \(error)")
        }
        boundPort = outcome.port
        logger.info("http.listening", metadata: ["address": .string("\(host):\(boundPort ?? port)")])
    }

    /// Stops serving (the connections in hand finish) and waits for the server to end.
    public func stop() {
        guard let task, let services else { return }
        let done = DispatchSemaphore(value: 0)
        Task {
            await services.triggerGracefulShutdown()
            _ = await task.result
            done.signal()
        }
        _ = done.wait(timeout: .now() + 5)
        try? group.syncShutdownGracefully()
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

public struct ListenerError: Error, CustomStringConvertible {
    public let description: String
}

/// Where the server's start left its result, for the thread that waits for it.
private final class BindOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var _port: Int?
    private var _error: Error?

    func set(port: Int?) { lock.withLock { _port = port } }
    func set(error: Error) { lock.withLock { _error = error } }
    var port: Int? { lock.withLock { _port } }
    var error: Error? { lock.withLock { _error } }
}
