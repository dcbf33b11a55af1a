import BillSyncConfig
import BillSyncCore
import BillSyncStore

/// `/readyz`: ready once the config and store are open and every source either succeeded in
/// its last sync or last succeeded (or, never having, the daemon started) less than two of its
/// poll intervals ago.
struct Readiness {
    struct Source {
        let name: String
        let ok: Bool
        let lastSuccess: Int64?
        let lastError: String?
        let failingFor: Int64?
        let ready: Bool
    }

    let sources: [Source]
    var ready: Bool { sources.allSatisfy(\.ready) }
    var failing: [String] { sources.filter { !$0.ready }.map(\.name) }

    static func check(config: Config, store: BillingStore, health: DaemonHealth, now: Int64) throws -> Readiness {
        var out: [Source] = []
        for source in config.sources {
            let s = try store.state(source: source.name, provider: source.provider.rawValue)
            let interval = Int64(source.pollInterval ?? config.pollInterval)
            let ok = s.lastSuccessAt != nil && s.lastError == nil
            let since = s.lastSuccessAt ?? health.startedAt
            let failingFor = ok ? nil : max(0, now - since)
            out.append(
                Source(
                    name: source.name, ok: ok, lastSuccess: s.lastSuccessAt, lastError: s.lastError,
                    failingFor: failingFor, ready: ok || (failingFor ?? 0) < 2 * interval))
        }
        return Readiness(sources: out)
    }

    var json: String {
        func q(_ s: String?) -> String {
            guard let s else { return "null" }
            var out = ""
            JSONValue.writeQuoted(s, into: &out)
            return out
        }
        let items = sources.map { s in
            "{\"source\":\(q(s.name)),\"ready\":\(s.ready),\"last_sync_ok\":\(s.ok),"
                + "\"last_success\":\(q(s.lastSuccess.map(UTC.iso8601))),\"last_error\":\(q(s.lastError)),"
                + "\"failing_for_seconds\":\(s.failingFor.map(String.init) ?? "null")}"
        }
        return "{\"ready\":\(ready),\"sources\":[" + items.joined(separator: ",") + "]}"
    }
}
