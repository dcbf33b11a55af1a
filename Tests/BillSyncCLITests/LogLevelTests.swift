import BillSyncConfig
import BillSyncDaemon
import Logging
import Testing

/// A log line below the configured level is not built at all: its metadata (one a request at
/// debug) is not evaluated, and a reload that changes the level takes effect at once.
@Suite struct LogLevelTests {
    @Test func metadataOfALineBelowTheLevelIsNotBuiltAndAReloadChangesTheLevel() {
        let output = LogOutput(format: .logfmt, journald: false)
        var logger = Logger(label: "test") { _ in EventLogHandler(output: output) }
        var built = 0
        func metadata() -> Logger.Metadata {
            built += 1
            return ["n": "\(built)"]
        }
        output.setLevel(.info)
        logger.debug("test.debug", metadata: metadata())
        logger.trace("test.trace", metadata: metadata())
        #expect(built == 0)
        #expect(logger.logLevel == .info)
        output.setLevel(.debug)
        #expect(logger.logLevel == .trace)
        logger.debug("test.debug", metadata: metadata())
        #expect(built == 1)
        output.setLevel(.info)
        logger.debug("test.debug", metadata: metadata())
        #expect(built == 1)
        // A logger whose own level was set keeps it, whatever the output's.
        logger.logLevel = .warning
        output.setLevel(.debug)
        logger.info("test.info", metadata: metadata())
        #expect(built == 1)
        #expect(logger.logLevel == .warning)
    }
}
