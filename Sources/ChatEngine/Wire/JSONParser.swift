import Foundation

/// A strict JSON parser from UTF-8 bytes straight to `JSONValue` (RFC 8259: one value, optional
/// whitespace around it). Several times faster than JSONSerialization plus bridging on Linux; the
/// store reads every item through it.
struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    var depth = 0
    static let maxDepth = 512

    struct Failure: Error {}

    static func parse(_ text: String) -> JSONValue? {
        var text = text
        return text.withUTF8 { buf in
            var p = JSONParser(bytes: buf)
            guard let v = try? p.value() else { return nil }
            p.ws()
            return p.i == buf.count ? v : nil
        }
    }

    mutating func ws() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    mutating func value() throws -> JSONValue {
        ws()
        guard i < bytes.count else { throw Failure() }
        switch bytes[i] {
        case 0x7B: return try object()
        case 0x5B: return try array()
        case 0x22: return .string(try string())
        case 0x74: try literal("true"); return .bool(true)
        case 0x66: try literal("false"); return .bool(false)
        case 0x6E: try literal("null"); return .null
        default: return try number()
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw Failure() }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { throw Failure() }
        i += n
    }

    mutating func object() throws -> JSONValue {
        depth += 1
        guard depth <= Self.maxDepth else { throw Failure() }
        defer { depth -= 1 }
        i += 1
        var out: [String: JSONValue] = [:]
        ws()
        if i < bytes.count, bytes[i] == 0x7D { i += 1; return .object(out) }
        while true {
            ws()
            guard i < bytes.count, bytes[i] == 0x22 else { throw Failure() }
            let key = try string()
            ws()
            guard i < bytes.count, bytes[i] == 0x3A else { throw Failure() }
            i += 1
            out[key] = try value()
            ws()
            guard i < bytes.count else { throw Failure() }
            if bytes[i] == 0x2C { i += 1; continue }
            if bytes[i] == 0x7D { i += 1; return .object(out) }
            throw Failure()
        }
    }

    mutating func array() throws -> JSONValue {
        depth += 1
        guard depth <= Self.maxDepth else { throw Failure() }
        defer { depth -= 1 }
        i += 1
        var out: [JSONValue] = []
        ws()
        if i < bytes.count, bytes[i] == 0x5D { i += 1; return .array(out) }
        while true {
            out.append(try value())
            ws()
            guard i < bytes.count else { throw Failure() }
            if bytes[i] == 0x2C { i += 1; continue }
            if bytes[i] == 0x5D { i += 1; return .array(out) }
            throw Failure()
        }
    }

    mutating func string() throws -> String {
        i += 1
        let start = i
        // Fast path: no escapes.
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x22 {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                i += 1
                return s
            }
            if b == 0x5C { break }
            if b < 0x20 { throw Failure() }
            i += 1
        }
        var out = [UInt8](bytes[start..<i])
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x22 { i += 1; return String(decoding: out, as: UTF8.self) }
            if b < 0x20 { throw Failure() }
            if b != 0x5C { out.append(b); i += 1; continue }
            i += 1
            guard i < bytes.count else { throw Failure() }
            let e = bytes[i]
            i += 1
            switch e {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x2F: out.append(0x2F)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var code = try hex4()
                if (0xD800...0xDBFF).contains(code), i + 1 < bytes.count, bytes[i] == 0x5C, bytes[i + 1] == 0x75 {
                    i += 2
                    let low = try hex4()
                    if (0xDC00...0xDFFF).contains(low) { code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00) }
                    else { out += Array(String(Unicode.Scalar(0xFFFD)!).utf8); code = low }
                }
                let scalar = Unicode.Scalar(code) ?? Unicode.Scalar(0xFFFD)!  // a lone surrogate becomes U+FFFD
                out += Array(String(scalar).utf8)
            default: throw Failure()
            }
        }
        throw Failure()
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw Failure() }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw Failure()
            }
            v = v * 16 + d
            i += 1
        }
        return v
    }

    mutating func number() throws -> JSONValue {
        let start = i
        if i < bytes.count, bytes[i] == 0x2D { i += 1 }
        guard i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 else { throw Failure() }
        if bytes[i] == 0x30 { i += 1 } else { while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 } }
        var isInt = true
        if i < bytes.count, bytes[i] == 0x2E {
            isInt = false
            i += 1
            let digits = i
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }
            guard i > digits else { throw Failure() }
        }
        if i < bytes.count, bytes[i] == 0x65 || bytes[i] == 0x45 {
            isInt = false
            i += 1
            if i < bytes.count, bytes[i] == 0x2B || bytes[i] == 0x2D { i += 1 }
            let digits = i
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }
            guard i > digits else { throw Failure() }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        if isInt, let v = Int64(text) { return .int(v) }
        guard let d = Double(text) else { throw Failure() }
        return .double(d)
    }
}
