/// Splits one logfmt line into its pairs; nil when the line is not valid logfmt.
public func parseLogfmt(_ line: String) -> [String: String]? {
    var out: [String: String] = [:]
    var chars = Array(line.unicodeScalars)[...]
    while !chars.isEmpty {
        while chars.first == " " { chars = chars.dropFirst() }
        if chars.isEmpty { break }
        guard let eq = chars.firstIndex(of: "=") else { return nil }
        let key = String(String.UnicodeScalarView(chars[chars.startIndex..<eq]))
        guard !key.isEmpty,
            key.unicodeScalars.allSatisfy({
                $0 == "_" || $0 == "." || ($0.properties.isAlphabetic && $0.isASCII) || ("0"..."9").contains($0)
            })
        else { return nil }
        chars = chars[(eq + 1)...]
        var value = ""
        if chars.first == "\"" {
            chars = chars.dropFirst()
            var closed = false
            while let c = chars.first {
                chars = chars.dropFirst()
                if c == "\\" {
                    guard let e = chars.first else { return nil }
                    chars = chars.dropFirst()
                    switch e {
                    case "n": value += "\n"
                    case "r": value += "\r"
                    case "t": value += "\t"
                    default: value.unicodeScalars.append(e)
                    }
                } else if c == "\"" {
                    closed = true
                    break
                } else {
                    value.unicodeScalars.append(c)
                }
            }
            guard closed, chars.isEmpty || chars.first == " " else { return nil }
        } else {
            while let c = chars.first, c != " " {
                guard c != "\"" else { return nil }
                value.unicodeScalars.append(c)
                chars = chars.dropFirst()
            }
        }
        out[key] = value
    }
    return out
}
