import BillSyncCore
import BillSyncHTTP
import Foundation

/// The HTTP side every provider shares: builds URLs under the base URL, adds the auth
/// header, turns non-2xx answers into ``ProviderError`` with the provider's own message.
public final class ProviderClient {
    public let http: PacedHTTP
    let baseURL: String
    let authHeader: (String, String)
    private let secret: String

    public init(http: PacedHTTP, baseURL: String, authHeader: (String, String), secret: String) {
        self.http = http
        self.baseURL = baseURL
        self.authHeader = authHeader
        self.secret = secret
    }

    /// `path` is below the base URL and starts with `/`.
    public func getJSON(_ path: String, query: [(String, String)] = []) throws(ProviderError) -> JSONValue {
        try Self.parse(try get(path, query: query), endpoint: path)
    }

    /// The body of a 2xx answer.
    public func get(_ path: String, query: [(String, String)] = []) throws(ProviderError) -> [UInt8] {
        var url = baseURL + path
        if !query.isEmpty {
            url += "?" + query.map { "\($0.0)=\(Self.percentEncode($0.1))" }.joined(separator: "&")
        }
        let response: HTTPResponse
        do { response = try http.get(url, headers: [authHeader]) } catch {
            if case .stopped = error { throw .stopped }
            throw .transport(endpoint: path, failure: redact(error.description))
        }
        guard (200..<300).contains(response.status) else {
            throw .http(endpoint: path, status: response.status, message: redact(Self.errorMessage(response.body)))
        }
        return response.body
    }

    /// A response body as JSON, or the error that names the endpoint.
    public static func parse(_ body: [UInt8], endpoint: String) throws(ProviderError) -> JSONValue {
        do { return try JSONValue.parse(body) } catch {
            throw .malformedJSON(endpoint: endpoint, detail: error.description)
        }
    }

    /// Removes the key from any text that might echo it back.
    public func redact(_ text: String) -> String {
        guard secret.count >= 4 else { return text }
        return text.replacingOccurrences(of: secret, with: "[redacted]")
    }

    /// The message out of the providers' error bodies: `{"error":"..."}`,
    /// `{"error":{"message":"..."}}`, `{"message":"..."}`; else the start of the text.
    static func errorMessage(_ body: [UInt8]) -> String {
        if let json = try? JSONValue.parse(body), case .object(let members) = json {
            if case .string(let s)? = members["message"] { return s }
            if case .string(let s)? = members["error"] { return s }
            if case .object(let inner)? = members["error"], case .string(let s)? = inner["message"] { return s }
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self)
            .filter { !$0.isNewline }
        return text.isEmpty ? "(empty body)" : text
    }

    static func percentEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case 48...57, 65...90, 97...122, 45, 46, 95, 126: out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = String(b, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
