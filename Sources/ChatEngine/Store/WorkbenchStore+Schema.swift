import Foundation

extension WorkbenchStore {
    public static let migrations: [Migration] = [
        Migration(version: 1, sql: """
            CREATE TABLE sessions (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                mode TEXT NOT NULL,
                backend TEXT NOT NULL,
                model TEXT NOT NULL,
                policy TEXT NOT NULL DEFAULT 'all',
                profile TEXT NOT NULL DEFAULT 'default',
                chain_head TEXT,
                chain_covers INTEGER NOT NULL DEFAULT 0,
                conversation_id TEXT,
                conversation_covers INTEGER NOT NULL DEFAULT 0,
                client_covers INTEGER NOT NULL DEFAULT 0,
                forked_from TEXT,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            );
            CREATE TABLE messages (
                id INTEGER PRIMARY KEY,
                session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                parent_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
                role TEXT NOT NULL,
                content TEXT NOT NULL,
                item TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'complete',
                turn_id INTEGER,
                created_at REAL NOT NULL
            );
            CREATE INDEX messages_by_session ON messages(session_id, id);
            CREATE TABLE turns (
                id INTEGER PRIMARY KEY,
                session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                number INTEGER NOT NULL,
                mode TEXT NOT NULL,
                backend TEXT NOT NULL,
                model TEXT NOT NULL,
                previous_response_id TEXT,
                response_id TEXT,
                conversation_id TEXT,
                items_sent INTEGER NOT NULL,
                request_bytes INTEGER NOT NULL,
                input_tokens INTEGER,
                cached_tokens INTEGER,
                output_tokens INTEGER,
                latency_ms REAL,
                status TEXT NOT NULL,
                error_code TEXT,
                error_message TEXT,
                chain_event TEXT,
                policy_effect TEXT,
                user_message_id INTEGER,
                reply_message_id INTEGER,
                created_at REAL NOT NULL
            );
            CREATE INDEX turns_by_session ON turns(session_id, number);
            CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """),
        // Client-side memory: the Agents SDK session tables (so the Python SDK can open chatbench's
        // sessions), long-term facts for hybrid mode, and summarizing policies' compactions.
        Migration(version: 2, sql: SQLiteAgentSession.schema() + """
            CREATE TABLE facts (
                profile TEXT NOT NULL,
                key TEXT NOT NULL,
                value TEXT NOT NULL,
                session TEXT,
                updated_at REAL NOT NULL,
                PRIMARY KEY (profile, key)
            );
            CREATE TABLE compactions (
                id INTEGER PRIMARY KEY,
                session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                turn_id INTEGER,
                covers INTEGER NOT NULL,
                summarized INTEGER NOT NULL,
                summary TEXT NOT NULL,
                created_at REAL NOT NULL
            );
            ALTER TABLE sessions ADD COLUMN client_db TEXT;
            """),
        // The number of input items of the turn's final request: what it added to a server chain.
        Migration(version: 3, sql: "ALTER TABLE turns ADD COLUMN input_items INTEGER NOT NULL DEFAULT 0;"),
        searchMigration,
        countersMigration,
        // Where an HTTP session talks to, so later turns reach the same server.
        Migration(version: 6, sql: "ALTER TABLE sessions ADD COLUMN base_url TEXT; ALTER TABLE sessions ADD COLUMN api TEXT;"),
        // A turn number is unique in its session. Files written before this (when two processes could
        // both take the same number) are repaired first: each session's turns are renumbered 1, 2, 3…
        // in the order they were numbered and inserted, which keeps every turn and its order.
        Migration(version: 7, sql: """
            UPDATE turns SET number = (
                SELECT n FROM (SELECT id, row_number() OVER (PARTITION BY session_id ORDER BY number, id) AS n FROM turns) AS ranked
                WHERE ranked.id = turns.id)
            WHERE EXISTS (SELECT 1 FROM turns t2 WHERE t2.session_id = turns.session_id GROUP BY t2.number HAVING count(*) > 1);
            DROP INDEX turns_by_session;
            CREATE UNIQUE INDEX turns_by_session ON turns(session_id, number);
            """),
        runningCountsMigration,
        // The server policy of the server modes (compaction, truncation), and what the server did to
        // each turn's context; the partial index finds a chain's last compaction in one lookup.
        Migration(version: 9, sql: """
            ALTER TABLE sessions ADD COLUMN server_policy TEXT NOT NULL DEFAULT 'none';
            ALTER TABLE turns ADD COLUMN server_event TEXT;
            CREATE INDEX turns_server_events ON turns(session_id, number) WHERE server_event IS NOT NULL;
            """),
        turnRequestsMigration,
        // Semantic memory reads a profile's newest facts each turn: found through this index.
        Migration(version: 11, sql: "CREATE INDEX facts_by_recency ON facts(profile, updated_at);"),
        // Base URLs were stored with the user and password they carried (some put the key there).
        Migration(version: 12) { db in
            for row in try db.query("SELECT id, base_url FROM sessions WHERE base_url LIKE '%@%'") {
                guard let id = row[0].int64, let url = row[1].string, HTTPConfig.withoutCredentials(url) != url else { continue }
                try db.execute("UPDATE sessions SET base_url = ? WHERE id = ?", [.text(HTTPConfig.withoutCredentials(url)), .integer(id)])
            }
        },
    ]
}
