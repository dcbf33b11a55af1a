import Foundation

/// Resolves a ``KeyReference`` to the key text. Errors name the reference, never the key.
public enum KeyReader {
    public static func read(
        _ ref: KeyReference, source: String, file: String,
        environment: [String: String] = ProcessInfo.processInfo.environment, keyName: String = "api_key"
    ) throws(ConfigError) -> String {
        // `source nf.api_key_file`, or a top-level key's own name when `source` is empty
        let prefix = source.isEmpty ? "" : "source \(source)."
        switch ref {
        case .inline(let key):
            guard !key.isEmpty else { throw ConfigError(file: file, key: "\(prefix)\(keyName)", problem: "is empty") }
            return key
        case .env(let name):
            guard let value = environment[name] else {
                throw ConfigError(
                    file: file, key: "\(prefix)\(keyName)_env", problem: "environment variable \(name) is not set")
            }
            let key = value.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !key.isEmpty else {
                throw ConfigError(
                    file: file, key: "\(prefix)\(keyName)_env", problem: "environment variable \(name) is empty")
            }
            return key
        case .file(let path):
            let resolved = resolve(path, environment: environment)
            guard FileManager.default.fileExists(atPath: resolved) else {
                throw ConfigError(
                    file: file, key: "\(prefix)\(keyName)_file", problem: "key file \(resolved) does not exist")
            }
            guard let data = FileManager.default.contents(atPath: resolved) else {
                throw ConfigError(
                    file: file, key: "\(prefix)\(keyName)_file",
                    problem: "key file \(resolved) cannot be read (permissions?)")
            }
            let key = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !key.isEmpty else {
                throw ConfigError(
                    file: file, key: "\(prefix)\(keyName)_file", problem: "key file \(resolved) is empty")
            }
            return key
        }
    }

    /// A relative name is looked up in `$CREDENTIALS_DIRECTORY` (systemd's LoadCredential=)
    /// when that is set.
    public static func resolve(_ path: String, environment: [String: String]) -> String {
        if !path.hasPrefix("/"), let dir = environment["CREDENTIALS_DIRECTORY"] { return dir + "/" + path }
        return path
    }

    /// A key file readable by group or others is worth a warning.
    public static func permissionWarning(_ ref: KeyReference, source: String, environment: [String: String]) -> String?
    {
        guard case .file(let path) = ref else { return nil }
        let resolved = resolve(path, environment: environment)
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: resolved),
            let mode = attrs[.posixPermissions] as? Int
        else { return nil }
        if mode & 0o077 != 0 {
            return
                "source \(source): key file \(resolved) is readable by group or others (mode \(String(mode, radix: 8))); chmod 600 it"
        }
        return nil
    }
}
