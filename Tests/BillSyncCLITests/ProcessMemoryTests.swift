import BillSyncDaemon
import Foundation
import Testing

@Suite struct ProcessMemoryTests {
    /// The file mappings listed in `/proc/self/maps`, read to its end.
    func fileMappings() throws -> Int {
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/self/maps"))
        defer { try? handle.close() }
        let text = String(decoding: try #require(try handle.readToEnd()), as: UTF8.self)
        return text.split(separator: "\n").filter { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return fields.count >= 6 && fields[5].hasPrefix("/")
        }.count
    }

    /// `/proc` files report size 0; a reader that trusts it sees only the first page of the
    /// mappings, and the daemon would hand back a quarter of what it could.
    @Test func releaseAdvisesEveryFileMappingNotOnlyTheFirstPageOfTheList() throws {
        let expected = try fileMappings()
        #expect(expected > 40, "a test binary maps more than one page of /proc/self/maps")
        let advised = ProcessMemory.release()
        ProcessMemory.resume()
        #expect(advised == expected)
    }
}
