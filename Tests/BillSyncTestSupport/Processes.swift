import Foundation
import Glibc

/// What a program printed and how it ended.
public struct ProcessResult {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Runs a program to completion with its output captured in files (no pipe deadlocks).
@discardableResult
public func runProcess(_ path: String, _ args: [String], env: [String: String] = [:]) throws -> ProcessResult {
    let process = try startProcess(path, args, env: env)
    process.process.waitUntilExit()
    return process.result()
}

/// A program started by ``startProcess(_:_:env:)``, its output going to files.
public final class RunningProcess: @unchecked Sendable {
    public let process: Process
    public let outPath: String
    public let errPath: String

    init(process: Process, outPath: String, errPath: String) {
        self.process = process
        self.outPath = outPath
        self.errPath = errPath
    }

    /// What it printed (read once it has ended; the files are removed).
    public func result() -> ProcessResult {
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
        return ProcessResult(status: process.terminationStatus, stdout: out, stderr: err)
    }
}

/// Starts a program without `BILLSYNC_CONFIG` and `JOURNAL_STREAM` from the environment.
public func startProcess(_ path: String, _ args: [String], env: [String: String] = [:]) throws -> RunningProcess {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = args
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "BILLSYNC_CONFIG")
    environment.removeValue(forKey: "JOURNAL_STREAM")
    for (k, v) in env { environment[k] = v }
    process.environment = environment
    let tmp = FileManager.default.temporaryDirectory.path + "/bs-proc-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: tmp + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: tmp + ".err", contents: nil)
    process.standardOutput = FileHandle(forWritingAtPath: tmp + ".out")
    process.standardError = FileHandle(forWritingAtPath: tmp + ".err")
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return RunningProcess(process: process, outPath: tmp + ".out", errPath: tmp + ".err")
}

/// The checkout these tests were built from.
public let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// A tool that `scripts/install-deps` puts in `.tools/bin` (the FOCUS validator, fava, the
/// Python with openpyxl).
public func installedTool(_ name: String) throws -> String {
    let path = repositoryRoot + "/.tools/bin/" + name
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw ToolMissing(description: "\(path) is missing: run scripts/install-deps")
    }
    return path
}

public struct ToolMissing: Error, CustomStringConvertible {
    public let description: String
}

/// A loopback TCP port that nothing listens on at the moment of asking.
public func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 ? getsockname(fd, pointer, &length) : -1
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
