import Foundation

/// Running counts, so the memory panel costs the same at turn 10,000 as at turn 10: each completed turn
/// row carries what the server holds after it (items and turns on its chain, and on its conversation),
/// and each session carries its totals (bytes sent, tokens billed). Triggers keep them, so every writer
/// (a turn, a fork's copies, an attach) counts alike, and other programs writing rows stay consistent.
///
/// - `chain_items` = the `chain_items` of the turn whose response it chained from (same session) +
///   its own input items + 1 (the reply); `chain_turns` likewise counts turns.
/// - `conv_items` = the previous completed turn on the same conversation's `conv_items` + the items it
///   sent (a repair's failed attempt excluded) + 1; `conv_turns` likewise.
extension WorkbenchStore {
    static let runningCountsMigration = Migration(version: 8) { db in
        try db.executeScript("""
            ALTER TABLE turns ADD COLUMN chain_items INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE turns ADD COLUMN chain_turns INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE turns ADD COLUMN conv_items INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE turns ADD COLUMN conv_turns INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE sessions ADD COLUMN total_request_bytes INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE sessions ADD COLUMN total_input_tokens INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE sessions ADD COLUMN total_cached_tokens INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE sessions ADD COLUMN total_output_tokens INTEGER NOT NULL DEFAULT 0;
            CREATE INDEX turns_by_conversation ON turns(session_id, conversation_id, number);
            """)
        // Existing rows, oldest first, exactly as the trigger below will count new ones.
        for row in try db.query("SELECT id FROM turns WHERE status = 'completed' ORDER BY session_id, number, id") {
            try db.execute(runningCountsUpdate, [row[0]])
        }
        try db.executeScript("""
            UPDATE sessions SET
                total_request_bytes = (SELECT coalesce(sum(request_bytes), 0) FROM turns t WHERE t.session_id = sessions.id),
                total_input_tokens = (SELECT coalesce(sum(input_tokens), 0) FROM turns t WHERE t.session_id = sessions.id),
                total_cached_tokens = (SELECT coalesce(sum(cached_tokens), 0) FROM turns t WHERE t.session_id = sessions.id),
                total_output_tokens = (SELECT coalesce(sum(output_tokens), 0) FROM turns t WHERE t.session_id = sessions.id);
            CREATE TRIGGER turns_running_counts AFTER INSERT ON turns WHEN new.status = 'completed' BEGIN
                \(runningCountsUpdate.replacingOccurrences(of: "?1", with: "new.id"));
            END;
            CREATE TRIGGER sessions_totals_turn_insert AFTER INSERT ON turns BEGIN
                UPDATE sessions SET total_request_bytes = total_request_bytes + new.request_bytes,
                    total_input_tokens = total_input_tokens + coalesce(new.input_tokens, 0),
                    total_cached_tokens = total_cached_tokens + coalesce(new.cached_tokens, 0),
                    total_output_tokens = total_output_tokens + coalesce(new.output_tokens, 0)
                WHERE id = new.session_id;
            END;
            CREATE TRIGGER sessions_totals_turn_delete AFTER DELETE ON turns BEGIN
                UPDATE sessions SET total_request_bytes = total_request_bytes - old.request_bytes,
                    total_input_tokens = total_input_tokens - coalesce(old.input_tokens, 0),
                    total_cached_tokens = total_cached_tokens - coalesce(old.cached_tokens, 0),
                    total_output_tokens = total_output_tokens - coalesce(old.output_tokens, 0)
                WHERE id = old.session_id;
            END;
            """)
    }

    /// Sets the running counts of the completed turn `?1` from the turn before it (one indexed lookup each).
    static let runningCountsUpdate = """
        UPDATE turns SET
            chain_items = turns.input_items + 1 + coalesce((SELECT p.chain_items FROM turns p WHERE p.response_id = turns.previous_response_id
                AND p.session_id = turns.session_id AND p.status = 'completed' AND p.id != turns.id ORDER BY p.id LIMIT 1), 0),
            chain_turns = 1 + coalesce((SELECT p.chain_turns FROM turns p WHERE p.response_id = turns.previous_response_id
                AND p.session_id = turns.session_id AND p.status = 'completed' AND p.id != turns.id ORDER BY p.id LIMIT 1), 0),
            conv_items = CASE WHEN turns.conversation_id IS NULL THEN 0 ELSE
                (CASE WHEN turns.chain_event = 'repair' THEN turns.items_sent - 1 ELSE turns.items_sent END) + 1
                + coalesce((SELECT p.conv_items FROM turns p WHERE p.session_id = turns.session_id AND p.conversation_id = turns.conversation_id
                    AND p.status = 'completed' AND p.number < turns.number ORDER BY p.number DESC LIMIT 1), 0) END,
            conv_turns = CASE WHEN turns.conversation_id IS NULL THEN 0 ELSE
                1 + coalesce((SELECT p.conv_turns FROM turns p WHERE p.session_id = turns.session_id AND p.conversation_id = turns.conversation_id
                    AND p.status = 'completed' AND p.number < turns.number ORDER BY p.number DESC LIMIT 1), 0) END
        WHERE id = ?1
        """
}
