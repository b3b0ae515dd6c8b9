import Foundation

/// One server-sent event: the `event:` name (if any) and its `data:` lines joined with "\n".
public struct SSEEvent: Equatable, Sendable {
    public var event: String?
    public var data: String
    public var id: String?
}

/// An incremental SSE parser (the framing the Python SDK accepts): `event:` / `data:` / `id:` fields,
/// one optional space after the colon, `:` comments, multi-line data, CRLF / CR / LF line ends, an
/// event dispatched on a blank line. Feed bytes as they arrive; events come out as soon as complete.
public struct SSEParser: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0
    /// Where the search for the next line end resumes (bytes before it hold none).
    private var scanned = 0
    private var event: String?
    private var data: [UInt8] = []
    private var hasData = false
    private var id: String?
    private var skipLF = false
    /// A line longer than this is an error (a broken or hostile stream), not a memory sink.
    public static let maxLineBytes = 32 * 1024 * 1024

    public struct TooLong: Error, CustomStringConvertible {
        public var description: String { "a server-sent event line is longer than \(SSEParser.maxLineBytes) bytes" }
    }

    public init() {}

    public mutating func feed<C: Collection>(_ bytes: C) throws -> [SSEEvent] where C.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        var out: [SSEEvent] = []
        var i = max(start, scanned)   // never rescan a long incomplete line from its start
        let n = buffer.count
        while i < n {
            let b = buffer[i]
            if skipLF {
                skipLF = false
                if b == 0x0A { i += 1; start = i; continue }
            }
            if b == 0x0A || b == 0x0D {
                line(start, i, into: &out)
                skipLF = b == 0x0D
                i += 1
                start = i
                continue
            }
            i += 1
        }
        scanned = i
        if start > 0 && (start > 65536 || start == buffer.count) {
            buffer.removeSubrange(0..<start)
            scanned -= start
            start = 0
        }
        if buffer.count - start > Self.maxLineBytes { throw TooLong() }
        return out
    }

    /// The end of the stream: a last event without its blank line is still dispatched.
    public mutating func finish() -> [SSEEvent] {
        var out: [SSEEvent] = []
        if start < buffer.count { line(start, buffer.count, into: &out) }
        buffer.removeAll()
        start = 0
        scanned = 0
        line(0, 0, into: &out)  // a blank line dispatches what is pending
        return out
    }

    private mutating func line(_ from: Int, _ to: Int, into out: inout [SSEEvent]) {
        if from == to {
            if hasData {
                out.append(SSEEvent(event: event, data: String(decoding: data, as: UTF8.self), id: id))
            }
            event = nil
            data.removeAll(keepingCapacity: true)
            hasData = false
            return
        }
        if buffer[from] == 0x3A { return }  // ":" comment
        var colon = from
        while colon < to && buffer[colon] != 0x3A { colon += 1 }
        var valueStart = colon < to ? colon + 1 : to
        if valueStart < to && buffer[valueStart] == 0x20 { valueStart += 1 }
        let nameLength = colon - from
        // Compare field names by bytes: "data" is by far the most common.
        if nameLength == 4 && buffer[from] == 0x64 && buffer[from + 1] == 0x61 && buffer[from + 2] == 0x74 && buffer[from + 3] == 0x61 {
            if hasData { data.append(0x0A) }
            data.append(contentsOf: buffer[valueStart..<to])
            hasData = true
            return
        }
        let name = String(decoding: buffer[from..<colon], as: UTF8.self)
        let value = String(decoding: buffer[valueStart..<to], as: UTF8.self)
        switch name {
        case "event": event = value
        case "id": id = value
        default: break  // "retry" and unknown fields are ignored
        }
    }
}

/// Decodes Responses stream events. Text deltas — nearly every event of a stream — are flat JSON
/// objects, read by a small scanner; anything else (or anything the scanner does not expect) goes
/// through JSONDecoder.
public enum StreamEventDecoder {
    public static func decode(_ data: String) throws -> ResponseStreamEvent {
        if let fast = flatDelta(data) { return fast }
        return try WireJSON.decode(ResponseStreamEvent.self, from: data)
    }

    /// Reads `{"type":"response.output_text.delta", "delta":"…", "item_id":"…", …}` with string,
    /// integer and empty-array values only; nil when the object is anything else.
    static func flatDelta(_ text: String) -> ResponseStreamEvent? {
        var s = text
        return s.withUTF8 { bytes -> ResponseStreamEvent? in
            var p = 0
            let n = bytes.count
            func ws() { while p < n, bytes[p] == 0x20 || bytes[p] == 0x0A || bytes[p] == 0x0D || bytes[p] == 0x09 { p += 1 } }
            func string() -> String? {
                guard p < n, bytes[p] == 0x22 else { return nil }
                p += 1
                let begin = p
                var simple = true
                while p < n, bytes[p] != 0x22 {
                    if bytes[p] == 0x5C { simple = false; p += 2 } else { p += 1 }
                }
                guard p < n else { return nil }
                defer { p += 1 }
                if simple { return String(decoding: UnsafeBufferPointer(rebasing: bytes[begin..<p]), as: UTF8.self) }
                // Escapes: let the JSON decoder read just this string.
                let literal = Data(UnsafeBufferPointer(rebasing: bytes[(begin - 1)...p]))
                return try? JSONDecoder().decode(String.self, from: literal)
            }
            ws()
            guard p < n, bytes[p] == 0x7B else { return nil }
            p += 1
            var e = ResponseStreamEvent(type: "", sequence: nil)
            while true {
                ws()
                if p < n, bytes[p] == 0x7D { break }
                guard let key = string() else { return nil }
                ws()
                guard p < n, bytes[p] == 0x3A else { return nil }
                p += 1
                ws()
                guard p < n else { return nil }
                let c = bytes[p]
                if c == 0x22 {
                    guard let v = string() else { return nil }
                    switch key {
                    case "type": e.type = v
                    case "delta": e.delta = v
                    case "item_id": e.item_id = v
                    case "obfuscation": e.obfuscation = v
                    default: return nil
                    }
                } else if c == 0x2D || (c >= 0x30 && c <= 0x39) {
                    var v = 0
                    var neg = false
                    if c == 0x2D { neg = true; p += 1 }
                    let begin = p
                    while p < n, bytes[p] >= 0x30, bytes[p] <= 0x39 { v = v &* 10 &+ Int(bytes[p] - 0x30); p += 1 }
                    guard p > begin, p - begin < 18, p < n, bytes[p] != 0x2E, bytes[p] != 0x65, bytes[p] != 0x45 else { return nil }
                    if neg { v = -v }
                    switch key {
                    case "sequence_number": e.sequence_number = v
                    case "output_index": e.output_index = v
                    case "content_index": e.content_index = v
                    default: return nil
                    }
                } else if c == 0x5B {
                    p += 1
                    ws()
                    guard p < n, bytes[p] == 0x5D, key == "logprobs" else { return nil }
                    p += 1
                    e.logprobs = []
                } else {
                    return nil
                }
                ws()
                if p < n, bytes[p] == 0x2C { p += 1; continue }
                if p < n, bytes[p] == 0x7D { break }
                return nil
            }
            return e.type == "response.output_text.delta" && e.delta != nil ? e : nil
        }
    }
}
