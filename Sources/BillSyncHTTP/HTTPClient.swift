import BillSyncCore
import CCurl
import Foundation

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lowercased; a repeated header keeps its last value.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// A request failed below HTTP: no connection, timeout, reset, or a body past the cap.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case connect, timeout, reset, bodyTooLarge, aborted, other }
    public let kind: Kind
    public let message: String
    public var description: String { message }
}

public struct HTTPClientOptions: Sendable {
    public var connectTimeoutMs: Int = 10_000
    public var totalTimeoutMs: Int = 120_000
    public var maxBodyBytes: Int = 64 << 20
    public var userAgent: String = "billsync/1.0"

    public init() {}
}

private let curlGlobalInit: Void = { _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

/// Accumulates one response; handed to libcurl's callbacks as their user data.
private final class ResponseSink {
    var body: [UInt8] = []
    var headers: [String: String] = [:]
    var status = 0
    let maxBody: Int
    var overflowed = false

    init(maxBody: Int) { self.maxBody = maxBody }
}

private let writeCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, user in
    let sink = Unmanaged<ResponseSink>.fromOpaque(user!).takeUnretainedValue()
    let n = size * count
    if sink.body.count + n > sink.maxBody {
        sink.overflowed = true
        return 0
    }
    if let data, n > 0 {
        data.withMemoryRebound(to: UInt8.self, capacity: n) {
            sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n))
        }
    }
    return n
}

private let headerCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, user in
    let sink = Unmanaged<ResponseSink>.fromOpaque(user!).takeUnretainedValue()
    let n = size * count
    guard let data, n > 0 else { return n }
    data.withMemoryRebound(to: UInt8.self, capacity: n) { p in
        readHeaderLine(UnsafeBufferPointer(start: p, count: n), into: sink)
    }
    return n
}

/// One header line as libcurl hands it over (with its CRLF): a status line starts the
/// headers over (a redirect or 100-continue came first); `Name: value` is kept with the name
/// lowercased and the value without surrounding blanks.
private func readHeaderLine(_ line: UnsafeBufferPointer<UInt8>, into sink: ResponseSink) {
    if line.starts(with: "HTTP/".utf8) {
        sink.headers = [:]
        var i = 0
        while i < line.count && line[i] != UInt8(ascii: " ") { i += 1 }
        while i < line.count && line[i] == UInt8(ascii: " ") { i += 1 }
        var code = 0
        var digits = 0
        while i < line.count, digits < 3, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(line[i]) {
            code = code * 10 + Int(line[i] - UInt8(ascii: "0"))
            digits += 1
            i += 1
        }
        if digits == 3 { sink.status = code }
    } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
        func blank(_ b: UInt8) -> Bool {
            b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") || b == UInt8(ascii: "\n")
        }
        var start = colon + 1
        var end = line.count
        while start < end && blank(line[start]) { start += 1 }
        while end > start && blank(line[end - 1]) { end -= 1 }
        let name = String(
            decoding: line[..<colon].map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 + 32 : $0 },
            as: UTF8.self)
        sink.headers[name] = String(decoding: UnsafeBufferPointer(rebasing: line[start..<end]), as: UTF8.self)
    }
}

private let progressCallback:
    @convention(c) (UnsafeMutableRawPointer?, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> Int32 = {
        user, _, _, _, _ in
        let stop = Unmanaged<StopFlag>.fromOpaque(user!).takeUnretainedValue()
        return stop.isSet ? 1 : 0
    }

/// One libcurl easy handle, reused for every request of one source so that the
/// connection stays alive. Not thread-safe: one source's sync owns it.
public final class HTTPClient {
    private let handle: UnsafeMutableRawPointer
    public let options: HTTPClientOptions

    private let stop: StopFlag?

    /// With `stop`, a request in flight is abandoned as soon as the flag is set.
    public init(options: HTTPClientOptions = HTTPClientOptions(), stop: StopFlag? = nil) {
        _ = curlGlobalInit
        self.options = options
        self.stop = stop
        handle = curl_easy_init()
        if let stop {
            _ = bs_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
            _ = bs_curl_setopt_xferinfo(handle, progressCallback)
            _ = bs_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, Unmanaged.passUnretained(stop).toOpaque())
        }
        _ = bs_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = bs_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1)
        _ = bs_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2)
        _ = bs_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, options.connectTimeoutMs)
        _ = bs_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, options.totalTimeoutMs)
        _ = bs_curl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1)
        _ = bs_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        _ = bs_curl_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, "")
        _ = bs_curl_setopt_string(handle, CURLOPT_USERAGENT, options.userAgent)
        _ = bs_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = bs_curl_setopt_write(handle, writeCallback)
        _ = bs_curl_setopt_header(handle, headerCallback)
    }

    deinit { curl_easy_cleanup(handle) }

    /// Performs a GET and returns whatever HTTP status came back; only transport
    /// failures throw.
    public func get(_ url: String, headers: [(String, String)]) throws(TransportError) -> HTTPResponse {
        try perform(url, headers: headers, body: nil)
    }

    /// Performs a POST of `body` (sent as it is, with the headers given) and returns whatever
    /// HTTP status came back; only transport failures throw.
    public func post(_ url: String, headers: [(String, String)], body: [UInt8]) throws(TransportError)
        -> HTTPResponse
    {
        try perform(url, headers: headers, body: body)
    }

    private func perform(_ url: String, headers: [(String, String)], body: [UInt8]?) throws(TransportError)
        -> HTTPResponse
    {
        let sink = ResponseSink(maxBody: options.maxBodyBytes)
        let user = Unmanaged.passUnretained(sink).toOpaque()
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for (name, value) in headers { list = curl_slist_append(list, "\(name): \(value)") }
        list = curl_slist_append(list, "Accept: application/json")
        defer { curl_slist_free_all(list) }
        _ = bs_curl_setopt_string(handle, CURLOPT_URL, url)
        _ = bs_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, list)
        _ = bs_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, user)
        _ = bs_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, user)
        var payload = body ?? []
        let code = payload.withUnsafeMutableBytes { bytes in
            if body != nil {
                _ = bs_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, bytes.count)
                _ = bs_curl_setopt_pointer(
                    handle, CURLOPT_POSTFIELDS, bytes.baseAddress ?? UnsafeMutableRawPointer(user))
            } else {
                _ = bs_curl_setopt_long(handle, CURLOPT_HTTPGET, 1)
            }
            return withExtendedLifetime(sink) { curl_easy_perform(handle) }
        }
        _ = bs_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, nil)
        if body != nil { _ = bs_curl_setopt_long(handle, CURLOPT_HTTPGET, 1) }
        if code != CURLE_OK {
            if sink.overflowed {
                throw TransportError(
                    kind: .bodyTooLarge, message: "response body larger than \(options.maxBodyBytes) bytes")
            }
            let text = String(cString: curl_easy_strerror(code))
            let kind: TransportError.Kind
            switch code {
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST: kind = .connect
            case CURLE_OPERATION_TIMEDOUT: kind = .timeout
            case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE: kind = .reset
            case CURLE_ABORTED_BY_CALLBACK: kind = .aborted
            default: kind = .other
            }
            throw TransportError(kind: kind, message: "\(text) (curl \(code.rawValue))")
        }
        var status = 0
        _ = bs_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status == 0 ? sink.status : status, headers: sink.headers, body: sink.body)
    }
}
