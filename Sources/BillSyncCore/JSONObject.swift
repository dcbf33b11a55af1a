/// A JSON object's members in document order. Provider objects have a handful of members, so
/// a linear scan beats hashing; a repeated name resolves to its last value, as in most parsers.
public struct JSONObject: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var names: [String] = []
    public private(set) var values: [JSONValue] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        for (name, value) in elements { self[name] = value }
    }

    init(reservingCapacity n: Int) {
        names.reserveCapacity(n)
        values.reserveCapacity(n)
    }

    /// Appends without looking for an earlier member of the same name (the parser's path).
    mutating func append(_ name: String, _ value: JSONValue) {
        names.append(name)
        values.append(value)
    }

    func index(of name: String) -> Int? {
        var i = names.count - 1
        while i >= 0 {
            if names[i] == name { return i }
            i -= 1
        }
        return nil
    }

    public subscript(name: String) -> JSONValue? {
        get { index(of: name).map { values[$0] } }
        set {
            if let i = index(of: name) {
                if let newValue {
                    values[i] = newValue
                } else {
                    names.remove(at: i)
                    values.remove(at: i)
                }
            } else if let newValue {
                append(name, newValue)
            }
        }
    }

    @discardableResult
    public mutating func removeValue(forKey name: String) -> JSONValue? {
        let old = self[name]
        self[name] = nil
        return old
    }

    /// Member names, each once, in document order.
    public var keys: [String] {
        if names.count < 2 { return names }
        if names.count <= 16 {
            // A handful of names: comparing each with those before it beats hashing them all.
            var repeated = false
            search: for i in 1..<names.count {
                for j in 0..<i where names[j] == names[i] {
                    repeated = true
                    break search
                }
            }
            if !repeated { return names }
        }
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }

    /// The members a reader sees, ordered by name as `String` orders them: for each name, where
    /// it first appears (its spelling) and where it last appears (its value), as `keys` and the
    /// subscript give them. ASCII names, nearly all there are, compare byte by byte: the same
    /// order, without Unicode normalisation.
    func canonicalOrder() -> [(name: Int, value: Int)] {
        var order: [(name: Int, value: Int)] = []
        order.reserveCapacity(names.count)
        var ascii = true
        if names.count <= 16 {
            search: for i in names.indices {
                let name = names[i]
                for j in 0..<i where names[j] == name { continue search }
                if ascii, !name.utf8.allSatisfy({ $0 < 0x80 }) { ascii = false }
                var value = i
                for j in (i + 1)..<names.count where names[j] == name { value = j }
                order.append((i, value))
            }
        } else {
            var first: [String: Int] = [:]
            for i in names.indices {
                if let at = first[names[i]] {
                    order[at].value = i
                } else {
                    first[names[i]] = order.count
                    if ascii, !names[i].utf8.allSatisfy({ $0 < 0x80 }) { ascii = false }
                    order.append((i, i))
                }
            }
        }
        if ascii {
            order.sort { names[$0.name].utf8.lexicographicallyPrecedes(names[$1.name].utf8) }
        } else {
            order.sort { names[$0.name] < names[$1.name] }
        }
        return order
    }

    public var isEmpty: Bool { names.isEmpty }
    public var count: Int { keys.count }

    public func makeIterator() -> AnyIterator<(key: String, value: JSONValue)> {
        let keys = self.keys
        var i = 0
        return AnyIterator {
            guard i < keys.count else { return nil }
            defer { i += 1 }
            return (keys[i], self[keys[i]]!)
        }
    }

    public func compactMapValues<T>(_ transform: (JSONValue) throws -> T?) rethrows -> [String: T] {
        var out: [String: T] = [:]
        for (key, value) in self { if let t = try transform(value) { out[key] = t } }
        return out
    }

    /// Equal when they have the same members, whatever their order.
    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        let keys = a.keys
        guard keys.count == b.count else { return false }
        return keys.allSatisfy { a[$0] == b[$0] }
    }
}
