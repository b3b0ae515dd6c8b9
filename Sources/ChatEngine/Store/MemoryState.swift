import Foundation

/// What each side holds for a session and what its turns cost: the memory panel, as a query over
/// the turn rows (no server calls, so it is true for every backend and instant to compute).
public struct MemoryState: Sendable, Equatable {
    public var mode: MemoryMode
    public var policy: String
    public var profile: String
    /// Items the server holds for this session's current chain or conversation (nil: none).
    public var serverItems: Int?
    /// Turns in the current chain (chain, hybrid) or conversation.
    public var serverTurns: Int
    public var chainHead: String?
    public var conversationID: String?
    /// Transcript messages in the workbench store.
    public var transcriptMessages: Int
    /// Items in the session's Agents SDK session (client mode's store).
    public var clientItems: Int
    /// Long-term facts in the hybrid profile.
    public var facts: Int
    public var last: TurnRecord?
    public var lastCompleted: TurnRecord?
    public var turns: Int
    public var totalBytes: Int
    public var totalInputTokens: Int
    public var totalCachedTokens: Int
    public var totalOutputTokens: Int
    /// Lineage: "NAME@POINT" this session was forked from, and the forks made from it.
    public var forkedFrom: String? = nil
    public var forks: [String] = []
    /// The server modes' server policy ("none", "compact:N", "truncate:auto", …).
    public var serverPolicy = "none"
    /// The turn whose reply came with the current chain's (or conversation's) last compaction: the
    /// server then holds one compaction item and the items after it (`serverItems` counts them all).
    public var compactedAtTurn: Int? = nil
    /// The current chain's (or conversation's) last inferred truncation.
    public var truncatedAtTurn: Int? = nil
    /// The session's overhead requests (summarizer, memory updater): billed apart from its turns.
    public var overheadBytes = 0
    public var overheadInputTokens = 0
    public var overheadCachedTokens = 0
    public var overheadOutputTokens = 0

    public init(mode: MemoryMode, policy: String, profile: String, serverItems: Int? = nil, serverTurns: Int, chainHead: String? = nil, conversationID: String? = nil, transcriptMessages: Int, clientItems: Int, facts: Int, last: TurnRecord? = nil, lastCompleted: TurnRecord? = nil, turns: Int, totalBytes: Int, totalInputTokens: Int, totalCachedTokens: Int, totalOutputTokens: Int, forkedFrom: String? = nil, forks: [String] = []) {
        self.mode = mode
        self.policy = policy
        self.profile = profile
        self.serverItems = serverItems
        self.serverTurns = serverTurns
        self.chainHead = chainHead
        self.conversationID = conversationID
        self.transcriptMessages = transcriptMessages
        self.clientItems = clientItems
        self.facts = facts
        self.last = last
        self.lastCompleted = lastCompleted
        self.turns = turns
        self.totalBytes = totalBytes
        self.totalInputTokens = totalInputTokens
        self.totalCachedTokens = totalCachedTokens
        self.totalOutputTokens = totalOutputTokens
        self.forkedFrom = forkedFrom
        self.forks = forks
    }

    /// Tokens the model read for the last completed reply (its context; a summary request made
    /// before it is not part of it) versus tokens spent across the session (every request).
    public var contextTokens: Int { lastCompleted?.reply.inputTokens ?? 0 }
    public var spentTokens: Int { totalInputTokens.saturatingAdd(totalOutputTokens) }
    /// Cached input tokens as a share of all input tokens this session (0 before any).
    public var cacheHitRate: Double { totalInputTokens > 0 ? Double(min(totalCachedTokens, totalInputTokens)) / Double(totalInputTokens) : 0 }
}

extension WorkbenchStore {
    /// The memory state from the session's running counts: a few indexed lookups, whatever the
    /// session's size (no turn is walked or summed here; see RunningCounts.swift).
    public func memoryState(for s: SessionRecord) throws -> MemoryState {
        var serverItems: Int?
        var serverTurns = 0
        var events = (compacted: Int?.none, compactedItems: 0, truncated: Int?.none)
        switch s.mode {
        case .chain, .hybrid:
            if let head = s.chainHead {
                let row = try db.query("""
                    SELECT number, chain_items, chain_turns FROM turns WHERE response_id = ? AND session_id = ? AND status = 'completed' ORDER BY id LIMIT 1
                    """, [.text(head), .integer(s.id)]).first
                serverItems = row?[1].int ?? 0
                serverTurns = row?[2].int ?? 0
                if let number = row?[0].int {
                    events = try serverEvents(session: s.id, upTo: number, items: "chain_items", turns: "chain_turns",
                                              headItems: serverItems ?? 0, headTurns: serverTurns, conversation: nil)
                }
            }
        case .conversation:
            if let conv = s.conversationID {
                let row = try db.query("""
                    SELECT number, conv_items, conv_turns FROM turns WHERE session_id = ? AND conversation_id = ? AND status = 'completed'
                    ORDER BY number DESC LIMIT 1
                    """, [.integer(s.id), .text(conv)]).first
                serverItems = row?[1].int ?? 0
                serverTurns = row?[2].int ?? 0
                if let number = row?[0].int {
                    events = try serverEvents(session: s.id, upTo: number, items: "conv_items", turns: "conv_turns",
                                              headItems: serverItems ?? 0, headTurns: serverTurns, conversation: conv)
                }
            }
        case .client, .layered:
            serverItems = nil
        }
        let counts = try db.query("""
            SELECT message_count, turn_count, total_request_bytes, total_input_tokens, total_cached_tokens, total_output_tokens,
                total_overhead_bytes, total_overhead_input_tokens, total_overhead_cached_tokens, total_overhead_output_tokens
            FROM sessions WHERE id = ?
            """, [.integer(s.id)]).first
        func count(_ i: Int) -> Int { counts?[i].int ?? 0 }
        let clientItems = s.clientDB == nil
            ? (try db.query("SELECT count(*) FROM agent_messages WHERE session_id = ?", [.text(s.name)])[0][0].int ?? 0)
            : ((try? agentSession(for: s).count()) ?? 0)
        let facts = try db.query("SELECT count(*) FROM facts WHERE profile = ?", [.text(s.profile)])[0][0].int ?? 0
        let last = try db.query("SELECT * FROM turns WHERE session_id = ? ORDER BY number DESC LIMIT 1", [.integer(s.id)]).first.map(turn(from:))
        let lastCompleted = last?.status == .completed ? last : try db.query(
            "SELECT * FROM turns WHERE session_id = ? AND status = 'completed' ORDER BY number DESC LIMIT 1", [.integer(s.id)]).first.map(turn(from:))
        return MemoryState(mode: s.mode, policy: s.policy, profile: s.profile, serverItems: serverItems, serverTurns: serverTurns,
                           chainHead: s.chainHead, conversationID: s.conversationID, transcriptMessages: count(0),
                           clientItems: clientItems, facts: facts, last: last, lastCompleted: lastCompleted, turns: count(1),
                           totalBytes: count(2), totalInputTokens: count(3), totalCachedTokens: count(4), totalOutputTokens: count(5),
                           forkedFrom: try forkedFrom(session: s.id),
                           forks: try db.query("SELECT name, forked_from FROM sessions WHERE forked_from LIKE ? ESCAPE '\\' ORDER BY id",
                                               [.text(s.name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "@%")])
                               .map { "\($0[0].string ?? "")@\(($0[1].string ?? "").split(separator: "@", maxSplits: 1).last ?? "")" })
            .with(serverPolicy: s.serverPolicy, compactedAt: events.compacted, truncatedAt: events.truncated,
                  serverItems: events.compacted == nil ? serverItems : serverItems.map { $0 - events.compactedItems + 2 })
            .with(overhead: (count(6), count(7), count(8), count(9)))
    }

    /// The last compaction and truncation among the turns of the chain (or conversation) that ends at
    /// turn `head`: found through the partial index on server events, so a few rows are read. A
    /// compaction leaves the server its item and the reply; the items after it are counted from it.
    private func serverEvents(session: Int64, upTo head: Int, items: String, turns: String, headItems: Int, headTurns: Int,
                              conversation: String?) throws -> (compacted: Int?, compactedItems: Int, truncated: Int?) {
        let rows = try db.query("""
            SELECT number, server_event, \(items), \(turns), conversation_id FROM turns
            WHERE session_id = ? AND server_event IS NOT NULL AND number <= ? AND status = 'completed'
            ORDER BY number DESC LIMIT 8
            """, [.integer(session), .integer(Int64(head))])
        var result: (compacted: Int?, compactedItems: Int, truncated: Int?) = (nil, 0, nil)
        for r in rows {
            // Only events of this chain or conversation: not more items or turns than it has now.
            guard let n = r[0].int, let i = r[2].int, let t = r[3].int, i <= headItems, t <= headTurns, t > 0,
                  conversation == nil || r[4].string == conversation else { continue }
            if r[1].string == ServerEvent.compacted.rawValue, result.compacted == nil { result.compacted = n; result.compactedItems = i }
            if r[1].string == ServerEvent.truncated.rawValue, result.truncated == nil { result.truncated = n }
        }
        return result
    }
}

extension MemoryState {
    func with(overhead o: (Int, Int, Int, Int)) -> MemoryState {
        var m = self
        (m.overheadBytes, m.overheadInputTokens, m.overheadCachedTokens, m.overheadOutputTokens) = o
        return m
    }

    func with(serverPolicy: String, compactedAt: Int?, truncatedAt: Int?, serverItems: Int?) -> MemoryState {
        var m = self
        m.serverPolicy = serverPolicy
        m.compactedAtTurn = compactedAt
        m.truncatedAtTurn = truncatedAt
        m.serverItems = serverItems
        return m
    }
}
