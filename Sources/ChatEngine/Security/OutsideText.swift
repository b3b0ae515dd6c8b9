import Foundation

/// Text that came from outside (a server's reply or error, a session name, a request path, a file)
/// made safe to print on a terminal: control characters are shown, not obeyed, the way `ls` and
/// nginx's log do. Without this an escape sequence in a reply can retitle the terminal, clear the
/// screen or forge lines of a log.
public enum OutsideText {
    /// C0 controls (but newline and tab when `keepNewlines`), DEL, C1 controls and the bidirectional
    /// overrides become `\x1b`, `\u009b`, `\u202e`; everything else is kept.
    public static func visible(_ s: String, keepNewlines: Bool = true) -> String {
        guard s.unicodeScalars.contains(where: { needsEscape($0, keepNewlines) }) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 16)
        for u in s.unicodeScalars {
            if !needsEscape(u, keepNewlines) {
                out.unicodeScalars.append(u)
            } else if u.value < 0x80 {
                out += "\\x" + hex(u.value, 2)
            } else {
                out += "\\u" + hex(u.value, 4)
            }
        }
        return out
    }

    /// For one-line contexts (a log line, a name in a table): newlines and tabs are escaped too.
    public static func line(_ s: String) -> String { visible(s, keepNewlines: false) }

    static func needsEscape(_ u: Unicode.Scalar, _ keepNewlines: Bool) -> Bool {
        switch u.value {
        case 0x0A, 0x09: return !keepNewlines
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x202A...0x202E, 0x2066...0x2069: return true   // bidi overrides: text that reads differently than it is
        default: return false
        }
    }

    static func hex(_ v: UInt32, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// JSON text (as produced by an encoder, which already escapes C0) with DEL and C1 controls and the
    /// bidi overrides written as `\u` escapes too: still the same JSON value, nothing a terminal obeys.
    public static func json(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { needsEscape($0, true) && $0.value >= 0x7F }) else { return s }
        var out = ""
        for u in s.unicodeScalars {
            if u.value >= 0x7F && needsEscape(u, true) { out += "\\u" + hex(u.value, 4) } else { out.unicodeScalars.append(u) }
        }
        return out
    }
}

/// Keeps API keys out of every error text chatbench stores, exports or prints.
public enum Secrets {
    nonisolated(unsafe) private static var keys: Set<String> = []
    private static let lock = NSLock()

    /// Remembers a key this process uses, so `redact` removes it even when it is not shaped like `sk-…`.
    public static func register(_ key: String?) {
        guard let key, key.count >= 4 else { return }
        lock.lock()
        keys.insert(key)
        lock.unlock()
    }

    /// Every registered key, and anything shaped like an OpenAI key (`sk-` and 16+ key characters),
    /// becomes `[redacted key]`.
    public static func redact(_ text: String) -> String {
        lock.lock()
        let known = keys
        lock.unlock()
        var out = text
        for key in known where out.contains(key) { out = out.replacingOccurrences(of: key, with: "[redacted key]") }
        guard out.contains("sk-") else { return out }
        var result = ""
        var rest = Substring(out)
        while let r = rest.range(of: "sk-") {
            result += rest[..<r.lowerBound]
            let tail = rest[r.upperBound...]
            let body = tail.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
            result += body.count >= 16 ? "[redacted key]" : "sk-" + body
            rest = tail[body.endIndex...]
        }
        return result + rest
    }

    /// An error's text as chatbench may store or print it.
    public static func redact(_ e: APIError) -> APIError {
        var e = e
        e.message = redact(e.message)
        e.code = e.code.map(redact)
        e.param = e.param.map(redact)
        e.type = redact(e.type)
        e.requestID = e.requestID.map(redact)   // a hostile server may put the key anywhere it is echoed
        return e
    }
}
