import BillSyncCore
import BillSyncProviders

extension ConfigLoader {
    /// A source's `webhook_secret_*` keys, allowed only for providers whose webhooks billsync
    /// can verify.
    static func parseWebhook(_ r: TableReader, into source: inout SourceConfig) throws(ConfigError) {
        let secrets = [
            try r.string("webhook_secret_file").map(KeyReference.file),
            try r.string("webhook_secret_env").map(KeyReference.env),
        ].compactMap { $0 }
        if !secrets.isEmpty {
            guard let scheme = source.descriptor.webhooks else {
                throw r.bad(
                    "webhook_secret_file", "\(source.provider.rawValue) sends no webhooks billsync can verify")
            }
            guard secrets.count == 1 else {
                throw r.bad("webhook_secret_file", "set one of webhook_secret_file and webhook_secret_env, not both")
            }
            source.webhookSecret = secrets[0]
            source.webhookSecretPrevious = try r.string("webhook_secret_previous_file").map(KeyReference.file)
            if let v = try r.duration("webhook_min_interval") { source.webhookMinInterval = v }
            if case .secretHeader(let header) = scheme {
                source.webhookSecretHeader = try r.string("webhook_secret_header") ?? header
            } else if try r.string("webhook_secret_header") != nil {
                throw r.bad(
                    "webhook_secret_header", "\(source.provider.rawValue) signs its webhooks; it sends no secret header"
                )
            }
        } else if try r.string("webhook_secret_previous_file") != nil {
            throw r.bad("webhook_secret_file", "required with webhook_secret_previous_file")
        } else if try r.string("webhook_secret_header") != nil {
            throw r.bad("webhook_secret_file", "required with webhook_secret_header")
        }
    }
}
