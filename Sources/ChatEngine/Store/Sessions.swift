import Foundation

/// A session as a list shows it (no message bodies).
public struct SessionSummary: Sendable, Equatable, Codable {
    public var name: String
    public var mode: String
    public var backend: String
    public var policy: String
    public var turns: Int
    public var messages: Int
    public var bytes: Int
    public var last_activity: Double
    public var forked_from: String?

    public init(name: String, mode: String, backend: String, policy: String, turns: Int, messages: Int, bytes: Int, last_activity: Double, forked_from: String?) {
        self.name = name
        self.mode = mode
        self.backend = backend
        self.policy = policy
        self.turns = turns
        self.messages = messages
        self.bytes = bytes
        self.last_activity = last_activity
        self.forked_from = forked_from
    }
}

/// Browsing and managing sessions: every operation is a query or a transaction over the store.
extension WorkbenchStore {
    /// Full-text search over message text, kept in sync with `messages` by triggers.
    static let searchMigration = Migration(version: 4, sql: """
        CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id');
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
        END;
        CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
        END;
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
            INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
        END;
        INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
        CREATE INDEX turns_by_response ON turns(response_id);
        """)

    /// Per-session counters kept by triggers, so listing 10,000 sessions reads no message bodies.
    static let countersMigration = Migration(version: 5, sql: """
        ALTER TABLE sessions ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE sessions ADD COLUMN content_bytes INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE sessions ADD COLUMN turn_count INTEGER NOT NULL DEFAULT 0;
        UPDATE sessions SET
            message_count = (SELECT count(*) FROM messages m WHERE m.session_id = sessions.id),
            content_bytes = (SELECT coalesce(sum(length(CAST(m.content AS BLOB))), 0) FROM messages m WHERE m.session_id = sessions.id),
            turn_count = (SELECT count(*) FROM turns t WHERE t.session_id = sessions.id);
        CREATE TRIGGER sessions_count_message_insert AFTER INSERT ON messages BEGIN
            UPDATE sessions SET message_count = message_count + 1, content_bytes = content_bytes + length(CAST(new.content AS BLOB)) WHERE id = new.session_id;
        END;
        CREATE TRIGGER sessions_count_message_delete AFTER DELETE ON messages BEGIN
            UPDATE sessions SET message_count = message_count - 1, content_bytes = content_bytes - length(CAST(old.content AS BLOB)) WHERE id = old.session_id;
        END;
        CREATE TRIGGER sessions_count_turn_insert AFTER INSERT ON turns BEGIN
            UPDATE sessions SET turn_count = turn_count + 1 WHERE id = new.session_id;
        END;
        CREATE TRIGGER sessions_count_turn_delete AFTER DELETE ON turns BEGIN
            UPDATE sessions SET turn_count = turn_count - 1 WHERE id = old.session_id;
        END;
        CREATE INDEX sessions_by_activity ON sessions(updated_at DESC, id DESC);
        """)

    /// An FTS5 query matching every word of `text` as a prefix ("lisb" finds "Lisbon").
    static func ftsQuery(_ text: String) -> String? {
        let words = text.split(whereSeparator: { $0.isWhitespace }).map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"*" }
        return words.isEmpty ? nil : words.joined(separator: " ")
    }

    /// Sessions, newest activity first; with `search`, those whose name or message text matches.
    public func listSessions(search: String? = nil, limit: Int = 10_000) throws -> [SessionSummary] {
        var sql = """
            SELECT s.name, s.mode, s.backend, s.policy, s.updated_at, s.forked_from,
                s.turn_count AS turns, s.message_count AS messages, s.content_bytes AS bytes
            FROM sessions s
            """
        var params: [SQLValue] = []
        if let search, let q = Self.ftsQuery(search) {
            sql += """
                 WHERE s.name LIKE ? ESCAPE '\\' OR s.id IN (SELECT m.session_id FROM messages m
                    WHERE m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?))
                """
            let like = "%" + search.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
            params = [.text(like), .text(q)]
        }
        sql += " ORDER BY s.updated_at DESC, s.id DESC LIMIT ?"
        params.append(.integer(Int64(limit)))
        return try db.query(sql, params).map { r in
            SessionSummary(name: r["name"].string ?? "", mode: r["mode"].string ?? "", backend: r["backend"].string ?? "",
                           policy: r["policy"].string ?? "all", turns: r["turns"].int ?? 0, messages: r["messages"].int ?? 0,
                           bytes: r["bytes"].int ?? 0, last_activity: r["updated_at"].double ?? 0, forked_from: r["forked_from"].string)
        }
    }

    public func forkedFrom(session: Int64) throws -> String? {
        try db.query("SELECT forked_from FROM sessions WHERE id = ?", [.integer(session)]).first?[0].string
    }

    func requireSession(_ name: String) throws -> SessionRecord {
        guard let s = try session(named: name) else { throw ConfigurationError("no session named '\(name)' (see 'chatbench sessions list')") }
        return s
    }

    /// Why `name` cannot name a session (nil: it can): the one check of every name given (--session,
    /// the screen's new-session dialog, rename, fork --as), so a blank name is never created or listed.
    public static func sessionNameProblem(_ name: String) -> String? {
        name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? "a session name cannot be empty or only spaces" : nil
    }

    static func checkSessionName(_ name: String) throws {
        if let problem = sessionNameProblem(name) { throw ConfigurationError(problem) }
    }

    /// Renames a session (and its Agents SDK session id, which is its name).
    public func renameSession(_ old: String, to new: String) throws {
        let new = new.trimmingCharacters(in: .whitespaces)
        try Self.checkSessionName(new)
        let s = try requireSession(old)
        guard try session(named: new) == nil else { throw ConfigurationError("a session named '\(new)' already exists") }
        if let store = s.clientDB, RedisURL.isRedis(store) {
            // Its items are the Redis session '\(old)', which other programs may share: they keep that id.
            throw ConfigurationError("'\(old)' keeps its history in a shared Redis session (\(store)) under that name; renaming it would leave the history behind")
        }
        try db.transaction {
            try db.execute("UPDATE sessions SET name = ? WHERE id = ?", [.text(new), .integer(s.id)])
            if s.clientDB == nil {
                try db.execute("INSERT OR IGNORE INTO agent_sessions(session_id, created_at, updated_at) SELECT ?, created_at, updated_at FROM agent_sessions WHERE session_id = ?",
                               [.text(new), .text(old)])
                try db.execute("UPDATE agent_messages SET session_id = ? WHERE session_id = ?", [.text(new), .text(old)])
                try db.execute("DELETE FROM agent_sessions WHERE session_id = ?", [.text(old)])
            }
            if try setting("last_session") == old { try setSetting("last_session", new) }
        }
    }

    /// What the server holds for a session: its stored response ids and its conversation.
    public func serverObjects(_ name: String) throws -> (responses: [String], conversation: String?) {
        let s = try requireSession(name)
        let ids = try db.query("SELECT DISTINCT response_id FROM turns WHERE session_id = ? AND response_id IS NOT NULL AND mode != 'client'",
                               [.integer(s.id)]).compactMap { $0[0].string }
        return (ids, s.conversationID)
    }

    /// Deletes a session's local data: the session, its transcript, turns, compactions and (for its own
    /// client store) its Agents SDK rows. Long-term facts belong to the profile and stay.
    public func deleteSession(_ name: String) throws {
        let s = try requireSession(name)
        try db.transaction {
            try db.execute("DELETE FROM messages WHERE session_id = ?", [.integer(s.id)])
            try db.execute("DELETE FROM turns WHERE session_id = ?", [.integer(s.id)])
            try db.execute("DELETE FROM compactions WHERE session_id = ?", [.integer(s.id)])
            try db.execute("DELETE FROM memory_summaries WHERE session_id = ?", [.integer(s.id)])
            try db.execute("DELETE FROM turn_requests WHERE session_id = ?", [.integer(s.id)])
            if s.clientDB == nil {
                try db.execute("DELETE FROM agent_messages WHERE session_id = ?", [.text(s.name)])
                try db.execute("DELETE FROM agent_sessions WHERE session_id = ?", [.text(s.name)])
            }
            try db.execute("DELETE FROM sessions WHERE id = ?", [.integer(s.id)])
            if try setting("last_session") == name { try db.execute("DELETE FROM settings WHERE key = 'last_session'") }
        }
    }

    /// A new session whose history ends at `at` (a response id, or a message id), leaving the original
    /// untouched. In chain and hybrid modes the fork's next turn chains from that response; in client
    /// mode its SDK session holds the copied history; in conversation mode its first turn seeds a new
    /// conversation from it.
    @discardableResult
    public func forkSession(_ name: String, at point: String, as newName: String) throws -> SessionRecord {
        try Self.checkSessionName(newName)
        let src = try requireSession(name)
        guard try session(named: newName) == nil else { throw ConfigurationError("a session named '\(newName)' already exists") }
        // The last message of the fork, and the response the fork's chain continues from.
        var lastMessage: Int64
        var head: String?
        if point.hasPrefix("resp_") || point.hasPrefix("chatcmpl") {
            guard let t = try db.query("SELECT reply_message_id, response_id FROM turns WHERE session_id = ? AND response_id = ? AND status = 'completed'",
                                       [.integer(src.id), .text(point)]).first, let reply = t[0].int64 else {
                throw ConfigurationError("session '\(name)' has no completed turn with response \(point)")
            }
            lastMessage = reply
            head = point
        } else {
            guard let id = Int64(point.hasPrefix("m") ? String(point.dropFirst()) : point),
                  try db.query("SELECT 1 FROM messages WHERE session_id = ? AND id = ?", [.integer(src.id), .integer(id)]).first != nil else {
                throw ConfigurationError("session '\(name)' has no message \(point) (use a response id or a message id from 'chatbench sessions show')")
            }
            lastMessage = id
            // The chain can continue from the last completed turn whose reply is at or before the point.
            head = try db.query("""
                SELECT response_id FROM turns WHERE session_id = ? AND status = 'completed' AND reply_message_id <= ? AND mode != 'client'
                ORDER BY reply_message_id DESC LIMIT 1
                """, [.integer(src.id), .integer(id)]).first?[0].string
        }
        return try db.transaction {
            var fork = try createSession(name: newName, mode: src.mode, backend: src.backend, model: src.model, policy: src.policy, profile: src.profile)
            try db.execute("UPDATE sessions SET forked_from = ? WHERE id = ?", [.text("\(name)@\(point)"), .integer(fork.id)])
            fork.serverPolicy = src.serverPolicy
            var idMap: [Int64: Int64] = [:]
            var headCovers: Int64 = 0
            let headReply = try head.flatMap { h in try db.query("SELECT reply_message_id FROM turns WHERE session_id = ? AND response_id = ?", [.integer(src.id), .text(h)]).first?[0].int64 }
            for m in try messages(session: src.id) where m.id <= lastMessage {
                try db.execute("INSERT INTO messages(session_id, parent_id, role, content, item, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                               [.integer(fork.id), SQLValue(m.parentID.flatMap { idMap[$0] }.map(Int.init)), .text(m.role.rawValue), .text(m.content),
                                .text(m.item.jsonString()), .text(m.status.rawValue), .double(m.createdAt)])
                idMap[m.id] = db.lastInsertRowID
                if let hr = headReply, m.id <= hr { headCovers = db.lastInsertRowID }
            }
            // Turns up to the point come along, so the fork's chain panel shows where it came from.
            for t in try turns(session: src.id) where (t.replyMessageID ?? t.userMessageID ?? 0) <= lastMessage {
                var copy = t
                copy.sessionID = fork.id
                try recordCopiedTurn(copy, userID: t.userMessageID.flatMap { idMap[$0] }, replyID: t.replyMessageID.flatMap { idMap[$0] })
            }
            fork.chainHead = (src.mode == .chain || src.mode == .hybrid) ? head : nil
            fork.chainCovers = headCovers
            fork.conversationID = nil
            fork.clientCovers = 0   // the client store is seeded from the copied transcript on the next client turn
            try save(fork)
            return fork
        }
    }

    private func recordCopiedTurn(_ t: TurnRecord, userID: Int64?, replyID: Int64?) throws {
        try db.execute("""
            INSERT INTO turns(session_id, number, mode, backend, model, previous_response_id, response_id, conversation_id, items_sent,
                request_bytes, input_tokens, cached_tokens, output_tokens, latency_ms, status, error_code, error_message, chain_event,
                policy_effect, created_at, input_items, user_message_id, reply_message_id, server_event, context, overhead, overhead_bytes,
                overhead_input_tokens, overhead_cached_tokens, overhead_output_tokens)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.integer(t.sessionID), .integer(Int64(t.number)), .text(t.mode.rawValue), .text(t.backend), .text(t.model),
                  SQLValue(t.previousResponseID), SQLValue(t.responseID), SQLValue(t.conversationID), .integer(Int64(t.itemsSent)),
                  .integer(Int64(t.requestBytes)), SQLValue(t.inputTokens), SQLValue(t.cachedTokens), SQLValue(t.outputTokens),
                  SQLValue(t.latencyMs), .text(t.status.rawValue), SQLValue(t.errorCode), SQLValue(t.errorMessage), SQLValue(t.chainEvent?.rawValue),
                  SQLValue(t.policyEffect.flatMap { try? WireJSON.encodeString($0) }), .double(t.createdAt), .integer(Int64(t.inputItems)),
                  SQLValue(userID.map(Int.init)), SQLValue(replyID.map(Int.init)), SQLValue(t.serverEvent?.rawValue)] + t.overheadColumns)
    }

    // MARK: Export

    /// Everything about a session as JSON: the session, every message with its item, every turn and
    /// metric. No credentials are ever stored, so none can be exported.
    public func exportJSON(_ name: String) throws -> String {
        let s = try requireSession(name)
        let messages = try self.messages(session: s.id).map { m -> JSONValue in
            .object(["id": .int(m.id), "role": .string(m.role.rawValue), "status": .string(m.status.rawValue), "content": .string(m.content), "item": m.item.jsonValue,
                     "turn_id": m.turnID.map { .int($0) } ?? .null, "created_at": .double(m.createdAt)])
        }
        let turns = try self.turns(session: s.id).map(Self.turnJSON)
        let doc: JSONValue = .object(["format": .string("chatbench-session/1"), "session": try sessionJSON(s), "messages": .array(messages), "turns": .array(turns)])
        let e = WireJSON.encoder()
        e.outputFormatting.insert(.prettyPrinted)
        return String(decoding: try e.encode(doc), as: UTF8.self) + "\n"
    }

    /// The session object of `sessions export --format json` and `sessions show --format json`.
    public func sessionJSON(_ s: SessionRecord) throws -> JSONValue {
        .object([
            "name": .string(s.name), "mode": .string(s.mode.rawValue), "backend": .string(s.backend), "model": .string(s.model),
            "policy": .string(s.policy), "server_policy": .string(s.serverPolicy), "profile": .string(s.profile), "chain_head": s.chainHead.map { .string($0) } ?? .null,
            "conversation_id": s.conversationID.map { .string($0) } ?? .null, "forked_from": try forkedFrom(session: s.id).map { .string($0) } ?? .null,
            "created_at": .double(s.createdAt), "updated_at": .double(s.updatedAt)])
    }

    public static func turnJSON(_ t: TurnRecord) -> JSONValue {
        func opt(_ v: Int?) -> JSONValue { v.map { .int(Int64($0)) } ?? .null }
        func str(_ v: String?) -> JSONValue { v.map { .string($0) } ?? .null }
        return .object([
            "turn": .int(Int64(t.number)), "mode": .string(t.mode.rawValue), "backend": .string(t.backend), "model": .string(t.model),
            "status": .string(t.status.rawValue), "response_id": str(t.responseID), "previous_response_id": str(t.previousResponseID),
            "conversation_id": str(t.conversationID), "chain_event": str(t.chainEvent?.rawValue), "items_sent": .int(Int64(t.itemsSent)),
            "request_bytes": .int(Int64(t.requestBytes)), "input_tokens": opt(t.inputTokens), "cached_tokens": opt(t.cachedTokens),
            "output_tokens": opt(t.outputTokens), "latency_ms": t.latencyMs.map { .double($0) } ?? .null,
            "error_code": str(t.errorCode), "error_message": str(t.errorMessage), "server_event": str(t.serverEvent?.rawValue),
            "policy": t.policyEffect.map { p in .object(["policy": .string(p.policy), "kept": .int(Int64(p.kept)), "dropped": .int(Int64(p.dropped)), "summarized": .int(Int64(p.summarized))]) } ?? .null,
        ])
    }

    /// A readable transcript with the response ids, then a per-turn metrics table.
    public func exportMarkdown(_ name: String) throws -> String {
        let s = try requireSession(name)
        let turns = try self.turns(session: s.id)
        let byID = Dictionary(turns.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var out = "# \(s.name)\n\n"
        out += "Mode: \(s.mode.title) · backend: \(s.backend) · model: \(s.model)"
        if s.mode == .client { out += " · policy: \(s.policy)" }
        if let f = try forkedFrom(session: s.id) { out += " · forked from \(f)" }
        out += "\n\n"
        for m in try messages(session: s.id) {
            let who = m.role == .user ? "**You**" : "**Assistant**"
            var meta: [String] = []
            if m.role == .assistant, let t = m.turnID.flatMap({ byID[$0] }), let rid = t.responseID { meta.append("`\(rid)`") }
            if m.status != .complete { meta.append("*\(m.status.rawValue)*") }
            out += "\(who)\(meta.isEmpty ? "" : " (" + meta.joined(separator: ", ") + ")"):\n\n\(m.content)\n\n"
        }
        out += "## Turns\n\n| turn | mode | response | previous | request bytes | items | input tokens (cached) | output tokens | latency ms | status |\n"
        out += "|---:|---|---|---|---:|---:|---:|---:|---:|---|\n"
        for t in turns {
            out += "| \(t.number) | \(t.mode.rawValue) | \(t.responseID.map { "`\($0)`" } ?? "—") | \(t.previousResponseID.map { "`\($0)`" } ?? "—") | \(t.requestBytes) | \(t.itemsSent) | \(t.inputTokens ?? 0) (\(t.cachedTokens ?? 0)) | \(t.outputTokens ?? 0) | \(String(format: "%.1f", t.latencyMs ?? 0)) | \(t.status.rawValue)\(t.chainEvent.map { " · \($0.rawValue)" } ?? "") |\n"
        }
        return out
    }
}

extension Item {
    var jsonValue: JSONValue { JSONValue.parse(jsonString()) ?? .null }
}
