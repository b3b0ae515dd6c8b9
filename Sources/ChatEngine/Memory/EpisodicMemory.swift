import Foundation

/// Episodic memory: passages of the user's other sessions (same profile), retrieved for a new message
/// by SQLite FTS5 with bm25 ranking over the transcript index the store already keeps, best first, at
/// most `limit`, within a token budget. The router: only messages that share a significant word with
/// the new one can be retrieved, so a greeting retrieves nothing.
public struct EpisodicPassage: Sendable, Equatable {
    public var session: String
    public var messageID: Int64
    public var role: String
    public var text: String
    public var createdAt: Double

    /// The passage as a developer message the model reads: where and when it was said, then what.
    public func item(timeZone: TimeZone = .current) -> Item {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = timeZone
        f.dateFormat = "yyyy-MM-dd"
        let who = role == "user" ? "the user said" : "you replied"
        let day = f.string(from: Date(timeIntervalSince1970: createdAt))
        return .message(Message(role: "developer", content: .text("\(EpisodicMemory.passagePrefix) (\"\(OutsideText.line(session))\", \(day)) \(who): \(text)")))
    }
}

public enum EpisodicMemory {
    /// How a retrieved passage begins (the offline model recognises it).
    public static let passagePrefix = "From an earlier session"
    public static let maxPassageCharacters = 600

    static let stopWords: Set<String> = [
        "the", "and", "for", "you", "your", "are", "was", "were", "what", "when", "where", "which", "who", "whom", "why", "how",
        "did", "does", "do", "have", "has", "had", "say", "said", "tell", "told", "about", "with", "that", "this", "these", "those",
        "there", "their", "they", "them", "from", "into", "onto", "just", "like", "can", "could", "would", "should", "will",
        "shall", "may", "might", "must", "not", "but", "all", "any", "some", "our", "out", "his", "her", "its", "it's", "i'm",
        "mine", "myself", "me", "my", "week", "last", "today", "yesterday", "again", "also", "very", "really", "please", "know",
        "remember", "mention", "mentioned", "earlier", "before", "ago", "time", "thing", "things", "something", "anything",
    ]

    /// The FTS5 query for a message: its significant words (3+ letters, not stop words), OR-ed, each
    /// quoted (so no FTS syntax from the message reaches the engine); nil when there are none.
    public static func query(for text: String) -> String? {
        var seen = Set<String>()
        let words = text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
            .filter { $0.count >= 3 && !stopWords.contains($0) && seen.insert($0).inserted }
        guard !words.isEmpty else { return nil }
        return words.prefix(16).map { "\"\($0)\"" }.joined(separator: " OR ")
    }
}

extension WorkbenchStore {
    /// Passages from the profile's other sessions for `text`: bm25-ranked, best first, at most
    /// `limit`, their tokens within `tokenBudget` (a passage that does not fit is skipped).
    public func episodes(for text: String, profile: String, excludingSession session: Int64, limit: Int, tokenBudget: Int,
                         timeZone: TimeZone = .current) throws -> [EpisodicPassage] {
        guard limit > 0, let q = EpisodicMemory.query(for: text) else { return [] }
        let rows = try db.query("""
            SELECT m.id, m.role, m.content, m.created_at, s.name FROM messages_fts f
            JOIN messages m ON m.id = f.rowid JOIN sessions s ON s.id = m.session_id
            WHERE messages_fts MATCH ? AND m.session_id != ? AND s.profile = ? AND m.status = 'complete'
            ORDER BY bm25(messages_fts) LIMIT ?
            """, [.text(q), .integer(session), .text(profile), .integer(Int64(limit * 4))])
        var out: [EpisodicPassage] = []
        var used = 0
        for r in rows where out.count < limit {
            let p = EpisodicPassage(session: r[4].string ?? "", messageID: r[0].int64 ?? 0, role: r[1].string ?? "user",
                                    text: String((r[2].string ?? "").prefix(EpisodicMemory.maxPassageCharacters)), createdAt: r[3].double ?? 0)
            let t = TokenEstimator.tokens(p.item(timeZone: timeZone))
            if used + t > tokenBudget { continue }
            used += t
            out.append(p)
        }
        return out
    }
}
