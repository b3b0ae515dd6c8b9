import ChatEngine
import Foundation

/// The mode picker's choices: every mode, and client mode with each policy. A policy that takes a
/// number (window:N, budget:N, summarize:N) takes it from `PolicyNumbers`, which the user sets.
public struct ModeChoice: Equatable, Sendable {
    public let label: String
    public let mode: MemoryMode
    /// all | window | budget | summarize (client mode); nil for the server modes.
    public let policyKind: String?
    public static let all: [ModeChoice] = [
        ModeChoice(label: "server chain         previous_response_id", mode: .chain, policyKind: nil),
        ModeChoice(label: "server conversation  conversation id", mode: .conversation, policyKind: nil),
        ModeChoice(label: "client               all items", mode: .client, policyKind: "all"),
        ModeChoice(label: "client               window:", mode: .client, policyKind: "window"),
        ModeChoice(label: "client               budget:", mode: .client, policyKind: "budget"),
        ModeChoice(label: "client               summarize:", mode: .client, policyKind: "summarize"),
        ModeChoice(label: "hybrid               chain + long-term facts", mode: .hybrid, policyKind: nil),
    ]

    /// The policy this choice sends, with the numbers set in the picker.
    public func policy(_ n: PolicyNumbers) -> String? {
        guard let kind = policyKind else { return nil }
        return kind == "all" ? "all" : "\(kind):\(max(PolicyNumbers.minimum[kind] ?? 1, n[kind]))"
    }

    /// Whether this choice is the session's mode and policy (the picker marks it).
    public func isCurrent(mode: MemoryMode?, policy: String?) -> Bool {
        guard self.mode == mode else { return false }
        guard let kind = policyKind else { return true }
        return (policy ?? "all").split(separator: ":").first.map(String.init) == kind
    }
}

/// The numbers of the picker's window:N, budget:N and summarize:N, starting from the session's
/// policy (so a session on window:2 shows window:2) or the defaults.
public struct PolicyNumbers: Equatable, Sendable {
    public var window = 4
    public var budget = 1000
    public var summarize = 6
    public static let minimum = ["window": 1, "budget": 1, "summarize": 2]

    public init(from policy: String? = nil) {
        let parts = (policy ?? "").split(separator: ":").map(String.init)
        if parts.count == 2, let n = Int(parts[1]), let min = Self.minimum[parts[0]], n >= min { self[parts[0]] = n }
    }

    public subscript(kind: String) -> Int {
        get { kind == "window" ? window : kind == "budget" ? budget : summarize }
        set {
            let n = max(0, min(newValue, 10_000_000))   // the policy takes at least the minimum
            switch kind {
            case "window": window = n
            case "budget": budget = n
            default: summarize = n
            }
        }
    }
}
