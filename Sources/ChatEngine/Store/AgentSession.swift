import Foundation

/// The OpenAI Agents SDK `Session` protocol: get the items (all, or the latest N in order), add items,
/// pop the newest, clear.
public protocol AgentSession: Sendable {
    var sessionID: String { get }
    /// All items, or the latest `limit` items, in chronological order.
    func getItems(limit: Int?) throws -> [Item]
    func addItems(_ items: [Item]) throws
    /// Removes and returns the most recent item, or nil when empty.
    func popItem() throws -> Item?
    func clearSession() throws
    /// A page of the session as conversation rows, for a screen that shows it (Transcript.swift).
    func rows(_ page: TranscriptPage) throws -> (rows: [TranscriptRow], more: Bool)
    /// The number of stored items (readable or not).
    func count() throws -> Int
    /// A short value that changes whenever any writer (this process, another, a Python agent) changes
    /// the items; cheap enough for a view to poll a few times a second to show others' items live.
    func changeToken() throws -> String
}

/// `SQLiteSession` with the SDK's exact tables, columns and index (`agent_sessions`, `agent_messages`
/// holding one JSON item per row), so a session
/// written by a Python agent opens here and the other way round. Rows that do not parse as JSON are
/// skipped (as the SDK does); rows chatbench did not add are never rewritten.
public final class SQLiteAgentSession: AgentSession, @unchecked Sendable {
    public let sessionID: String
    let db: Database
    let sessionsTable: String
    let messagesTable: String

    /// The SDK's schema, with the table names substituted as the SDK does.
    public static func schema(sessions: String = "agent_sessions", messages: String = "agent_messages") -> String {
        """
        CREATE TABLE IF NOT EXISTS \(sessions) (
            session_id TEXT PRIMARY KEY,
            created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
            updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
        );
        CREATE TABLE IF NOT EXISTS \(messages) (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL,
            message_data TEXT NOT NULL,
            created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
            FOREIGN KEY (session_id) REFERENCES \(sessions) (session_id) ON DELETE CASCADE
        );
        CREATE INDEX IF NOT EXISTS idx_\(messages)_session_id ON \(messages) (session_id, id);
        """
    }

    public init(sessionID: String, database: Database, sessionsTable: String = "agent_sessions", messagesTable: String = "agent_messages") {
        self.sessionID = sessionID
        db = database
        self.sessionsTable = sessionsTable
        self.messagesTable = messagesTable
    }

    /// Opens an SDK session file written by another program (the Python SDK): no chatbench schema is
    /// added and its `user_version` is left alone; the SDK tables are created if missing.
    /// A missing folder is an error (the path came from the user; nothing is created).
    public static func openExternal(path: String, sessionID: String) throws -> SQLiteAgentSession {
        let db = try Database.open(path: path, migrations: [], refuseNewer: false, createFolder: false)
        try db.executeScript(schema())
        return SQLiteAgentSession(sessionID: sessionID, database: db)
    }

    /// The session ids stored in an SDK file, read without changing a byte of it.
    public static func list(path: String) throws -> [(String, Int)] {
        try list(in: try Database.openReadOnly(path: path))
    }

    /// The session ids stored in an SDK file, newest first, with their item counts.
    public static func list(in db: Database, messagesTable: String = "agent_messages", sessionsTable: String = "agent_sessions") throws -> [(String, Int)] {
        try db.query("""
            SELECT s.session_id, (SELECT count(*) FROM \(messagesTable) m WHERE m.session_id = s.session_id) AS n
            FROM \(sessionsTable) s ORDER BY s.updated_at DESC, s.session_id
            """).map { ($0[0].string ?? "", $0[1].int ?? 0) }
    }

    private static func parse(_ text: String?) -> Item? { text.flatMap(Item.parse) }

    public func getItems(limit: Int? = nil) throws -> [Item] {
        guard let limit else {
            return try db.query("SELECT message_data FROM \(messagesTable) WHERE session_id = ? ORDER BY id ASC", [.text(sessionID)])
                .compactMap { Self.parse($0[0].string) }
        }
        guard limit > 0 else { return [] }
        // Grow the window until `limit` readable items come back (unreadable rows are skipped).
        var window = limit
        while true {
            let rows = try db.query("SELECT message_data FROM \(messagesTable) WHERE session_id = ? ORDER BY id DESC LIMIT ?",
                                    [.text(sessionID), .integer(Int64(window))])
            let items = rows.compactMap { Self.parse($0[0].string) }
            if items.count >= limit || rows.count < window {
                return Array(items.prefix(limit).reversed())
            }
            window *= 2
        }
    }

    public func addItems(_ items: [Item]) throws {
        guard !items.isEmpty else { return }
        try db.transaction {
            try db.execute("INSERT OR IGNORE INTO \(sessionsTable) (session_id) VALUES (?)", [.text(sessionID)])
            for item in items {
                try db.execute("INSERT INTO \(messagesTable) (session_id, message_data) VALUES (?, ?)", [.text(sessionID), .text(item.jsonString())])
            }
            try db.execute("UPDATE \(sessionsTable) SET updated_at = CURRENT_TIMESTAMP WHERE session_id = ?", [.text(sessionID)])
        }
    }

    public func popItem() throws -> Item? {
        try db.transaction {
            // Like the SDK: remove the newest row; a corrupt one is removed and skipped.
            while let row = try db.query("SELECT id, message_data FROM \(messagesTable) WHERE session_id = ? ORDER BY id DESC LIMIT 1",
                                         [.text(sessionID)]).first {
                try db.execute("DELETE FROM \(messagesTable) WHERE id = ?", [row[0]])
                if let item = Self.parse(row[1].string) { return item }
            }
            return nil
        }
    }

    public func clearSession() throws {
        try db.transaction {
            try db.execute("DELETE FROM \(messagesTable) WHERE session_id = ?", [.text(sessionID)])
            try db.execute("DELETE FROM \(sessionsTable) WHERE session_id = ?", [.text(sessionID)])
        }
    }

    /// The item count and the newest row id (ids only grow: AUTOINCREMENT).
    public func changeToken() throws -> String {
        let r = try db.query("SELECT count(*), coalesce(max(id), 0) FROM \(messagesTable) WHERE session_id = ?", [.text(sessionID)])[0]
        return "\(r[0].int ?? 0)/\(r[1].int ?? 0)"
    }

    public func count() throws -> Int {
        try db.query("SELECT count(*) FROM \(messagesTable) WHERE session_id = ?", [.text(sessionID)])[0][0].int ?? 0
    }
}
