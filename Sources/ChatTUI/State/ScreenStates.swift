import ChatEngine
import Foundation

/// A dialog over the main screen.
public enum Overlay: Equatable, Sendable {
    case none
    case help
    case modePicker(selected: Int)
    case newSession(InputEditor)
    /// Ctrl-F: choosing the message to fork at (an index into the messages), marked in the pane.
    case forkPick(Int)
    /// F5: the context X-ray of a turn (its id: any turn of the session, not only the loaded ones; a
    /// turn another process adds does not move it), scrolled by `scroll` lines.
    case xray(turn: Int64, scroll: Int)
}

/// The requests of the turn the X-ray shows, as read from the store.
public struct XRayData: Equatable, Sendable {
    public var turnID: Int64
    /// The turn's record (read with its requests: the turn may be older than the chain panel's).
    public var turn: TurnRecord?
    public var requests: [SentRequest]
    /// What the server said it holds, once asked ("a" in the X-ray).
    public var observed: String?
    public init(turnID: Int64, turn: TurnRecord? = nil, requests: [SentRequest]) {
        self.turnID = turnID
        self.turn = turn
        self.requests = requests
    }
}

extension AppState {
    /// The record of a turn the X-ray may show: a loaded one (the chain panel's), or the one it read.
    public func xrayTurn(_ id: Int64) -> TurnRecord? {
        turns.first { $0.id == id } ?? (xray?.turnID == id ? xray?.turn : nil)
    }
}

/// A reply arriving.
public struct StreamState: Equatable, Sendable {
    public var userText: String
    public var reply: String
    public var revision: Int
    public init(userText: String, reply: String, revision: Int) {
        self.userText = userText
        self.reply = reply
        self.revision = revision
    }
}

/// One column of the compare view: a mode, its own session, its conversation and reply in flight.
public struct CompareColumnState: Sendable, Equatable {
    public var column: CompareColumn
    public var session: String
    public var messages: [ChatMessage] = []
    public var streaming: String?
    public var revision = 0
    public var error: String?
    public init(column: CompareColumn, session: String) {
        self.column = column
        self.session = session
    }

    /// The column's messages plus the reply arriving (pending ids are negative and unique per column).
    public func display(index: Int, pendingUser: String?) -> [ChatMessage] {
        var out = messages
        if let u = pendingUser, streaming != nil {
            out.append(ChatMessage(id: Int64(-10 - index * 2), role: .user, text: u, status: .pending))
            out.append(ChatMessage(id: Int64(-11 - index * 2), role: .assistant, text: streaming ?? "", status: .streaming, revision: revision))
        }
        return out
    }
}

/// The compare view (F3): every message goes to all columns; the table and chart compare them.
public struct CompareViewState: Sendable, Equatable {
    public var columns: [CompareColumnState]
    public var rows: [CompareTurn] = []
    public var inFlight = 0
    public var turn = 0
    public var pendingUser: String?
    public init(columns: [CompareColumnState]) { self.columns = columns }

    /// At most this many columns (the table, chart and columns are laid out for four).
    public static let maxColumns = 4

    /// Why `column` cannot be added (nil: it can).
    public func refusesColumn(_ column: CompareColumn) -> String? {
        if columns.count >= Self.maxColumns { return "at most \(Self.maxColumns) modes: Backspace drops the last one" }
        if columns.contains(where: { $0.column.label == column.label }) { return "\(column.label) is already compared" }
        return nil
    }
}

/// The session browser (F4 or Ctrl-O).
public struct BrowserState: Sendable, Equatable {
    public enum Prompt: Sendable, Equatable {
        case none
        case search
        case rename(InputEditor)
        case fork(InputEditor)
        case confirmDelete
    }
    public var query = InputEditor()
    public var sessions: [SessionSummary] = []
    public var selected = 0
    public var preview: [ChatMessage] = []
    public var previewTurns: [TurnRecord] = []
    public var prompt: Prompt = .none
    public var message: String?
    /// The previewed turn a fork starts from (an index into `previewTurns`; nil: the latest).
    public var forkPoint: Int?
    public init() {}
    public var current: SessionSummary? { sessions.indices.contains(selected) ? sessions[selected] : nil }
    /// The response (or message) id `f` forks at.
    public var forkAt: String? {
        let completed = previewTurns.indices.filter { previewTurns[$0].status == .completed }
        guard let i = forkPoint.flatMap({ p in completed.contains(p) ? p : nil }) ?? completed.last else { return nil }
        let t = previewTurns[i]
        return t.responseID.flatMap { $0.hasPrefix("resp_") && t.mode != .client ? $0 : nil } ?? t.replyMessageID.map { "\($0)" }
    }
}
