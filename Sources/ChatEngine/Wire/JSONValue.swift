import Foundation

/// Any JSON value, kept exactly: used for items and fields chatbench does not model (function calls,
/// reasoning, unknown item types), so nothing a server or the Agents SDK wrote is dropped.
public enum JSONValue: Codable, Equatable, Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else if let o = try? c.decode([String: JSONValue].self) { self = .object(o) }
        else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a JSON value") }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// From a JSONSerialization object (much faster than decoding through Codable's trial and error).
    public init(any: Any) {
        switch any {
        case let n as NSNumber:
            switch n.objCType.pointee {
            case 0x63: self = .bool(n.boolValue)              // "c": JSON true/false
            case 0x64, 0x66: self = .double(n.doubleValue)    // "d", "f"
            default: self = .int(n.int64Value)
            }
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(a.map(JSONValue.init(any:)))
        case let d as [String: Any]: self = .object(d.mapValues(JSONValue.init(any:)))
        default: self = .null
        }
    }

    /// Parses JSON text; nil when it is not JSON.
    public static func parse(_ text: String) -> JSONValue? { JSONParser.parse(text) }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var intValue: Int? {
        switch self {
        case .int(let i): return Int(i)
        case .double(let d): return Int(exactly: d)   // nil for 1e300, NaN or 1000.7: never a trap
        default: return nil
        }
    }

    public var isNumber: Bool {
        switch self { case .int, .double: return true; default: return false }
    }

    /// Why this value is not an `Int` (nil when it is one), as a request error says it.
    public var integerProblem: String? {
        switch self {
        case .int: return nil
        case .double(let d) where d.isFinite && Int(exactly: d) != nil: return nil
        case .double(let d) where !d.isFinite || d.magnitude >= 0x1p63: return d > 0 ? "the number is too large" : "the number is too small"
        case .double: return "expected an integer, got a decimal number"
        default: return "expected an integer"
        }
    }

    /// This value with the one at `path` replaced (unchanged when the path leaves it).
    public func replacing(_ path: ArraySlice<CodingKey>, with new: JSONValue) -> JSONValue {
        guard let key = path.first else { return new }
        switch self {
        case .array(var a):
            guard let i = key.intValue, a.indices.contains(i) else { return self }
            a[i] = a[i].replacing(path.dropFirst(), with: new)
            return .array(a)
        case .object(var o):
            guard key.intValue == nil, let v = o[key.stringValue] else { return self }
            o[key.stringValue] = v.replacing(path.dropFirst(), with: new)
            return .object(o)
        default: return self
        }
    }

    /// The value at a decoding path (object keys, array indexes); nil when the path leaves the value.
    public func at(_ path: [CodingKey]) -> JSONValue? {
        var v: JSONValue? = self
        for key in path {
            if let i = key.intValue { v = v?.arrayValue.flatMap { i < $0.count ? $0[i] : nil } } else { v = v?[key.stringValue] }
        }
        return v
    }
}

/// The one place JSON is encoded and decoded for the wire and the stores.
public enum WireJSON {
    /// Sorted keys make request bodies (and so `request_bytes`) deterministic.
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    public static func encode<T: Encodable>(_ value: T) throws -> Data { try encoder().encode(value) }

    public static func encodeString<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try JSONDecoder().decode(type, from: data)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decode(type, from: Data(text.utf8))
    }
}
