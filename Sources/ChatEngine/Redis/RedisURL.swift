import Foundation

/// Everything that goes wrong talking to Redis, with what to do about it in the message.
public struct RedisError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        /// Cannot connect, or the connection dropped.
        case connection
        /// Redis did not answer in time.
        case timeout
        /// The bytes from the socket are not a Redis reply.
        case `protocol`
        /// Redis answered with an error (`-ERR`, `-WRONGTYPE`, …); `code` is its first word.
        case server
        /// The password is missing or wrong.
        case auth
        /// The URL cannot be used.
        case url
    }
    public let kind: Kind
    public var code: String?
    public var message: String
    public var endpoint: String?
    public var description: String {
        (endpoint.map { "Redis at \($0): " } ?? "Redis: ") + message
    }

    init(_ kind: Kind, _ message: String, code: String? = nil, endpoint: String? = nil) {
        self.kind = kind
        self.message = message
        self.code = code
        self.endpoint = endpoint
    }

    /// The error for a `-…` reply.
    static func reply(_ text: String, endpoint: String?) -> RedisError {
        let code = String(text.prefix(while: { $0 != " " }))
        if code == "NOAUTH" || code == "WRONGPASS" {
            return RedisError(.auth, "\(text) (give the password in the URL, redis://:PASSWORD@host:port, or in CHATBENCH_REDIS_PASSWORD)",
                              code: code, endpoint: endpoint)
        }
        return RedisError(.server, text, code: code, endpoint: endpoint)
    }
}

/// Where a Redis-backed store lives and how its keys are laid out:
/// `redis://[[user]:password@]host[:port][/db][?key_prefix=agents:session&ttl=SECONDS&timeout=SECONDS]`.
/// The password is never saved with a session (see `redacted`); a later process gets it from
/// CHATBENCH_REDIS_PASSWORD or from a URL with a password given to this process.
public struct RedisURL: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int = 6379
    public var db: Int = 0
    public var username: String?
    public var password: String?
    /// The Agents SDK's `key_prefix` (default `agents:session`).
    public var keyPrefix = "agents:session"
    /// The SDK's `ttl`: every write sets all three keys to expire this many seconds later.
    public var ttl: Int?
    /// Seconds to wait for a connection or a reply.
    public var timeout: Double = 5

    public static func isRedis(_ s: String) -> Bool { s.hasPrefix("redis://") || s.hasPrefix("rediss://") }

    public init(host: String, port: Int = 6379, db: Int = 0) {
        self.host = host
        self.port = port
        self.db = db
    }

    public init(parsing text: String) throws {
        func bad(_ why: String) -> RedisError { RedisError(.url, "bad URL '\(Self.redact(text))': \(why)") }
        if text.hasPrefix("rediss://") { throw bad("TLS (rediss://) is not supported; use redis:// on a trusted network or a TLS tunnel") }
        guard text.hasPrefix("redis://"), let c = URLComponents(string: text) else {
            throw bad("expected redis://host:port/db")
        }
        guard let host = c.host, !host.isEmpty else { throw bad("no host") }
        self.host = host
        if let p = c.port {
            guard (1...65535).contains(p) else { throw bad("port \(p) is out of range") }
            port = p
        }
        let path = c.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let n = Int(path), n >= 0 else { throw bad("the database '\(path)' is not a number") }
            db = n
        }
        username = c.user.flatMap { $0.isEmpty ? nil : $0 }
        password = c.password.flatMap { $0.isEmpty ? nil : $0 }
        for q in c.queryItems ?? [] {
            let v = q.value ?? ""
            switch q.name {
            case "key_prefix":
                guard !v.isEmpty else { throw bad("key_prefix is empty") }
                keyPrefix = v
            case "ttl":
                guard let t = Int(v), t > 0 else { throw bad("ttl must be a positive number of seconds") }
                ttl = t
            case "timeout":
                guard let t = Double(v), t > 0, t <= 3600 else { throw bad("timeout must be a number of seconds") }
                timeout = t
            default: throw bad("unknown option '\(q.name)' (known: key_prefix, ttl, timeout)")
            }
        }
    }

    public var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The URL without its password: what is saved with a session and shown.
    public var redacted: String {
        var s = "redis://"
        if let username { s += "\(username)@" }
        s += "\(endpoint)/\(db)"
        var q: [String] = []
        if keyPrefix != "agents:session" { q.append("key_prefix=\(keyPrefix)") }
        if let ttl { q.append("ttl=\(ttl)") }
        if timeout != 5 { q.append("timeout=\(timeout.formatted())") }
        return q.isEmpty ? s : s + "?" + q.joined(separator: "&")
    }
    public var description: String { redacted }

    /// A URL string with any password hidden, for error messages about text that did not parse.
    static func redact(_ text: String) -> String {
        guard let at = text.firstIndex(of: "@"), let scheme = text.range(of: "://"), scheme.upperBound < at else { return text }
        return String(text[..<scheme.upperBound]) + "…@" + String(text[text.index(after: at)...])
    }

    /// The password to send: this URL's, else one given to this process for the same server, else
    /// CHATBENCH_REDIS_PASSWORD.
    func resolvedPassword(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let password { return password }
        if let known = RedisCredentials.shared.password(for: self) { return known }
        return environment["CHATBENCH_REDIS_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

private extension Double {
    func formatted() -> String { self == rounded() ? String(Int(self)) : String(self) }
}

/// Passwords this process was given in URLs, so a session saved without its password can still
/// connect within the same run.
final class RedisCredentials: @unchecked Sendable {
    static let shared = RedisCredentials()
    private let lock = NSLock()
    private var passwords: [String: String] = [:]
    private func key(_ u: RedisURL) -> String { "\(u.username ?? "")@\(u.endpoint)" }

    func remember(_ url: RedisURL) {
        guard let p = url.password else { return }
        lock.withLock { passwords[key(url)] = p }
    }
    func password(for url: RedisURL) -> String? { lock.withLock { passwords[key(url)] } }
}
