import BillSyncCore
import Dispatch
import Foundation

/// SIGTERM and SIGINT set a ``StopFlag`` instead of killing the process, so that the page in
/// hand is finished and committed first.
public final class StopSignals: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []

    public init(_ stop: StopFlag, onStop: @escaping @Sendable () -> Void = {}) {
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                stop.set()
                onStop()
            }
            source.resume()
            sources.append(source)
        }
    }
}
