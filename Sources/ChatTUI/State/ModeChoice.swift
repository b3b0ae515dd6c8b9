import ChatEngine
import Foundation

/// The mode picker's choices: every mode, and client mode with each policy. A policy that takes a
/// number (window:N, budget:N, summarize:N) takes it from `PolicyNumbers`, which the user sets.
public struct ModeChoice: Equatable, Sendable {
    public let label: String
    public let mode: MemoryMode
    /// all | window | budget | summarize (client mode); nil for the server modes.
    public let policyKind: String?
    /// compact | truncate (the server modes' server policy); nil: none.
    public let serverKind: String?
    init(label: String, mode: MemoryMode, policyKind: String? = nil, serverKind: String? = nil) {
        self.label = label
        self.mode = mode
        self.policyKind = policyKind
        self.serverKind = serverKind
    }
    public static let all: [ModeChoice] = [
        ModeChoice(label: "server chain         previous_response_id", mode: .chain),
        ModeChoice(label: "server chain         + compact:", mode: .chain, serverKind: "compact"),
        ModeChoice(label: "server chain         + truncate:auto", mode: .chain, serverKind: "truncate"),
        ModeChoice(label: "server conversation  conversation id", mode: .conversation),
        ModeChoice(label: "server conversation  + compact:", mode: .conversation, serverKind: "compact"),
        ModeChoice(label: "client               all items", mode: .client, policyKind: "all"),
        ModeChoice(label: "client               window:", mode: .client, policyKind: "window"),
        ModeChoice(label: "client               budget:", mode: .client, policyKind: "budget"),
        ModeChoice(label: "client               summarize:", mode: .client, policyKind: "summarize"),
        ModeChoice(label: "hybrid               chain + long-term facts", mode: .hybrid),
        ModeChoice(label: "layered              window+summary+facts+episodes", mode: .layered),
    ]

    /// The kind of number this choice takes (window, budget, summarize, compact), if any.
    public var numberKind: String? { serverKind == "compact" ? "compact" : policyKind.flatMap { $0 == "all" ? nil : $0 } }

    /// The policy this choice sends, with the numbers set in the picker.
    public func policy(_ n: PolicyNumbers) -> String? {
        guard let kind = policyKind else { return nil }
        return kind == "all" ? "all" : "\(kind):\(max(PolicyNumbers.minimum[kind] ?? 1, n[kind]))"
    }

    /// The server policy this choice sends (nil for client mode, which has none).
    public func serverPolicy(_ n: PolicyNumbers) -> String? {
        guard mode.isServerManaged else { return nil }
        switch serverKind {
        case "compact": return "compact:\(max(PolicyNumbers.minimum["compact"] ?? 1000, n["compact"]))"
        case "truncate": return "truncate:auto"
        default: return "none"
        }
    }

    /// Whether this choice is the session's mode and policy (the picker marks it).
    public func isCurrent(mode: MemoryMode?, policy: String?, serverPolicy: String? = nil) -> Bool {
        guard self.mode == mode else { return false }
        guard let kind = policyKind else {
            let server = serverPolicy ?? "none"
            switch serverKind {
            case "compact": return server.hasPrefix("compact:")
            case "truncate": return server == "truncate:auto"
            default: return server == "none" || (self.mode == .hybrid)
            }
        }
        return (policy ?? "all").split(separator: ":").first.map(String.init) == kind
    }
}

/// The numbers of the picker's window:N, budget:N and summarize:N, starting from the session's
/// policy (so a session on window:2 shows window:2) or the defaults.
public struct PolicyNumbers: Equatable, Sendable {
    public var window = 4
    public var budget = 1000
    public var summarize = 6
    public var compact = 20_000
    public static let minimum = ["window": 1, "budget": 1, "summarize": 2, "compact": 1000]

    public init(from policy: String? = nil, serverPolicy: String? = nil) {
        for text in [policy, serverPolicy?.split(separator: "+").first.map(String.init)] {
            let parts = (text ?? "").split(separator: ":").map(String.init)
            if parts.count == 2, let n = Int(parts[1]), let min = Self.minimum[parts[0]], n >= min { self[parts[0]] = n }
        }
    }

    public subscript(kind: String) -> Int {
        get { kind == "window" ? window : kind == "budget" ? budget : kind == "compact" ? compact : summarize }
        set {
            let n = max(0, min(newValue, 10_000_000))   // the policy takes at least the minimum
            switch kind {
            case "window": window = n
            case "budget": budget = n
            case "compact": compact = n
            default: summarize = n
            }
        }
    }
}
