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
    public var spentTokens: Int { totalInputTokens + totalOutputTokens }
}

extension WorkbenchStore {
    public func memoryState(for s: SessionRecord) throws -> MemoryState {
        try memoryState(for: s, turns: try self.turns(session: s.id))
    }

    /// The memory state from turns already loaded (the screen has them).
    public func memoryState(for s: SessionRecord, turns: [TurnRecord]) throws -> MemoryState {
        let completed = turns.filter { $0.status == "completed" }
        var serverItems: Int?
        var serverTurns = 0
        switch s.mode {
        case .chain, .hybrid:
            // Walk the chain back from its head through the recorded links.
            let byResponse = Dictionary(completed.compactMap { t in t.responseID.map { ($0, t) } }, uniquingKeysWith: { a, _ in a })
            var cursor = s.chainHead
            var items = 0
            while let id = cursor, let t = byResponse[id] {
                items += t.inputItems + 1
                serverTurns += 1
                cursor = t.previousResponseID
            }
            serverItems = s.chainHead == nil ? nil : items
        case .conversation:
            if let conv = s.conversationID {
                let onConv = completed.filter { $0.conversationID == conv }
                serverTurns = onConv.count
                // Everything sent on the conversation was appended (seeds, input), plus each reply.
                serverItems = onConv.reduce(0) { $0 + ($1.chainEvent == "repair" ? $1.itemsSent - 1 : $1.itemsSent) + 1 }
            }
        case .client:
            serverItems = nil
        }
        let transcript = try db.query("SELECT count(*) FROM messages WHERE session_id = ?", [.integer(s.id)])[0][0].int ?? 0
        let clientItems = s.clientDB == nil
            ? (try db.query("SELECT count(*) FROM agent_messages WHERE session_id = ?", [.text(s.name)])[0][0].int ?? 0)
            : ((try? agentSession(for: s).count()) ?? 0)
        let facts = try db.query("SELECT count(*) FROM facts WHERE profile = ?", [.text(s.profile)])[0][0].int ?? 0
        return MemoryState(mode: s.mode, policy: s.policy, profile: s.profile, serverItems: serverItems, serverTurns: serverTurns,
                           chainHead: s.chainHead, conversationID: s.conversationID, transcriptMessages: transcript,
                           clientItems: clientItems, facts: facts, last: turns.last, lastCompleted: completed.last, turns: turns.count,
                           totalBytes: turns.reduce(0) { $0 + $1.requestBytes },
                           totalInputTokens: turns.reduce(0) { $0 + ($1.inputTokens ?? 0) },
                           totalCachedTokens: turns.reduce(0) { $0 + ($1.cachedTokens ?? 0) },
                           totalOutputTokens: turns.reduce(0) { $0 + ($1.outputTokens ?? 0) },
                           forkedFrom: try forkedFrom(session: s.id),
                           forks: try db.query("SELECT name, forked_from FROM sessions WHERE forked_from LIKE ? ESCAPE '\\' ORDER BY id",
                                               [.text(s.name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "@%")])
                               .map { "\($0[0].string ?? "")@\(($0[1].string ?? "").split(separator: "@", maxSplits: 1).last ?? "")" })
    }
}
