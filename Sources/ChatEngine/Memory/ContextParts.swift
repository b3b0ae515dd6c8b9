import Foundation

/// Where an item of a request's context came from: what the context X-ray tags each item with.
public enum ContextSource: String, Sendable, Codable, CaseIterable {
    /// The user's new message.
    case new
    /// Working memory: the latest turns, sent as they are.
    case working
    /// A summary of older turns (the summarizer's, or a client policy's).
    case summary
    /// Semantic memory: the profile's facts and preferences.
    case semantic
    /// Episodic memory: passages from the user's other sessions, retrieved for the new message.
    case episodic
    /// Messages carried into a mode's store on a mode switch.
    case carried
    /// The transcript replayed into a new chain after the server lost the old one.
    case replayed
    /// What the server held and prepended (a chain or conversation): inferred from the usage.
    case server
    /// A request the mode needed before the reply (a conversation created, a chain attempt the server
    /// refused), whole; a request that only carried items on a mode switch is `carried` instead.
    case setup
    /// The request's own JSON around the items (model, flags, brackets, commas), in bytes only.
    case envelope
}

/// One source's share of a request: its items, estimated tokens and bytes of JSON.
public struct ContextPart: Codable, Sendable, Equatable {
    public var source: String
    public var items: Int
    public var tokens: Int
    public var bytes: Int
    public init(source: ContextSource, items: Int, tokens: Int, bytes: Int) {
        self.source = source.rawValue
        self.items = items
        self.tokens = tokens
        self.bytes = bytes
    }
}

/// One request a turn made, as sent: its kind, exact body, each input item's source, and the parts.
public struct SentRequest: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// The request whose response is the reply.
        case reply
        /// Requests the mode needed first: creating or filling a conversation, a chain attempt the server refused.
        case setup
        /// Overhead: the summarizer and the memory updater (counted apart from the turn).
        case summarizer, updater
    }
    public var kind: Kind
    public var body: String
    /// One per input item, in order (empty for bodies without input items).
    public var sources: [String]
    public var bytes: Int { body.utf8.count }

    /// The source all its items share (nil: none, or mixed).
    public var commonSource: ContextSource? {
        guard let first = sources.first, sources.allSatisfy({ $0 == first }) else { return nil }
        return ContextSource(rawValue: first)
    }
    public init(kind: Kind, body: String, sources: [ContextSource]) {
        self.kind = kind
        self.body = body
        self.sources = sources.map(\.rawValue)
    }

    /// The parts of this request: per source (in first-seen order) its items, tokens and bytes, then
    /// the instructions (as semantic memory when they carry facts, else as the envelope's tokens), then
    /// the envelope, so that bytes add up to the body exactly and tokens to the estimator's count.
    public func parts(items: [Item], instructions: String?, instructionsSource: ContextSource = .semantic) -> [ContextPart] {
        var order: [String] = []
        var sums: [String: (Int, Int, Int)] = [:]
        for (item, source) in zip(items, sources) {
            if sums[source] == nil { order.append(source) }
            let bytes = (try? WireJSON.encode(item).count) ?? 0
            let s = sums[source] ?? (0, 0, 0)
            sums[source] = (s.0 + 1, s.1 + TokenEstimator.tokens(item), s.2 + bytes)
        }
        var parts = order.map { ContextPart(source: ContextSource(rawValue: $0) ?? .new, items: sums[$0]!.0, tokens: sums[$0]!.1, bytes: sums[$0]!.2) }
        let instructionTokens = TokenEstimator.tokens(instructions: instructions)
        var instructionBytes = 0
        if let instructions, !instructions.isEmpty {
            instructionBytes = (try? WireJSON.encode(instructions).count) ?? 0
            parts.append(ContextPart(source: instructionsSource, items: 0, tokens: instructionTokens, bytes: instructionBytes))
        }
        parts.append(ContextPart(source: .envelope, items: 0, tokens: 0, bytes: bytes - parts.reduce(0) { $0 + $1.bytes }))
        return parts
    }
}

/// A request the turn made besides the reply (the summarizer, the memory updater), with its cost.
public struct OverheadRequest: Codable, Sendable, Equatable {
    public var kind: String
    public var request_bytes: Int
    public var items: Int
    public var input_tokens: Int?
    public var cached_tokens: Int?
    public var output_tokens: Int?
    /// What it did ("3 facts", "summary of 12 items", or why it did nothing).
    public var note: String
    /// The updater's facts written (nil for other requests, or when its reply was not usable).
    public var facts: Int?
    public init(kind: String, request_bytes: Int, items: Int, usage: Usage?, note: String) {
        self.kind = kind
        self.request_bytes = request_bytes
        self.items = items
        input_tokens = usage?.input_tokens
        cached_tokens = usage?.cachedTokens
        output_tokens = usage?.output_tokens
        self.note = note
    }
}
