import Foundation

/// The Agents SDK's `RedisSession`, key for key, so a Python agent and chatbench share one session:
/// - `{prefix}:{id}` a hash: `session_id`, `created_at` (set once), `updated_at` (unix seconds, as text);
/// - `{prefix}:{id}:messages` a list of compact JSON items, oldest first;
/// - `{prefix}:{id}:counter` a counter key the SDK reserves: watched, type-checked, expired and deleted
///   with the others, never incremented by the SDK's writes (nor by ours).
/// Writes run as WATCH the three keys, check their types, then MULTI … EXEC, retried when another
/// writer got in between, as the SDK does. The times come from the Redis server (`TIME`), so two
/// machines with different clocks agree. Items that are not JSON are skipped when read; items others
/// wrote are never rewritten.
public final class RedisAgentSession: AgentSession, @unchecked Sendable {
    public let sessionID: String
    public let client: RedisClient
    public var url: RedisURL { client.url }
    let sessionKey: String
    let messagesKey: String
    let counterKey: String
    private var keys: [String] { [sessionKey, messagesKey, counterKey] }

    public init(sessionID: String, client: RedisClient) {
        self.sessionID = sessionID
        self.client = client
        sessionKey = "\(client.url.keyPrefix):\(sessionID)"
        messagesKey = sessionKey + ":messages"
        counterKey = sessionKey + ":counter"
    }

    /// One shared connection per server and database in this process. The id is checked first (see
    /// `checkSessionID`): every Redis session chatbench opens comes through here.
    public static func open(url: RedisURL, sessionID: String) throws -> RedisAgentSession {
        try checkSessionID(sessionID)
        return RedisAgentSession(sessionID: sessionID, client: RedisClientPool.shared.client(for: url))
    }

    /// Refuses an id ending in `:messages` or `:counter`: its metadata hash would be another session's
    /// message list or counter (`u1:messages` → `PREFIX:u1:messages`, u1's list), and writes fail with
    /// WRONGTYPE or damage that session.
    public static func checkSessionID(_ id: String) throws {
        for suffix in [":messages", ":counter"] where id.hasSuffix(suffix) {
            let other = String(id.dropLast(suffix.count))
            throw ConfigurationError("a Redis session cannot be named '\(id)': the Agents SDK's RedisSession layout keeps session '\(other)''s "
                                     + "\(suffix.dropFirst()) key under that name, so the two would collide; choose a name not ending in ':messages' or ':counter'")
        }
    }

    /// The sessions under the URL's key prefix (hashes named `PREFIX:ID`) with their item counts,
    /// newest first, read with SCAN so a large Redis is never blocked.
    public static func list(url: RedisURL) throws -> [(String, Int)] {
        let client = RedisClientPool.shared.client(for: url)
        let prefix = url.keyPrefix + ":"
        let glob = prefix.map { "*?[]\\".contains($0) ? "\\\($0)" : String($0) }.joined() + "*"
        var cursor = "0", names: Set<String> = []
        repeat {
            let r = try client.call("SCAN", cursor, "MATCH", glob, "COUNT", "1000", "TYPE", "hash").array ?? []
            guard r.count == 2, let next = r[0].string else { throw RedisError(.protocol, "SCAN returned \(r)", endpoint: url.endpoint) }
            cursor = next
            for k in r[1].array ?? [] { if let key = k.string { names.insert(String(key.dropFirst(prefix.count))) } }
        } while cursor != "0"
        var found: [(String, Int, Int64)] = []
        for name in names {
            let s = RedisAgentSession(sessionID: name, client: client)
            let r = try client.pipeline([["LLEN", s.messagesKey], ["HGET", s.sessionKey, "updated_at"]])
            found.append((name, Int(r[0].int ?? 0), r[1].int ?? 0))
        }
        return found.sorted { ($0.2, $1.0) > ($1.2, $0.0) }.map { ($0.0, $0.1) }
    }

    static func decode(_ v: RESPValue) -> Item? {
        guard case .bulk(let bytes) = v, let text = String(validating: bytes, as: UTF8.self) else { return nil }
        return Item.parse(text)
    }

    public func getItems(limit: Int? = nil) throws -> [Item] {
        guard let limit else {
            return try client.call("LRANGE", messagesKey, "0", "-1").array?.compactMap(Self.decode) ?? []
        }
        guard limit > 0 else { return [] }
        // Grow the window until `limit` readable items come back (unreadable ones are skipped).
        var window = limit
        while true {
            let raw = try client.call("LRANGE", messagesKey, String(-window), "-1").array ?? []
            let items = raw.compactMap(Self.decode)
            if items.count >= limit || raw.count < window { return Array(items.suffix(limit)) }
            window *= 2
        }
    }

    public func addItems(_ items: [Item]) throws {
        guard !items.isEmpty else { return }
        try mutate(items.map { $0.jsonString() })
    }

    public func popItem() throws -> Item? {
        // Like the SDK: RPOP until a readable item (an unreadable one is dropped).
        while true {
            let raw = try client.call("RPOP", messagesKey)
            if raw == .null { return nil }
            if let item = Self.decode(raw) { return item }
        }
    }

    public func clearSession() throws { try mutate(nil) }

    public func count() throws -> Int { Int(try client.call("LLEN", messagesKey).int ?? 0) }

    /// The list's length, the hash's `updated_at` and a digest of the newest item: one round trip.
    public func changeToken() throws -> String {
        let r = try client.pipeline([["LLEN", messagesKey], ["HGET", sessionKey, "updated_at"], ["LINDEX", messagesKey, "-1"]])
        for v in r { if case .error(let e) = v { throw RedisError.reply(e, endpoint: url.endpoint) } }
        var digest: UInt64 = 0xcbf29ce484222325   // FNV-1a
        if case .bulk(let last) = r[2] { for b in last { digest = (digest ^ UInt64(b)) &* 0x100000001b3 } }
        return "\(r[0].int ?? 0)/\(r[1].string ?? "")/\(String(digest, radix: 16))"
    }

    /// Appends (`items` non-nil) or deletes the session (nil), in one watched transaction.
    private func mutate(_ items: [String]?) throws {
        try client.exclusive {
            while true {
                if try attempt(items) { return }
            }
        }
    }

    /// One WATCH … EXEC round; false when another writer touched the keys first (EXEC returned nil).
    private func attempt(_ items: [String]?) throws -> Bool {
        var first = [["WATCH"] + keys] + keys.map { ["TYPE", $0] }
        first.append(["TIME"])
        let r = try client.pipeline(first)
        do {
            for v in r { if case .error(let e) = v { throw RedisError.reply(e, endpoint: url.endpoint) } }
            let types = r[1...3].map { $0.string ?? "?" }
            let expected = [("hash", "session metadata"), ("list", "session messages"), ("string", "session counter")]
            // Like the SDK, the counter's type matters only when it is deleted or expired.
            let checked = items == nil || url.ttl != nil ? 3 : 2
            for (i, t) in types.enumerated() where i < checked && t != "none" && t != expected[i].0 {
                throw RedisError(.server, "WRONGTYPE the \(expected[i].1) key '\(keys[i])' holds a \(t), not a \(expected[i].0)",
                                 code: "WRONGTYPE", endpoint: url.endpoint)
            }
        } catch {
            _ = try? client.call("UNWATCH")
            throw error
        }
        let time = r[4].array ?? []
        guard time.count == 2, let seconds = time[0].int, let micros = time[1].int else {
            _ = try? client.call("UNWATCH")
            throw RedisError(.protocol, "TIME returned \(r[4])", endpoint: url.endpoint)
        }
        var tx: [[String]] = [["MULTI"]]
        if let items {
            let now = String(seconds)
            tx.append(["HSET", sessionKey, "session_id", sessionID])
            tx.append(["HSETNX", sessionKey, "created_at", now])
            tx.append(["RPUSH", messagesKey] + items)
            tx.append(["HSET", sessionKey, "updated_at", now])
            if let ttl = url.ttl {
                let at = String(seconds * 1000 + micros / 1000 + Int64(ttl) * 1000)
                for k in keys { tx.append(["PEXPIREAT", k, at]) }
            }
        } else {
            tx.append(["DEL"] + keys)
        }
        tx.append(["EXEC"])
        let replies = try client.pipeline(tx)
        for v in replies.dropLast() {
            if case .error(let e) = v { throw RedisError.reply(e, endpoint: url.endpoint) }
        }
        switch replies.last {
        case .null?: return false
        case .array(let results)?:
            for v in results { if case .error(let e) = v { throw RedisError.reply(e, endpoint: url.endpoint) } }
            return true
        case .error(let e)?: throw RedisError.reply(e, endpoint: url.endpoint)
        default: throw RedisError(.protocol, "EXEC returned \(String(describing: replies.last))", endpoint: url.endpoint)
        }
    }
}

/// One client per Redis server and database, shared by every session of the process.
final class RedisClientPool: @unchecked Sendable {
    static let shared = RedisClientPool()
    private let lock = NSLock()
    private var clients: [String: RedisClient] = [:]

    func client(for url: RedisURL) -> RedisClient {
        lock.withLock {
            let key = "\(url.redacted)|\(url.password ?? "")"
            if let c = clients[key] { return c }
            let c = RedisClient(url: url)
            clients[key] = c
            return c
        }
    }
}
