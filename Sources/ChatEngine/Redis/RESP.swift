import Foundation

/// One reply in Redis's wire protocol (RESP2). Bulk strings stay bytes: a list element written by
/// another program may not be UTF-8, and the caller decides what to do with it.
public enum RESPValue: Equatable, Sendable {
    case simple(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8])
    case array([RESPValue])
    /// `$-1` and `*-1`: a missing key, a WATCH-aborted EXEC.
    case null

    public var string: String? {
        switch self {
        case .simple(let s): return s
        case .bulk(let b): return String(validating: b, as: UTF8.self)
        default: return nil
        }
    }
    public var int: Int64? {
        switch self {
        case .integer(let i): return i
        case .bulk, .simple: return string.flatMap { Int64($0) }
        default: return nil
        }
    }
    public var array: [RESPValue]? { if case .array(let a) = self { return a }; return nil }
}

/// The encoding of a command: an array of bulk strings.
enum RESPEncoder {
    static func command(_ args: [[UInt8]]) -> [UInt8] {
        var out = Array("*\(args.count)\r\n".utf8)
        for a in args {
            out += Array("$\(a.count)\r\n".utf8)
            out += a
            out += [13, 10]
        }
        return out
    }
}

/// Reads RESP replies from a byte source (the socket, or a byte array in tests). Everything the other
/// end sends is untrusted: lengths, counts, nesting and line sizes are bounded, and anything malformed
/// is a `RedisError` of kind `.protocol`, never a trap.
final class RESPReader {
    struct Limits {
        var maxLine = 64 * 1024
        var maxBulk = 512 * 1024 * 1024     // Redis's own limit for one string
        var maxElements = 64 * 1024 * 1024
        var maxDepth = 16
    }
    let limits: Limits
    /// Appends more bytes to the buffer; returns false at end of input.
    private let fill: (inout [UInt8]) throws -> Bool
    private var buffer: [UInt8] = []
    private var pos = 0

    init(limits: Limits = Limits(), fill: @escaping (inout [UInt8]) throws -> Bool) {
        self.limits = limits
        self.fill = fill
    }

    /// A reader over fixed bytes (tests and the fuzzer).
    convenience init(bytes: [UInt8], limits: Limits = Limits()) {
        var sent = false
        self.init(limits: limits) { buf in
            if sent { return false }
            sent = true
            buf += bytes
            return true
        }
    }

    /// Bytes received but not yet parsed (left over after a reply).
    var pending: Int { buffer.count - pos }

    /// Forgets any buffered bytes (after a connection is dropped).
    func reset() {
        buffer.removeAll(keepingCapacity: false)
        pos = 0
    }

    func read() throws -> RESPValue { try value(depth: 0) }

    private func value(depth: Int) throws -> RESPValue {
        guard depth <= limits.maxDepth else { throw RedisError(.protocol, "reply nested deeper than \(limits.maxDepth) levels") }
        let line = try readLine()
        guard let kind = line.first else { throw RedisError(.protocol, "empty reply line") }
        let rest = line.dropFirst()
        switch kind {
        case UInt8(ascii: "+"): return .simple(String(decoding: rest, as: UTF8.self))
        case UInt8(ascii: "-"): return .error(String(decoding: rest, as: UTF8.self))
        case UInt8(ascii: ":"): return .integer(try number(rest))
        case UInt8(ascii: "$"):
            let n = try number(rest)
            if n == -1 { return .null }
            guard n >= 0, n <= limits.maxBulk else { throw RedisError(.protocol, "bad bulk string length \(n)") }
            let body = try readExact(Int(n) + 2)
            guard body[body.endIndex - 2] == 13, body[body.endIndex - 1] == 10 else {
                throw RedisError(.protocol, "bulk string not followed by CRLF")
            }
            return .bulk(Array(body.dropLast(2)))
        case UInt8(ascii: "*"):
            let n = try number(rest)
            if n == -1 { return .null }
            guard n >= 0, n <= limits.maxElements else { throw RedisError(.protocol, "bad array length \(n)") }
            var items: [RESPValue] = []
            items.reserveCapacity(Int(min(n, 4096)))
            for _ in 0..<n { items.append(try value(depth: depth + 1)) }
            return .array(items)
        default:
            throw RedisError(.protocol, "unknown reply type byte \(kind)")
        }
    }

    private func number(_ bytes: ArraySlice<UInt8>) throws -> Int64 {
        guard bytes.count <= 20, let n = Int64(String(decoding: bytes, as: UTF8.self)) else {
            throw RedisError(.protocol, "bad number in reply: \(String(decoding: bytes.prefix(24), as: UTF8.self).debugDescription)")
        }
        return n
    }

    /// One line without its CRLF.
    private func readLine() throws -> ArraySlice<UInt8> {
        var scanned = 0   // bytes after `pos` known not to hold the line's end (`pos` moves when the buffer is compacted)
        while true {
            while pos + scanned + 1 < buffer.count {
                let i = pos + scanned
                if buffer[i] == 13 {
                    guard buffer[i + 1] == 10 else { throw RedisError(.protocol, "CR not followed by LF") }
                    let line = buffer[pos..<i]
                    pos = i + 2
                    return line
                }
                scanned += 1
            }
            guard scanned <= limits.maxLine else { throw RedisError(.protocol, "reply line longer than \(limits.maxLine) bytes") }
            try more()
        }
    }

    private func readExact(_ n: Int) throws -> ArraySlice<UInt8> {
        while buffer.count - pos < n { try more() }
        let out = buffer[pos..<(pos + n)]
        pos += n
        return out
    }

    private func more() throws {
        if pos > 0 && pos >= buffer.count / 2 {
            buffer.removeFirst(pos)
            pos = 0
        }
        guard try fill(&buffer) else { throw RedisError(.connection, "the connection closed in the middle of a reply") }
    }
}
