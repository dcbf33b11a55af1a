import BillSyncConfig
import BillSyncCore
import Foundation
import Logging
import Synchronization

/// Where log lines go: stderr, and optionally a log file (reopened on SIGHUP).
public final class LogOutput: Sendable {
    struct State {
        var format: LogFormat
        var debug = false
        var file: FileHandle?
    }

    let state: Mutex<State>
    /// `state.debug`, readable without the lock: every log call asks (``lowestLevel``).
    private let debugShown = Atomic<Bool>(false)
    /// Under journald (`JOURNAL_STREAM` names our stderr): no timestamp, `<N>` priority prefix.
    public let journald: Bool

    public init(format: LogFormat, journald: Bool = LogOutput.stderrIsJournal()) {
        state = Mutex(State(format: format, file: nil))
        self.journald = journald
    }

    public func setFormat(_ format: LogFormat) { state.withLock { $0.format = format } }

    public func setLevel(_ level: LogLevel) {
        state.withLock { s in
            s.debug = level == .debug
            debugShown.store(s.debug, ordering: .relaxed)
        }
    }

    /// The lowest level a line is written at now: `trace` with `log_level = "debug"`, else
    /// `info`. A logger asks before it builds a line's metadata, so that a debug line (one a
    /// request) costs nothing when debug lines are not shown.
    public var lowestLevel: Logger.Level { debugShown.load(ordering: .relaxed) ? .trace : .info }

    /// Opens (or reopens, after rotation) the optional log file.
    public func openFile(_ path: String?) throws {
        var handle: FileHandle?
        if let path {
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640])
            }
            guard let h = FileHandle(forWritingAtPath: path) else {
                throw ConfigError(file: path, key: "log_file", problem: "cannot open the log file for writing")
            }
            h.seekToEndOfFile()
            handle = h
        }
        state.withLock { s in
            try? s.file?.close()
            s.file = handle
        }
    }

    public static func stderrIsJournal(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let value = env["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(2, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    func emit(level: Logger.Level, event: String, fields: [(String, String)]) {
        let now = Date()
        state.withLock { s in
            if level <= .debug && !s.debug { return }
            var line: String
            switch s.format {
            case .logfmt:
                var parts: [String] = []
                if !journald { parts.append("ts=" + Self.timestamp(now)) }
                parts.append("level=" + Self.levelName(level))
                for (k, v) in fields where k == "source" { parts.append("source=" + Self.logfmtValue(v)) }
                parts.append("event=" + Self.logfmtValue(event))
                for (k, v) in fields where k != "source" { parts.append(k + "=" + Self.logfmtValue(v)) }
                line = parts.joined(separator: " ")
            case .json:
                var out = "{"
                var first = true
                func add(_ k: String, _ v: String) {
                    if !first { out += "," }
                    first = false
                    JSONValue.writeQuoted(k, into: &out)
                    out += ":"
                    JSONValue.writeQuoted(v, into: &out)
                }
                if !journald { add("ts", Self.timestamp(now)) }
                add("level", Self.levelName(level))
                for (k, v) in fields where k == "source" { add(k, v) }
                add("event", event)
                for (k, v) in fields where k != "source" { add(k, v) }
                line = out + "}"
            }
            line = SecretRegistry.shared.redact(line)
            let stderrLine = (journald ? "<\(Self.priority(level))>" : "") + line + "\n"
            FileHandle.standardError.write(Data(stderrLine.utf8))
            if let file = s.file {
                let fileLine = (journald ? "ts=" + Self.timestamp(now) + " " : "") + line + "\n"
                file.write(Data(fileLine.utf8))
            }
        }
    }

    static func levelName(_ level: Logger.Level) -> String {
        level == .warning ? "warn" : level.rawValue
    }

    static func timestamp(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let frac = String(ms % 1000)
        return String(UTC.iso8601(ms / 1000).dropLast()) + "." + String(repeating: "0", count: 3 - frac.count) + frac
            + "Z"
    }

    /// Bare when safe, else double-quoted with `\"`, `\\`, `\n` escapes.
    static func logfmtValue(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.value < 0x20 || $0 == "\\" }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// swift-log handler: the message is the event name, metadata the fields.
public struct EventLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    /// The output's level (``LogOutput/lowestLevel``, which a reload changes), unless this
    /// logger's own was set.
    public var logLevel: Logger.Level {
        get { ownLevel ?? output.lowestLevel }
        set { ownLevel = newValue }
    }
    private var ownLevel: Logger.Level?
    let output: LogOutput

    public init(output: LogOutput) { self.output = output }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let fields = merged.keys.sorted().map { ($0, "\(merged[$0]!)") }
        output.emit(level: event.level, event: "\(event.message)", fields: fields)
    }
}
