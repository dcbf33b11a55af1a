import Synchronization

/// The provider simulator: Northflank, Typesense Cloud and UsageFlow APIs on one loopback
/// port, with deterministic generated data, fault injection, request counts and a
/// ground-truth dump under `/_sim/`.
///
///     var options = SimulatorOptions()
///     options.now = 1_793_491_200
///     let simulator = Simulator(options: options)
///     let port = try simulator.start()
///     defer { simulator.stop() }
///
/// Thread-safety: every method may be called from any thread.
///
/// The simulator shares no code with billsync on purpose (its own HTTP server, JSON writer,
/// amounts, dates and provider names): it is the other side of the wire, so that a bug in
/// billsync's reading cannot be mirrored by the same bug in what it reads.
public final class Simulator: Sendable {
    private let gateway: ProviderGateway
    private let server = Mutex<HTTPServer?>(nil)

    public init(options: SimulatorOptions) {
        gateway = ProviderGateway(options: options)
    }

    /// Binds `host:port` (0: any free port), starts serving, and returns the bound port.
    public func start(host: String = "127.0.0.1", port: Int = 0) throws -> Int {
        let gateway = gateway
        let control = ControlAPI(gateway: gateway)
        return try server.withLock { (server) throws(SimulatorError) -> Int in
            if let server { throw .alreadyRunning(port: server.port) }
            let started = try HTTPServer(host: host, port: port) { request in
                request.path == "/_sim" || request.path.hasPrefix("/_sim/")
                    ? control.respond(to: request) : gateway.serve(request)
            }
            started.start()
            server = started
            return started.port
        }
    }

    /// Stops listening and closes every connection; returns at once. `start` may follow.
    public func stop() {
        server.withLock { server in
            server?.stop()
            server = nil
        }
    }

    /// The bound port while running, 0 otherwise.
    public var port: Int {
        server.withLock { $0?.port ?? 0 }
    }

    deinit {
        stop()
    }
}
