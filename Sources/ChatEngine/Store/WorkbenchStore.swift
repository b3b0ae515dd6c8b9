import Foundation

/// The workbench's own SQLite file: sessions, the transcript (a parent-linked message list per
/// session), and one row per turn. Every panel, report and browser is a query over these rows.
public final class WorkbenchStore: @unchecked Sendable {
    public let db: Database

    public init(path: String) throws {
        db = try Database.open(path: path, migrations: Self.migrations)
    }

    /// For commands that only read (`sessions list/show/export`): the file is opened read-only and
    /// left as it is, so they work in a read-only data folder. A missing file reads as an empty store;
    /// a file from an older chatbench is upgraded first when it can be written (else a clear error).
    public static func openForReading(path: String) throws -> WorkbenchStore {
        guard FileManager.default.fileExists(atPath: path) else { return try inMemory() }
        let db = try Database.openReadOnly(path: path)
        let latest = migrations.map(\.version).max() ?? 0
        let version = try db.userVersion()
        if version > latest {
            throw StorageError(.newerSchema, path: path,
                "was written by a newer chatbench (schema version \(version); this build knows up to \(latest)); upgrade chatbench to read it")
        }
        if version < latest {
            guard access(path, W_OK) == 0, access((path as NSString).deletingLastPathComponent, W_OK) == 0 else {
                throw StorageError(.readOnly, path: path,
                    "was written by an older chatbench (schema version \(version)) and must be upgraded, but it is read-only; run chatbench once where it can write")
            }
            return try WorkbenchStore(path: path)
        }
        return WorkbenchStore(database: db)
    }

    public init(database: Database) {
        db = database
    }

    public static func inMemory() throws -> WorkbenchStore {
        WorkbenchStore(database: try Database.inMemory(migrations: migrations))
    }

    // MARK: Sessions

    private static let sessionColumns = """
        id, name, mode, backend, model, policy, server_policy, profile, chain_head, chain_covers, conversation_id,
        conversation_covers, client_covers, client_db, base_url, api, created_at, updated_at
        """

    private func session(from r: Row) -> SessionRecord {
        SessionRecord(id: r["id"].int64 ?? 0, name: r["name"].string ?? "", mode: MemoryMode(rawValue: r["mode"].string ?? "") ?? .chain,
                      backend: r["backend"].string ?? "offline", model: r["model"].string ?? "", policy: r["policy"].string ?? "all",
                      profile: r["profile"].string ?? "default", chainHead: r["chain_head"].string,
                      chainCovers: r["chain_covers"].int64 ?? 0, conversationID: r["conversation_id"].string,
                      conversationCovers: r["conversation_covers"].int64 ?? 0, clientCovers: r["client_covers"].int64 ?? 0,
                      clientDB: r["client_db"].string, baseURL: r["base_url"].string, api: r["api"].string, createdAt: r["created_at"].double ?? 0, updatedAt: r["updated_at"].double ?? 0)
            .with(serverPolicy: r["server_policy"].string ?? "none")
    }

    public func session(named name: String) throws -> SessionRecord? {
        try db.query("SELECT \(Self.sessionColumns) FROM sessions WHERE name = ?", [.text(name)]).first.map(session(from:))
    }

    public func session(id: Int64) throws -> SessionRecord? {
        try db.query("SELECT \(Self.sessionColumns) FROM sessions WHERE id = ?", [.integer(id)]).first.map(session(from:))
    }

    public func createSession(name: String, mode: MemoryMode, backend: String, model: String,
                              policy: String = "all", profile: String = "default") throws -> SessionRecord {
        try Self.checkSessionName(name)
        let now = Date().timeIntervalSince1970
        // Another process may create the same name at the same moment: the first one wins, and both
        // get that session.
        try db.execute("""
            INSERT INTO sessions(name, mode, backend, model, policy, profile, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(name) DO NOTHING
            """, [.text(name), .text(mode.rawValue), .text(backend), .text(model), .text(policy), .text(profile), .double(now), .double(now)])
        guard let s = try session(named: name) else { throw StorageError(.queryFailed, path: db.path, "session '\(name)' vanished after insert") }
        return s
    }

    /// Changes a session's mode and policy, and nothing else: its anchors may have moved since the
    /// caller read it (another process's turn), and must not be written back stale.
    public func setMode(session id: Int64, _ mode: MemoryMode, policy: String) throws -> SessionRecord? {
        try db.transaction {
            try db.execute("UPDATE sessions SET mode = ?, policy = ?, updated_at = ? WHERE id = ?",
                           [.text(mode.rawValue), .text(policy), .double(Date().timeIntervalSince1970), .integer(id)])
            return try session(id: id)
        }
    }

    /// Changes a session's server policy, and nothing else.
    public func setServerPolicy(session id: Int64, _ policy: ServerPolicy) throws -> SessionRecord? {
        try db.transaction {
            try db.execute("UPDATE sessions SET server_policy = ?, updated_at = ? WHERE id = ?",
                           [.text(policy.description), .double(Date().timeIntervalSince1970), .integer(id)])
            return try session(id: id)
        }
    }

    /// Writes every mutable field of the session back. Read the record in the same transaction, or
    /// under the session's turn lock: a stale record would undo another process's turn.
    public func save(_ s: SessionRecord) throws {
        try db.execute("""
            UPDATE sessions SET mode = ?, backend = ?, model = ?, policy = ?, server_policy = ?, profile = ?, chain_head = ?, chain_covers = ?,
                conversation_id = ?, conversation_covers = ?, client_covers = ?, client_db = ?, base_url = ?, api = ?, updated_at = ? WHERE id = ?
            """, [.text(s.mode.rawValue), .text(s.backend), .text(s.model), .text(s.policy), .text(s.serverPolicy), .text(s.profile), SQLValue(s.chainHead),
                  .integer(s.chainCovers), SQLValue(s.conversationID), .integer(s.conversationCovers), .integer(s.clientCovers),
                  SQLValue(s.clientDB), SQLValue(s.baseURL), SQLValue(s.api), .double(Date().timeIntervalSince1970), .integer(s.id)])
    }

    // MARK: Settings

    public func setting(_ key: String) throws -> String? {
        try db.query("SELECT value FROM settings WHERE key = ?", [.text(key)]).first?["value"].string
    }

    public func setSetting(_ key: String, _ value: String) throws {
        try db.execute("INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       [.text(key), .text(value)])
    }

    // MARK: Transcript

    static let messageColumns = "id, session_id, parent_id, role, content, item, status, turn_id, created_at"

    func message(from r: Row) -> MessageRecord {
        let item = Item.parse(r["item"].string ?? "") ?? .userText(r["content"].string ?? "")
        return MessageRecord(id: r["id"].int64 ?? 0, sessionID: r["session_id"].int64 ?? 0, parentID: r["parent_id"].int64,
                             role: Role(r["role"].string ?? ""), content: r["content"].string ?? "", item: item,
                             status: MessageStatus(stored: r["status"].string), turnID: r["turn_id"].int64, createdAt: r["created_at"].double ?? 0)
    }

    /// The whole transcript of a session, oldest first.
    public func messages(session: Int64) throws -> [MessageRecord] {
        try db.query("SELECT \(Self.messageColumns) FROM messages WHERE session_id = ? ORDER BY id", [.integer(session)]).map(message(from:))
    }

    /// Complete messages after `afterID`: what a store of the memory has not seen yet.
    public func completeMessages(session: Int64, after afterID: Int64 = 0) throws -> [MessageRecord] {
        try db.query("SELECT \(Self.messageColumns) FROM messages WHERE session_id = ? AND id > ? AND status = 'complete' ORDER BY id",
                     [.integer(session), .integer(afterID)]).map(message(from:))
    }

    /// The id of the last complete message (0 when there is none).
    public func lastCompleteMessageID(session: Int64) throws -> Int64 {
        try db.query("SELECT coalesce(max(id), 0) FROM messages WHERE session_id = ? AND status = 'complete'", [.integer(session)])[0][0].int64 ?? 0
    }

    @discardableResult
    func insertMessage(session: Int64, role: Role, item: Item, status: MessageStatus, turn: Int64?) throws -> Int64 {
        let parent = try db.query("SELECT max(id) FROM messages WHERE session_id = ?", [.integer(session)])[0][0]
        try db.execute("INSERT INTO messages(session_id, parent_id, role, content, item, status, turn_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [.integer(session), parent, .text(role.rawValue), .text(item.text), .text(item.jsonString()), .text(status.rawValue),
                        SQLValue(turn.map(Int.init)), .double(Date().timeIntervalSince1970)])
        return db.lastInsertRowID
    }

    // MARK: Turns

    func turn(from r: Row) -> TurnRecord {
        TurnRecord(id: r["id"].int64 ?? 0, sessionID: r["session_id"].int64 ?? 0, number: r["number"].int ?? 0,
                   mode: MemoryMode(rawValue: r["mode"].string ?? "") ?? .chain, backend: r["backend"].string ?? "",
                   model: r["model"].string ?? "", previousResponseID: r["previous_response_id"].string,
                   responseID: r["response_id"].string, conversationID: r["conversation_id"].string,
                   itemsSent: r["items_sent"].int ?? 0, inputItems: r["input_items"].int ?? 0, requestBytes: r["request_bytes"].int ?? 0,
                   inputTokens: r["input_tokens"].int, cachedTokens: r["cached_tokens"].int, outputTokens: r["output_tokens"].int,
                   latencyMs: r["latency_ms"].double, status: TurnStatus(stored: r["status"].string), errorCode: r["error_code"].string,
                   errorMessage: r["error_message"].string, chainEvent: r["chain_event"].string.flatMap(ChainEvent.init(rawValue:)),
                   policyEffect: r["policy_effect"].string.flatMap { try? WireJSON.decode(PolicyEffect.self, from: $0) },
                   userMessageID: r["user_message_id"].int64, replyMessageID: r["reply_message_id"].int64,
                   createdAt: r["created_at"].double ?? 0)
            .with(serverEvent: r["server_event"].string.flatMap(ServerEvent.init(rawValue:)))
            .with(context: r["context"].string.flatMap { try? WireJSON.decode([ContextPart].self, from: $0) },
                  overhead: r["overhead"].string.flatMap { try? WireJSON.decode([OverheadRequest].self, from: $0) } ?? [])
    }

    public func turns(session: Int64) throws -> [TurnRecord] {
        try db.query("SELECT * FROM turns WHERE session_id = ? ORDER BY number, id", [.integer(session)]).map(turn(from:))
    }

    /// The latest `limit` turns, oldest first.
    public func recentTurns(session: Int64, limit: Int) throws -> [TurnRecord] {
        try db.query("SELECT * FROM turns WHERE session_id = ? ORDER BY number DESC, id DESC LIMIT ?", [.integer(session), .integer(Int64(limit))])
            .map(turn(from:)).reversed()
    }

    /// One turn by its id (nil: not there, e.g. its session was deleted).
    public func turn(id: Int64) throws -> TurnRecord? {
        try db.query("SELECT * FROM turns WHERE id = ?", [.integer(id)]).first.map(turn(from:))
    }

    /// The session's turn just before (`older`) or after `number` (nil: none), by its index.
    public func neighbourTurn(session: Int64, number: Int, older: Bool) throws -> TurnRecord? {
        let sql = older ? "SELECT * FROM turns WHERE session_id = ? AND number < ? ORDER BY number DESC LIMIT 1"
                        : "SELECT * FROM turns WHERE session_id = ? AND number > ? ORDER BY number LIMIT 1"
        return try db.query(sql, [.integer(session), .integer(Int64(number))]).first.map(turn(from:))
    }

    /// The session's last completed turn.
    public func lastCompletedTurn(session: Int64) throws -> TurnRecord? {
        try db.query("SELECT * FROM turns WHERE session_id = ? AND status = 'completed' ORDER BY number DESC LIMIT 1", [.integer(session)])
            .first.map(turn(from:))
    }

    /// The mode of the session's last turn (nil before the first).
    public func lastTurnMode(session: Int64) throws -> MemoryMode? {
        try db.query("SELECT mode FROM turns WHERE session_id = ? ORDER BY id DESC LIMIT 1", [.integer(session)]).first
            .flatMap { MemoryMode(rawValue: $0[0].string ?? "") }
    }

    /// The number the session's next turn gets. Only meaningful inside a write transaction (another
    /// process may take it otherwise): `recordTurn` numbers turns itself.
    public func nextTurnNumber(session: Int64) throws -> Int {
        (try db.query("SELECT coalesce(max(number), 0) FROM turns WHERE session_id = ?", [.integer(session)])[0][0].int ?? 0) + 1
    }

    /// Records a turn atomically: the user message, the reply (if any), the turn row and the session's
    /// new memory anchors commit together or not at all, in one `BEGIN IMMEDIATE` transaction. The turn
    /// number and the session are read inside it, so another process's turn can neither take the same
    /// number nor have its anchors overwritten. `update` runs in the same transaction with the new
    /// message ids, to move the session's anchors and write other rows (client items, facts).
    @discardableResult
    public func recordTurn(_ draft: TurnRecord, userItem: Item, userStatus: MessageStatus, reply: Item?, replyStatus: MessageStatus,
                           requests: [SentRequest] = [],
                           update: (inout SessionRecord, _ userMessageID: Int64, _ replyMessageID: Int64?) throws -> Void = { _, _, _ in })
        throws -> (TurnRecord, SessionRecord) {
        try db.transaction {
            var t = draft
            guard var s = try session(id: t.sessionID) else {
                throw StorageError(.queryFailed, path: db.path, "the session was deleted while its turn ran; the turn was not recorded")
            }
            t.number = try nextTurnNumber(session: t.sessionID)
            try db.execute("""
                INSERT INTO turns(session_id, number, mode, backend, model, previous_response_id, response_id, conversation_id, items_sent,
                    request_bytes, input_tokens, cached_tokens, output_tokens, latency_ms, status, error_code, error_message, chain_event,
                    policy_effect, created_at, input_items, server_event, context, overhead, overhead_bytes, overhead_input_tokens,
                    overhead_cached_tokens, overhead_output_tokens)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.integer(t.sessionID), .integer(Int64(t.number)), .text(t.mode.rawValue), .text(t.backend), .text(t.model),
                      SQLValue(t.previousResponseID), SQLValue(t.responseID), SQLValue(t.conversationID), .integer(Int64(t.itemsSent)),
                      .integer(Int64(t.requestBytes)), SQLValue(t.inputTokens), SQLValue(t.cachedTokens), SQLValue(t.outputTokens),
                      SQLValue(t.latencyMs), .text(t.status.rawValue), SQLValue(t.errorCode), SQLValue(t.errorMessage), SQLValue(t.chainEvent?.rawValue),
                      SQLValue(t.policyEffect.flatMap { try? WireJSON.encodeString($0) }), .double(t.createdAt), .integer(Int64(t.inputItems)),
                      SQLValue(t.serverEvent?.rawValue)] + t.overheadColumns)
            t.id = db.lastInsertRowID
            let userID = try insertMessage(session: t.sessionID, role: .user, item: userItem, status: userStatus, turn: t.id)
            t.userMessageID = userID
            if let reply {
                t.replyMessageID = try insertMessage(session: t.sessionID, role: .assistant, item: reply, status: replyStatus, turn: t.id)
            }
            try db.execute("UPDATE turns SET user_message_id = ?, reply_message_id = ? WHERE id = ?",
                           [.integer(userID), SQLValue(t.replyMessageID.map(Int.init)), .integer(t.id)])
            try saveRequests(requests, turn: t)
            try update(&s, userID, t.replyMessageID)
            try save(s)
            return (t, s)
        }
    }

    // MARK: Long-term facts (hybrid mode)

    /// The facts of a profile, oldest first, as (key, value).
    /// The profile's facts, oldest first; with `newest`, only that many of the most recent (a turn reads
    /// what fits its budget, not a profile that grew for years).
    public func facts(profile: String, newest: Int? = nil) throws -> [(String, String)] {
        guard let newest else {
            return try db.query("SELECT key, value FROM facts WHERE profile = ? ORDER BY updated_at, rowid", [.text(profile)])
                .map { ($0[0].string ?? "", $0[1].string ?? "") }
        }
        return try db.query("SELECT key, value FROM facts WHERE profile = ? ORDER BY updated_at DESC, rowid DESC LIMIT ?",
                            [.text(profile), .integer(Int64(newest))]).map { ($0[0].string ?? "", $0[1].string ?? "") }.reversed()
    }

    public func saveFact(profile: String, key: String, value: String, session: String) throws {
        try db.execute("""
            INSERT INTO facts(profile, key, value, session, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(profile, key) DO UPDATE SET value = excluded.value, session = excluded.session, updated_at = excluded.updated_at
            """, [.text(profile), .text(key), .text(value), .text(session), .double(Date().timeIntervalSince1970)])
    }

    // MARK: Compactions (summarizing policies)

    public struct Compaction: Sendable, Equatable {
        public var covers: Int
        public var summarized: Int
        public var summary: String
    }

    public func latestCompaction(session: Int64) throws -> Compaction? {
        try db.query("SELECT covers, summarized, summary FROM compactions WHERE session_id = ? ORDER BY id DESC LIMIT 1", [.integer(session)])
            .first.map { Compaction(covers: $0[0].int ?? 0, summarized: $0[1].int ?? 0, summary: $0[2].string ?? "") }
    }

    public func saveCompaction(session: Int64, turn: Int64?, _ c: Compaction) throws {
        try db.execute("INSERT INTO compactions(session_id, turn_id, covers, summarized, summary, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                       [.integer(session), SQLValue(turn.map(Int.init)), .integer(Int64(c.covers)), .integer(Int64(c.summarized)),
                        .text(c.summary), .double(Date().timeIntervalSince1970)])
    }

    /// For a live view: a token that changes when other programs change the session's items in an
    /// external store (a Redis session, an SDK file). nil for items kept in this file, whose changes
    /// `PRAGMA data_version` already shows. Poll it while idle; when it moves, read the items again.
    public func externalChangeToken(for s: SessionRecord) throws -> String? {
        guard s.clientDB != nil else { return nil }
        return try agentSession(for: s).changeToken()
    }

    /// The Agents SDK session holding this session's client-side items: its own rows in this file, an
    /// external SDK SQLite file, or a Redis session (`clientDB` is then a redis:// URL).
    public func agentSession(for s: SessionRecord) throws -> any AgentSession {
        guard let external = s.clientDB else { return SQLiteAgentSession(sessionID: s.name, database: db) }
        if RedisURL.isRedis(external) { return try RedisAgentSession.open(url: try RedisURL(parsing: external), sessionID: s.name) }
        return try SQLiteAgentSession.openExternal(path: external, sessionID: s.name)
    }
}
