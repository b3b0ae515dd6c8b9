import Foundation

/// How a session keeps its memory.
public enum MemoryMode: String, Sendable, CaseIterable, Codable {
    case chain          // server: previous_response_id, auto-chained
    case conversation   // server: a Conversations API object
    case client         // client: the whole (policy-filtered) history every turn
    case hybrid         // server chain + long-term facts from the client store as instructions
    case layered        // client: working window + summary + semantic facts + episodic passages, assembled each turn

    public var title: String {
        switch self {
        case .chain: return "SERVER CHAIN"
        case .conversation: return "SERVER CONVERSATION"
        case .client: return "CLIENT"
        case .hybrid: return "HYBRID"
        case .layered: return "LAYERED"
        }
    }
    public var isServerManaged: Bool { self != .client && self != .layered }
}

public struct SessionRecord: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var mode: MemoryMode
    public var backend: String
    public var model: String
    public var policy: String
    /// `ServerPolicy` text for the server modes ("none", "compact:N", "truncate:auto", both with "+").
    public var serverPolicy: String = "none"
    public var profile: String
    /// The response the next chain/hybrid turn continues from.
    public var chainHead: String?
    /// The last transcript message the server chain holds (messages after it must be replayed).
    public var chainCovers: Int64
    public var conversationID: String?
    /// The last transcript message the server conversation holds.
    public var conversationCovers: Int64
    /// The last transcript message the client session holds.
    public var clientCovers: Int64
    /// An external Agents SDK session store used as this session's client store: an SDK SQLite file's
    /// path, or a redis:// URL (saved without its password). nil: workbench.sqlite's own SDK tables.
    public var clientDB: String?
    /// For HTTP backends: the base URL and API (responses | chat) the session uses.
    public var baseURL: String? = nil
    public var api: String? = nil
    public var createdAt: Double
    public var updatedAt: Double
    public init(id: Int64, name: String, mode: MemoryMode, backend: String, model: String, policy: String, profile: String, chainHead: String? = nil, chainCovers: Int64, conversationID: String? = nil, conversationCovers: Int64, clientCovers: Int64, clientDB: String? = nil, baseURL: String? = nil, api: String? = nil, createdAt: Double, updatedAt: Double) {
        self.id = id
        self.name = name
        self.mode = mode
        self.backend = backend
        self.model = model
        self.policy = policy
        self.profile = profile
        self.chainHead = chainHead
        self.chainCovers = chainCovers
        self.conversationID = conversationID
        self.conversationCovers = conversationCovers
        self.clientCovers = clientCovers
        self.clientDB = clientDB
        self.baseURL = baseURL
        self.api = api
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

}

public struct MessageRecord: Sendable, Equatable {
    public var id: Int64
    public var sessionID: Int64
    public var parentID: Int64?
    public var role: Role
    public var content: String
    public var item: Item
    /// Only complete messages are part of the memory.
    public var status: MessageStatus
    public var turnID: Int64?
    public var createdAt: Double
}

/// What a turn's memory policy did to the history (client mode).
public struct PolicyEffect: Codable, Sendable, Equatable {
    public var policy: String
    public var kept: Int
    public var dropped: Int
    public var summarized: Int
    /// The summary request this turn made first (summarize:N, when a new summary was written).
    /// Its cost is part of the turn's totals but not of the request that produced the reply.
    public var summary: RequestCost?
    public init(policy: String, kept: Int, dropped: Int, summarized: Int, summary: RequestCost? = nil) {
        self.policy = policy
        self.kept = kept
        self.dropped = dropped
        self.summarized = summarized
        self.summary = summary
    }
}

/// What one request of a turn sent and was billed.
public struct RequestCost: Codable, Sendable, Equatable {
    public var requestBytes: Int
    public var items: Int
    public var inputTokens: Int?
    public var cachedTokens: Int?
    public var outputTokens: Int?
    public init(requestBytes: Int, items: Int, inputTokens: Int? = nil, cachedTokens: Int? = nil, outputTokens: Int? = nil) {
        self.requestBytes = requestBytes
        self.items = items
        self.inputTokens = inputTokens
        self.cachedTokens = cachedTokens
        self.outputTokens = outputTokens
    }
}

extension TurnRecord {
    /// The request that produced the reply (with the setup requests its mode made first); overhead
    /// (a summarizer, the memory updater) is apart, in `overhead`.
    public var reply: RequestCost {
        RequestCost(requestBytes: requestBytes, items: itemsSent, inputTokens: inputTokens, cachedTokens: cachedTokens, outputTokens: outputTokens)
    }
}

/// One row per turn: what was sent, what came back, what it cost.
public struct TurnRecord: Sendable, Equatable {
    public var id: Int64 = 0
    public var sessionID: Int64
    public var number: Int
    public var mode: MemoryMode
    public var backend: String
    public var model: String
    public var previousResponseID: String?
    public var responseID: String?
    public var conversationID: String?
    public var itemsSent: Int
    /// Input items of the final request (a repair's replay, not the failed attempt).
    public var inputItems: Int = 0
    public var requestBytes: Int
    public var inputTokens: Int?
    public var cachedTokens: Int?
    public var outputTokens: Int?
    public var latencyMs: Double?
    public var status: TurnStatus
    public var errorCode: String?
    public var errorMessage: String?
    /// How the turn related to the server's memory.
    public var chainEvent: ChainEvent?
    public var policyEffect: PolicyEffect?
    /// What the server did to this turn's context (compaction, truncation).
    public var serverEvent: ServerEvent? = nil
    /// The reply request's context by source (and what the server held), for the X-ray.
    public var context: [ContextPart]? = nil
    /// Requests made besides the reply (summarizer, memory updater): billed apart from the turn.
    public var overhead: [OverheadRequest] = []
    public var userMessageID: Int64?
    public var replyMessageID: Int64?
    public var createdAt: Double

    public init(id: Int64 = 0, sessionID: Int64, number: Int, mode: MemoryMode, backend: String, model: String, previousResponseID: String? = nil, responseID: String? = nil, conversationID: String? = nil, itemsSent: Int, inputItems: Int = 0, requestBytes: Int, inputTokens: Int? = nil, cachedTokens: Int? = nil, outputTokens: Int? = nil, latencyMs: Double? = nil, status: TurnStatus, errorCode: String? = nil, errorMessage: String? = nil, chainEvent: ChainEvent? = nil, policyEffect: PolicyEffect? = nil, userMessageID: Int64? = nil, replyMessageID: Int64? = nil, createdAt: Double) {
        self.id = id
        self.sessionID = sessionID
        self.number = number
        self.mode = mode
        self.backend = backend
        self.model = model
        self.previousResponseID = previousResponseID
        self.responseID = responseID
        self.conversationID = conversationID
        self.itemsSent = itemsSent
        self.inputItems = inputItems
        self.requestBytes = requestBytes
        self.inputTokens = inputTokens
        self.cachedTokens = cachedTokens
        self.outputTokens = outputTokens
        self.latencyMs = latencyMs
        self.status = status
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.chainEvent = chainEvent
        self.policyEffect = policyEffect
        self.userMessageID = userMessageID
        self.replyMessageID = replyMessageID
        self.createdAt = createdAt
    }
}

extension SessionRecord {
    func with(serverPolicy: String) -> SessionRecord { var s = self; s.serverPolicy = serverPolicy; return s }
}

extension TurnRecord {
    func with(serverEvent: ServerEvent?) -> TurnRecord { var t = self; t.serverEvent = serverEvent; return t }
    func with(context: [ContextPart]?, overhead: [OverheadRequest]) -> TurnRecord {
        var t = self
        t.context = context
        t.overhead = overhead
        return t
    }

    /// The overhead requests' totals: bytes, input, cached and output tokens.
    public var overheadTotals: (bytes: Int, input: Int, cached: Int, output: Int) {
        (overhead.saturatingSum(\.request_bytes), overhead.saturatingSum { $0.input_tokens ?? 0 },
         overhead.saturatingSum { $0.cached_tokens ?? 0 }, overhead.saturatingSum { $0.output_tokens ?? 0 })
    }

    /// The values of the columns `context, overhead, overhead_bytes, overhead_input_tokens,
    /// overhead_cached_tokens, overhead_output_tokens`.
    var overheadColumns: [SQLValue] {
        let o = overheadTotals
        return [SQLValue(context.flatMap { try? WireJSON.encodeString($0) }), SQLValue(overhead.isEmpty ? nil : try? WireJSON.encodeString(overhead)),
                .integer(Int64(o.bytes)), .integer(Int64(o.input)), .integer(Int64(o.cached)), .integer(Int64(o.output))]
    }
}
