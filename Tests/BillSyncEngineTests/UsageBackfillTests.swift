import BillSyncCore
import Foundation
import Testing

@testable import BillSyncEngine

/// The usage windows' rules, ``UsageBackfill`` driven with a ``FakeProvider`` (windows of six
/// hours, three hours a page) and a store in a temporary file.
@Suite struct UsageBackfillTests {
    static let now: Int64 = 1_800_000_000  // a whole hour

    /// Every hour in `[from, to)`, one cent of CPU each.
    static func hours(from: Int64, to: Int64) -> [UsageHour] {
        stride(from: from, to: to, by: 3600).map { start in
            UsageHour(
                hourStart: start, currency: "USD", paasTotal: ExactDecimal(1), cpu: ExactDecimal(1),
                memory: ExactDecimal(0), storage: ExactDecimal(0), gpu: ExactDecimal(0), byocTotal: ExactDecimal(0),
                byocVCPU: ExactDecimal(0), byocMemory: ExactDecimal(0), byocGPUMemory: ExactDecimal(0),
                byocCluster: ExactDecimal(0))
        }
    }

    static func page(_ hoursBeforeNow: Int64, _ cursor: String = "-") -> String {
        "\(UTC.iso8601(now - hoursBeforeNow * 3600))/\(cursor)"
    }

    func harness(hoursBack: Int64) throws -> EngineHarness {
        let fake = FakeProvider(invoices: [])
        fake.usage = Self.hours(from: Self.now - 24 * 3600, to: Self.now)
        let h = try EngineHarness(fake)
        h.now = Self.now
        h.usageStart = Self.now - hoursBack * 3600
        return h
    }

    @Test func aBackfillReadsEveryWindowForwardPageByPageThenOnlyTheLookback() throws {
        let h = try harness(hoursBack: 12)
        #expect(h.backfill().pages == [Self.page(12), Self.page(12, "u2"), Self.page(6), Self.page(6, "u2")])
        #expect(h.usageHours == 12)
        #expect(h.backfill().pages == [], "nothing after the last whole hour, no lookback")
        h.lookback = 3 * 3600
        #expect(h.backfill().pages == [Self.page(3)])
        #expect(h.usageHours == 12, "the hours read again replace themselves")
    }

    @Test func aFailedPageResumesAtItsCursorInsideItsWindow() throws {
        let h = try harness(hoursBack: 12)
        h.fake.failingUsage = Self.page(6, "u2")
        let failed = h.backfill()
        #expect(failed.error != nil)
        #expect(h.usageHours == 9, "the pages before the failure stay committed")
        h.fake.failingUsage = nil
        #expect(h.backfill().pages == [Self.page(6, "u2")])
        #expect(h.usageHours == 12)
    }

    @Test func usageStartMovedBackReadsTheEarlierHoursToo() throws {
        let h = try harness(hoursBack: 6)
        #expect(h.backfill().pages == [Self.page(6), Self.page(6, "u2")])
        h.usageStart = Self.now - 12 * 3600
        #expect(h.backfill().pages == [Self.page(12), Self.page(12, "u2"), Self.page(6), Self.page(6, "u2")])
        #expect(h.usageHours == 12)
    }

    /// A provider that pages any range by cursor (Northflank) is read as one window: with hours
    /// missing, every page but the last is still full, so the backfill makes
    /// ⌈hours that exist / hours a page⌉ requests; a failure resumes at its cursor in that window.
    @Test func anUnboundedWindowReadsFullPagesAcrossMissingHours() throws {
        let h = try harness(hoursBack: 24)
        h.fake.windowHours = nil
        let missing: Set<Int64> = [2, 3, 4, 9, 10, 16, 17, 18, 19, 20].map { Self.now - $0 * 3600 }.reduce(into: []) {
            $0.insert($1)
        }
        h.fake.usage.removeAll { missing.contains($0.hourStart) }
        #expect(h.fake.usage.count == 14)
        h.fake.failingUsage = Self.page(24, "u3")
        #expect(h.backfill().error != nil)
        #expect(h.usageHours == 6)
        h.fake.failingUsage = nil
        #expect(h.backfill().pages == [Self.page(24, "u3"), Self.page(24, "u4"), Self.page(24, "u5")])
        #expect(h.usageHours == 14)
        h.fake.reset()
        h.lookback = 48 * 3600
        #expect(h.backfill().pages.count == 5, "⌈14 / 3⌉ requests for the whole range")
    }

    @Test func theDefaultStartIsThePreviousMonthsFirstHour() {
        // Across a year's end.
        let mid = UTC.days(year: 2027, month: 1, day: 15) * 86400 + 10 * 3600
        #expect(UTC.iso8601(UsageBackfill.defaultUsageStart(now: mid)) == "2026-12-01T00:00:00Z")
        let march = UTC.days(year: 2027, month: 3, day: 31) * 86400 + 86399
        #expect(UTC.iso8601(UsageBackfill.defaultUsageStart(now: march)) == "2027-02-01T00:00:00Z")
    }
}
