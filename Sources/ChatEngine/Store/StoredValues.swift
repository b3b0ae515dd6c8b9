import Foundation

// The closed sets of words the store writes into its text columns. Each enum's raw value is the
// exact text in the database (and in `send --json`, exports and `sessions show`), so typing them
// changed no stored value and needs no migration.

/// How a turn ended (`turns.status`). Only completed turns are part of the server's memory.
public enum TurnStatus: String, Sendable, CaseIterable, Codable {
    case completed, interrupted, failed

    /// A stored value; text this code never writes reads as failed (not part of the memory).
    init(stored: String?) { self = stored.flatMap(TurnStatus.init(rawValue:)) ?? .failed }
}

/// Whether a stored message is part of the memory (`messages.status`). Only complete ones are.
public enum MessageStatus: String, Sendable, CaseIterable, Codable {
    case complete, interrupted, failed

    /// A stored value: NULL is the column's default (complete); unknown text reads as failed, which
    /// keeps it out of the memory as the SQL filters `status = 'complete'` do.
    init(stored: String?) { self = stored.map { MessageStatus(rawValue: $0) ?? .failed } ?? .complete }
}

/// How a turn related to the server's memory (`turns.chain_event`).
public enum ChainEvent: String, Sendable, CaseIterable, Codable {
    /// The first turn of a chain, a conversation or a client history.
    case start
    /// The turn built on the previous one as it is.
    case `continue`
    /// The mode changed since the last turn; the memory was re-sent in the new mode's form.
    case `switch`
    /// The server lost its state; the turn replayed the transcript.
    case repair
    /// A client-mode turn: the client sent the history under its policy.
    case client
    /// Messages copied in from a server-side response or conversation (`chatbench attach`).
    case attach
}

/// Who wrote a message. The five roles of the Responses API are cases; items from outside (attached
/// server conversations, sessions other programs write) may carry roles this code does not know, and
/// `other` keeps them as written, so a role read and written back is the same text.
public enum Role: Hashable, Sendable, CustomStringConvertible {
    case user, assistant, developer, system, tool
    case other(String)

    public init(_ raw: String) {
        switch raw {
        case "user": self = .user
        case "assistant": self = .assistant
        case "developer": self = .developer
        case "system": self = .system
        case "tool": self = .tool
        default: self = .other(raw)
        }
    }

    /// The text as stored and sent.
    public var rawValue: String {
        switch self {
        case .user: return "user"
        case .assistant: return "assistant"
        case .developer: return "developer"
        case .system: return "system"
        case .tool: return "tool"
        case .other(let raw): return raw
        }
    }

    public var description: String { rawValue }
}
