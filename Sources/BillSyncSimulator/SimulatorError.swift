/// Why the simulator could not start.
public enum SimulatorError: Error, Sendable, CustomStringConvertible {
    case cannotListen(host: String, port: Int, reason: String)
    case alreadyRunning(port: Int)

    public var description: String {
        switch self {
        case .cannotListen(let host, let port, let reason): "cannot listen on \(host):\(port): \(reason)"
        case .alreadyRunning(let port): "the simulator is already listening on port \(port)"
        }
    }
}
