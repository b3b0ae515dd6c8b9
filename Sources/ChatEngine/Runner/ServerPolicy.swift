import Foundation

/// What a server-managed session (chain, hybrid, conversation) asks the server to do with its context
/// (`--server-policy`): compact it past a threshold, and/or truncate it to the model's window. Sent as
/// the real request fields (`context_management`, `truncation`) to every Responses server.
public struct ServerPolicy: Equatable, Sendable, CustomStringConvertible {
    /// `context_management: [{"type": "compaction", "compact_threshold": N}]`.
    public var compactThreshold: Int?
    /// `truncation: "auto"` (else the field is not sent: the server's default, "disabled").
    public var truncateAuto = false

    public static let none = ServerPolicy()

    /// "none", "compact:N" (N ≥ 1000, the API's minimum), "truncate:auto", or both joined with "+".
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !trimmed.isEmpty else {
            throw ConfigurationError("the server policy is empty; use none, compact:N (N ≥ 1000 tokens), truncate:auto, or compact:N+truncate:auto")
        }
        guard trimmed != "none" else { return }
        for part in trimmed.split(separator: "+").map(String.init) {
            if part == "truncate:auto" && !truncateAuto {
                truncateAuto = true
            } else if part.hasPrefix("compact:"), compactThreshold == nil, let n = Int(part.dropFirst(8)), n >= 1000 {
                compactThreshold = n
            } else {
                throw ConfigurationError("bad server policy '\(OutsideText.line(String(text.prefix(60))))'; use none, compact:N (N ≥ 1000 tokens), truncate:auto, or compact:N+truncate:auto")
            }
        }
    }

    init() {}

    public var description: String {
        let parts = (compactThreshold.map { ["compact:\($0)"] } ?? []) + (truncateAuto ? ["truncate:auto"] : [])
        return parts.isEmpty ? "none" : parts.joined(separator: "+")
    }

    /// Sets the request fields this policy stands for.
    public func apply(to request: inout CreateResponseRequest) {
        if let n = compactThreshold {
            request.context_management = .array([.object(["type": .string("compaction"), "compact_threshold": .int(Int64(n))])])
        }
        if truncateAuto { request.truncation = "auto" }
    }
}

/// What the server did to a turn's context, as the workbench sees it: a compaction item in the output
/// (reported by the server), or a truncation (inferred: a chain's context only grows, so an input that
/// shrank without a compaction before it was truncated; the API does not say so itself).
public enum ServerEvent: String, Sendable, Codable {
    case compacted
    case truncated
}
