import Foundation

/// What each turn sent, for the context X-ray: per turn its context parts (source, items, tokens,
/// bytes) and its overhead requests (summarizer, memory updater), in the turn row; the exact request
/// bodies with each input item's source in `turn_requests`, kept for the newest `keptBodies` turns of
/// each session (client history grows every turn: keeping every body would grow the file with the square
/// of the session). Overhead is billed apart from the turn; each session keeps its overhead totals.
/// Also the layered mode's rolling summary of the turns that left working memory.
extension WorkbenchStore {
    public static let keptBodies = 100

    static let turnRequestsMigration = Migration(version: 10, sql: """
        ALTER TABLE turns ADD COLUMN context TEXT;
        ALTER TABLE turns ADD COLUMN overhead TEXT;
        ALTER TABLE turns ADD COLUMN overhead_bytes INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE turns ADD COLUMN overhead_input_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE turns ADD COLUMN overhead_cached_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE turns ADD COLUMN overhead_output_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE sessions ADD COLUMN total_overhead_bytes INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE sessions ADD COLUMN total_overhead_input_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE sessions ADD COLUMN total_overhead_cached_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE sessions ADD COLUMN total_overhead_output_tokens INTEGER NOT NULL DEFAULT 0;
        CREATE TRIGGER sessions_overhead_turn_insert AFTER INSERT ON turns BEGIN
            UPDATE sessions SET total_overhead_bytes = total_overhead_bytes + new.overhead_bytes,
                total_overhead_input_tokens = total_overhead_input_tokens + new.overhead_input_tokens,
                total_overhead_cached_tokens = total_overhead_cached_tokens + new.overhead_cached_tokens,
                total_overhead_output_tokens = total_overhead_output_tokens + new.overhead_output_tokens
            WHERE id = new.session_id;
        END;
        CREATE TRIGGER sessions_overhead_turn_delete AFTER DELETE ON turns BEGIN
            UPDATE sessions SET total_overhead_bytes = total_overhead_bytes - old.overhead_bytes,
                total_overhead_input_tokens = total_overhead_input_tokens - old.overhead_input_tokens,
                total_overhead_cached_tokens = total_overhead_cached_tokens - old.overhead_cached_tokens,
                total_overhead_output_tokens = total_overhead_output_tokens - old.overhead_output_tokens
            WHERE id = old.session_id;
        END;
        CREATE TABLE turn_requests (
            turn_id INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
            session_id INTEGER NOT NULL,
            turn_number INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            body TEXT NOT NULL,
            sources TEXT NOT NULL,
            PRIMARY KEY (turn_id, seq)
        );
        CREATE INDEX turn_requests_by_session ON turn_requests(session_id, turn_number);
        CREATE TABLE memory_summaries (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            through_message INTEGER NOT NULL,
            summary TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX memory_summaries_by_session ON memory_summaries(session_id, id);
        """)

    /// Stores a turn's request bodies and drops the bodies of turns older than the newest `keptBodies`.
    func saveRequests(_ requests: [SentRequest], turn: TurnRecord) throws {
        for (i, r) in requests.enumerated() {
            try db.execute("INSERT INTO turn_requests(turn_id, session_id, turn_number, seq, kind, body, sources) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           [.integer(turn.id), .integer(turn.sessionID), .integer(Int64(turn.number)), .integer(Int64(i)), .text(r.kind.rawValue),
                            .text(r.body), .text((try? WireJSON.encodeString(r.sources)) ?? "[]")])
        }
        try db.execute("DELETE FROM turn_requests WHERE session_id = ? AND turn_number <= ?",
                       [.integer(turn.sessionID), .integer(Int64(turn.number - Self.keptBodies))])
    }

    /// The requests a turn made, as sent (empty when its bodies were dropped or it predates them).
    public func requests(turn id: Int64) throws -> [SentRequest] {
        try db.query("SELECT kind, body, sources FROM turn_requests WHERE turn_id = ? ORDER BY seq", [.integer(id)]).compactMap { r in
            guard let kind = SentRequest.Kind(rawValue: r[0].string ?? "") else { return nil }
            var req = SentRequest(kind: kind, body: r[1].string ?? "", sources: [])
            req.sources = (try? WireJSON.decode([String].self, from: r[2].string ?? "[]")) ?? []
            return req
        }
    }

    // MARK: Layered memory's summary

    public struct MemorySummary: Sendable, Equatable {
        /// The last transcript message the summary covers.
        public var throughMessage: Int64
        public var summary: String
    }

    public func latestMemorySummary(session: Int64) throws -> MemorySummary? {
        try db.query("SELECT through_message, summary FROM memory_summaries WHERE session_id = ? ORDER BY id DESC LIMIT 1", [.integer(session)])
            .first.map { MemorySummary(throughMessage: $0[0].int64 ?? 0, summary: $0[1].string ?? "") }
    }

    func saveMemorySummary(session: Int64, _ s: MemorySummary) throws {
        try db.execute("INSERT INTO memory_summaries(session_id, through_message, summary, created_at) VALUES (?, ?, ?, ?)",
                       [.integer(session), .integer(s.throughMessage), .text(s.summary), .double(Date().timeIntervalSince1970)])
    }
}
