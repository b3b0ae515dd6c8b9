import CSQLite
import Foundation

/// A value SQLite can store. Binding and reading are typed through this enum.
public enum SQLValue: Sendable, Equatable, Hashable {
    case null
    case integer(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])

    public var int: Int? {
        switch self {
        case .integer(let v): return Int(v)
        // A REAL can be what SQLite made of an integer sum that overflowed: clamp, never trap.
        case .double(let v): return v.isNaN ? nil : (v >= 9.2e18 ? Int.max : (v <= -9.2e18 ? Int.min : Int(v)))
        case .text(let s): return Int(s)
        default: return nil
        }
    }
    public var int64: Int64? { int.map(Int64.init) }
    public var double: Double? {
        switch self {
        case .integer(let v): return Double(v)
        case .double(let v): return v
        case .text(let s): return Double(s)
        default: return nil
        }
    }
    public var string: String? {
        switch self {
        case .text(let s): return s
        case .integer(let v): return String(v)
        case .double(let v): return String(v)
        case .blob(let b): return String(decoding: b, as: UTF8.self)
        case .null: return nil
        }
    }
    public var bytes: [UInt8]? {
        switch self {
        case .blob(let b): return b
        case .text(let s): return Array(s.utf8)
        default: return nil
        }
    }
    public var isNull: Bool { self == .null }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(floatLiteral value: Double) { self = .double(value) }
}

public extension SQLValue {
    init(_ v: String?) { self = v.map { .text($0) } ?? .null }
    init(_ v: Int?) { self = v.map { .integer(Int64($0)) } ?? .null }
    init(_ v: Double?) { self = v.map { .double($0) } ?? .null }
    init(_ v: Bool?) { self = v.map { .integer($0 ? 1 : 0) } ?? .null }
}

/// Column names of a result, shared by its rows, with an index for lookups by name.
public final class Columns: Sendable {
    public let names: [String]
    let index: [String: Int]
    init(_ names: [String]) {
        self.names = names
        index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    }
}

/// One row of a query result: values by position or by column name.
public struct Row: Sendable {
    public let columns: Columns
    public let values: [SQLValue]
    public subscript(_ index: Int) -> SQLValue { values[index] }
    public subscript(_ name: String) -> SQLValue {
        guard let i = columns.index[name] else { return .null }
        return values[i]
    }
}
