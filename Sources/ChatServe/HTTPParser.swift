/// A request's head: everything the server checks (host, origin, key) before it reads one body byte.
public struct HTTPRequestHead: Sendable, Equatable {
    public enum Body: Sendable, Equatable { case none, length(Int), chunked }
    public var method: String
    public var target: String
    public var version: String
    /// Lower-cased names; repeated fields joined with ", " (Host and Content-Length may not repeat).
    public var headers: [String: String]
    public var keepAlive: Bool
    public var expectContinue: Bool
    public var body: Body
}

/// Why a request was refused, as the status and message to send (the connection is then closed).
public struct HTTPParseError: Error, Equatable, Sendable {
    public var status: Int
    public var message: String
}

/// An incremental HTTP/1.1 request parser, strict per RFC 9112 where leniency lets two parsers
/// disagree about where a request ends (request smuggling): no bare CR or LF, no whitespace before a
/// header's colon, no line folding, exactly one Host, no Content-Length with Transfer-Encoding, no
/// transfer coding but `chunked`, chunk framing checked byte for byte. Every line, the head and the
/// body are bounded, and no input can trap: sizes are checked before they are added.
public struct HTTPRequestParser: Sendable {
    public struct Limits: Sendable {
        public var maxLineBytes = 8 * 1024
        public var maxHeaderBytes = 64 * 1024
        public var maxHeaderCount = 100
        public var maxBodyBytes = 16 * 1024 * 1024
        public init() {}
    }

    public enum Step: Equatable {
        case needMore
        /// The head is complete; the body (if any) is read by the following calls.
        case head(HTTPRequestHead)
        case request(HTTPRequestHead, body: [UInt8])
        case failure(HTTPParseError)
    }

    private enum State: Equatable { case head, length(Int), chunkSize, chunkData(Int), chunkEnd, trailers, done, failed(HTTPParseError) }

    public let limits: Limits
    private var buffer: [UInt8] = []
    private var pos = 0
    private var scanned = 0        // where the search for the end of the head resumes
    private var state = State.head
    private var current: HTTPRequestHead?
    private var body: [UInt8] = []
    private var trailerBytes = 0

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Bytes received and not yet consumed.
    public var buffered: Int { buffer.count - pos }
    /// True between requests, before any byte of the next one arrived.
    public var isIdle: Bool { state == .head && buffered == 0 }
    /// True after a head was returned and before its request is complete.
    public var inBody: Bool { current != nil }

    public mutating func feed<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if pos > 0 && (pos == buffer.count || pos > 65536) {
            buffer.removeSubrange(0..<pos)
            scanned = max(0, scanned - pos)
            pos = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next step: call until `.needMore` (then feed) or `.failure` (then close the connection).
    public mutating func next() -> Step {
        switch state {
        case .failed(let e): return .failure(e)
        case .done:
            state = .head
            return next()
        case .head: return parseHead()
        case .length(let remaining):
            let n = min(remaining, buffered)
            body.append(contentsOf: buffer[pos..<(pos + n)])
            pos += n
            if remaining - n > 0 { state = .length(remaining - n); return .needMore }
            return finish()
        case .chunkSize: return parseChunkSize()
        case .chunkData(let remaining):
            let n = min(remaining, buffered)
            body.append(contentsOf: buffer[pos..<(pos + n)])
            pos += n
            state = remaining - n > 0 ? .chunkData(remaining - n) : .chunkEnd
            return remaining - n > 0 ? .needMore : next()
        case .chunkEnd:
            guard buffered >= 2 else { return buffered == 1 && buffer[pos] != 13 ? fail(400, "Chunk data is not followed by CRLF.") : .needMore }
            guard buffer[pos] == 13 && buffer[pos + 1] == 10 else { return fail(400, "Chunk data is not followed by CRLF.") }
            pos += 2
            state = .chunkSize
            return next()
        case .trailers: return parseTrailers()
        }
    }

    private mutating func fail(_ status: Int, _ message: String) -> Step {
        let e = HTTPParseError(status: status, message: message)
        state = .failed(e)
        return .failure(e)
    }

    private mutating func finish() -> Step {
        let head = current!
        let out = body
        body = []
        current = nil
        state = .done
        return .request(head, body: out)
    }

    private enum Line { case line(Range<Int>), needMore, tooLong, bareLF }

    /// The next CRLF-ended line of at most `max` bytes (without the CRLF); found by its LF, so the
    /// outcome is the same however the bytes arrived.
    private func nextLine(max: Int) -> Line {
        let end = min(buffer.count, pos + max + 2)
        guard let lf = buffer[pos..<end].firstIndex(of: 10) else { return end - pos > max + 1 ? .tooLong : .needMore }
        guard lf > pos, buffer[lf - 1] == 13 else { return .bareLF }
        return .line(pos..<(lf - 1))
    }

    // MARK: Head

    private mutating func parseHead() -> Step {
        var i = max(pos, scanned)
        var end: Int?
        while i + 3 < buffer.count {
            if buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 { end = i; break }
            i += 1
        }
        guard let end else {
            scanned = max(pos, buffer.count - 3)
            if buffered > limits.maxHeaderBytes { return fail(431, "The request headers are too large.") }
            return .needMore
        }
        if end + 4 - pos > limits.maxHeaderBytes { return fail(431, "The request headers are too large.") }
        let lines = split(Array(buffer[pos..<end]))
        pos = end + 4
        scanned = pos
        switch Self.head(lines, limits) {
        case .failure(let e): return fail(e.status, e.message)
        case .success(let head):
            current = head
            body = []
            switch head.body {
            case .none: state = .length(0)
            case .length(let n): state = .length(n)
            case .chunked: state = .chunkSize
            }
            return .head(head)
        }
    }

    /// Splits on CRLF; nil marks a line holding a bare CR or LF.
    private func split(_ bytes: [UInt8]) -> [[UInt8]?] {
        var lines: [[UInt8]?] = []
        var start = 0, i = 0
        while i <= bytes.count {
            if i == bytes.count || (bytes[i] == 13 && i + 1 < bytes.count && bytes[i + 1] == 10) {
                let line = Array(bytes[start..<i])
                lines.append(line.contains(13) || line.contains(10) ? nil : line)
                i += 2
                start = i
            } else {
                i += 1
            }
        }
        return lines
    }

    static func isTchar(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return Array("!#$%&'*+-.^_`|~".utf8).contains(b)
        }
    }

    static func isToken(_ s: ArraySlice<UInt8>) -> Bool { !s.isEmpty && s.allSatisfy(isTchar) }

    /// A field line `name: value` (no space before the colon, no control bytes in the value).
    static func field(_ line: [UInt8]) -> (String, String)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), isToken(line[..<colon]) else { return nil }
        var value = line[(colon + 1)...]
        guard value.allSatisfy({ $0 == 9 || ($0 >= 0x20 && $0 != 0x7F) }) else { return nil }
        while let f = value.first, f == 32 || f == 9 { value = value.dropFirst() }
        while let l = value.last, l == 32 || l == 9 { value = value.dropLast() }
        return (String(decoding: line[..<colon], as: UTF8.self).lowercased(), String(decoding: value, as: UTF8.self))
    }

    static func head(_ lines: [[UInt8]?], _ limits: Limits) -> Result<HTTPRequestHead, HTTPParseError> {
        func bad(_ status: Int, _ message: String) -> Result<HTTPRequestHead, HTTPParseError> { .failure(HTTPParseError(status: status, message: message)) }
        guard let first = lines.first, let requestLine = first else { return bad(400, "Malformed request line.") }
        if requestLine.count > limits.maxLineBytes { return bad(414, "The request line is too long.") }
        let parts = requestLine.split(separator: 32, omittingEmptySubsequences: false)
        guard parts.count == 3, isToken(parts[0]), !parts[1].isEmpty,
              parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return bad(400, "Malformed request line.") }
        let method = String(decoding: parts[0], as: UTF8.self)
        let target = String(decoding: parts[1], as: UTF8.self)
        guard target.hasPrefix("/") || (target == "*" && method == "OPTIONS") else { return bad(400, "The request target must be a path.") }
        let v = Array(parts[2])
        guard v.count == 8, v.starts(with: Array("HTTP/".utf8)), (0x30...0x39).contains(v[5]), v[6] == UInt8(ascii: "."),
              (0x30...0x39).contains(v[7]) else { return bad(400, "Malformed HTTP version.") }
        let version = String(decoding: v, as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { return bad(505, "Only HTTP/1.1 and HTTP/1.0 are supported.") }
        if lines.count - 1 > limits.maxHeaderCount { return bad(431, "Too many header fields.") }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let line else { return bad(400, "A header line holds a bare CR or LF.") }
            if line.count > limits.maxLineBytes { return bad(431, "A header field is too large.") }
            if line.first == 32 || line.first == 9 { return bad(400, "Folded header lines are not accepted.") }
            guard let (name, value) = field(line) else { return bad(400, "Malformed header line.") }
            if let old = headers[name] {
                if name == "host" { return bad(400, "More than one Host header.") }
                if name == "content-length" {
                    guard old == value else { return bad(400, "Conflicting Content-Length headers.") }
                    continue
                }
                headers[name] = old + ", " + value
            } else {
                headers[name] = value
            }
        }
        let http10 = version == "HTTP/1.0"
        if !http10 && headers["host"] == nil { return bad(400, "An HTTP/1.1 request needs a Host header.") }
        if let host = headers["host"], !host.utf8.allSatisfy({ isTchar($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") }) {
            return bad(400, "Malformed Host header.")
        }
        let connection = Set((headers["connection"] ?? "").lowercased().split(separator: ",").map { $0.trimmingSpaces })
        let keepAlive = http10 ? connection.contains("keep-alive") : !connection.contains("close")
        var expectContinue = false
        if let expect = headers["expect"] {
            guard expect.lowercased() == "100-continue" else { return bad(417, "Only 'Expect: 100-continue' is supported.") }
            expectContinue = !http10
        }
        var body = HTTPRequestHead.Body.none
        if let te = headers["transfer-encoding"] {
            if http10 { return bad(400, "Transfer-Encoding is not allowed in HTTP/1.0.") }
            if headers["content-length"] != nil { return bad(400, "Content-Length and Transfer-Encoding together are not accepted.") }
            guard te.lowercased() == "chunked" else { return bad(501, "Only the chunked transfer coding is supported.") }
            body = .chunked
        } else if let cl = headers["content-length"] {
            guard !cl.isEmpty, cl.utf8.count <= 18, cl.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let n = Int(cl) else {
                return bad(400, "Malformed Content-Length.")
            }
            if n > limits.maxBodyBytes { return bad(413, "The request body is larger than \(limits.maxBodyBytes) bytes.") }
            if n > 0 { body = .length(n) }
        }
        return .success(HTTPRequestHead(method: method, target: target, version: version, headers: headers, keepAlive: keepAlive,
                                        expectContinue: expectContinue, body: body))
    }

    // MARK: Chunked bodies

    private mutating func parseChunkSize() -> Step {
        let line: ArraySlice<UInt8>
        switch nextLine(max: 1024) {
        case .needMore: return .needMore
        case .tooLong: return fail(400, "A chunk-size line is too long.")
        case .bareLF: return fail(400, "Malformed chunk size.")
        case .line(let r):
            line = buffer[r]
            pos = r.upperBound + 2
        }
        let digits = line.prefix { Self.hexValue($0) != nil }
        let ext = line[digits.endIndex...]
        guard !digits.isEmpty, ext.isEmpty || (ext.first == UInt8(ascii: ";") && ext.allSatisfy({ $0 == 9 || ($0 >= 0x20 && $0 != 0x7F) })) else {
            return fail(400, "Malformed chunk size.")
        }
        var size = 0
        for d in digits {
            size = size * 16 + Int(Self.hexValue(d)!)
            if size > limits.maxBodyBytes { return fail(413, "The request body is larger than \(limits.maxBodyBytes) bytes.") }
        }
        if size == 0 {
            state = .trailers
            trailerBytes = 0
            return next()
        }
        if size > limits.maxBodyBytes - body.count { return fail(413, "The request body is larger than \(limits.maxBodyBytes) bytes.") }
        state = .chunkData(size)
        return next()
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }

    /// Trailer fields after the last chunk (checked like headers, then dropped), up to the empty line.
    private mutating func parseTrailers() -> Step {
        while true {
            let line: [UInt8]
            switch nextLine(max: limits.maxLineBytes) {
            case .needMore: return .needMore
            case .tooLong: return fail(431, "A trailer field is too large.")
            case .bareLF: return fail(400, "Malformed trailer field.")
            case .line(let r):
                line = Array(buffer[r])
                pos = r.upperBound + 2
            }
            if line.isEmpty { return finish() }
            trailerBytes += line.count + 2
            if trailerBytes > limits.maxHeaderBytes { return fail(431, "The trailer fields are too large.") }
            guard !line.contains(13), !line.contains(10), line.first != 32, line.first != 9, Self.field(line) != nil else {
                return fail(400, "Malformed trailer field.")
            }
        }
    }
}

extension Substring {
    var trimmingSpaces: String {
        var s = self[...]
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
