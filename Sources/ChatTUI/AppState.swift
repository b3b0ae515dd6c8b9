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
            out.append(ChatMessage(id: Int64(-10 - index * 2), role: "user", text: u, status: "pending"))
            out.append(ChatMessage(id: Int64(-11 - index * 2), role: "assistant", text: streaming ?? "", status: "streaming", revision: revision))
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
        let completed = previewTurns.indices.filter { previewTurns[$0].status == "completed" }
        guard let i = forkPoint.flatMap({ p in completed.contains(p) ? p : nil }) ?? completed.last else { return nil }
        let t = previewTurns[i]
        return t.responseID.flatMap { $0.hasPrefix("resp_") && t.mode != .client ? $0 : nil } ?? t.replyMessageID.map { "\($0)" }
    }
}

/// Everything the screen shows. A value: `update` changes it, views read it.
public struct AppState: Sendable {
    public var width: Int
    public var height: Int
    public var session: SessionRecord?
    public var backend: BackendInfo
    /// A window onto the transcript, never the whole of it: a page or a few around what is on screen.
    /// Scrolling near either end of the window loads the next page (`Effect.loadPage`).
    public var messages: [ChatMessage] = []
    /// The store has messages before `messages.first` / after `messages.last`.
    public var olderAvailable = false
    public var newerAvailable = false
    /// The newest turns only: as many as the chain panel can show.
    public var turns: [TurnRecord] = []
    public var memory: MemoryState?
    public var input = InputEditor()
    public var history: [String] = []
    public var historyIndex: Int?
    public var historyDraft = ""
    public var scroll: Scroll = .follow
    public var streaming: StreamState?
    public var notice: String?
    public var lastError: String?
    public var overlay: Overlay = .none
    /// The first row of the help shown (when it is taller than the screen).
    public var helpScroll = 0
    /// The numbers the mode picker offers for window:N, budget:N and summarize:N.
    public var policyNumbers = PolicyNumbers()
    public var quitArmed = false
    public var cancelling = false
    /// Enter was pressed while a reply streamed: send the input as soon as the turn is recorded.
    public var sendQueued = false
    /// The compare view, when open.
    public var compare: CompareViewState?
    /// The session browser, when open.
    public var browser: BrowserState?

    public init(width: Int, height: Int, backend: BackendInfo) {
        self.width = width
        self.height = height
        self.backend = backend
    }

    /// The messages the pane shows: the transcript plus the turn in flight.
    public var displayMessages: [ChatMessage] {
        guard let s = streaming else { return messages }
        return messages + [ChatMessage(id: -1, role: "user", text: s.userText, status: "pending"),
                           ChatMessage(id: -2, role: "assistant", text: s.reply, status: "streaming", revision: s.revision)]
    }
}

/// What happened.
public enum Event: Sendable {
    case key(Key)
    case paste(String)
    case resize(width: Int, height: Int)
    case engine(EngineEvent)
}

/// What the engine reports back to the screen.
public enum EngineEvent: Sendable {
    case delta(String)
    /// A turn ended (completed, interrupted or failed) and is recorded; the new transcript rows and state.
    case turnRecorded(newMessages: [ChatMessage], turns: [TurnRecord], memory: MemoryState, session: SessionRecord, error: String?)
    case sessionLoaded(session: SessionRecord, messages: [ChatMessage], turns: [TurnRecord], memory: MemoryState, olderAvailable: Bool = false)
    /// A page of the transcript the screen asked for, and whether more lies beyond it.
    case pageLoaded(TranscriptPage, messages: [ChatMessage], more: Bool)
    /// Another process (`send`, `serve`, another screen) wrote to the open session: its new rows and state.
    case sessionChanged(newMessages: [ChatMessage], turns: [TurnRecord], memory: MemoryState, session: SessionRecord)
    case notice(String)
    case failure(String)
    case compareOpened(CompareViewState)
    case compareDelta(column: Int, text: String)
    case compareTurn(column: Int, row: CompareTurn, newMessages: [ChatMessage])
    case browserList([SessionSummary])
    case browserPreview(name: String, messages: [ChatMessage], turns: [TurnRecord])
    case browserMessage(String)
}

/// What the screen asks the engine (or the terminal) to do.
public enum Effect: Equatable, Sendable {
    case send(String)
    /// Read a page of the transcript (scrolling reached the end of what is loaded).
    case loadPage(TranscriptPage)
    case cancelStream
    case switchMode(MemoryMode, policy: String?)
    case newSession(String)
    case quit
    case redraw
    case openCompare
    case compareSend(String)
    case compareAddColumn(CompareColumn)
    case compareCancel
    case browserSearch(String)
    case browserPreview(String)
    case browserRename(from: String, to: String)
    case browserDelete(String, server: Bool)
    case browserExport(String)
    case browserFork(String, as: String, at: String)
    case forkHere(messageID: Int64)
}

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

public enum App {
    /// The input box holds at most this much text (every frame lays it out).
    public static let maxInputBytes = 1_000_000

    /// Handles one event. Pure but for the layout cache (a memo), which scrolling consults.
    public static func update(_ state: inout AppState, _ event: Event, layout: LayoutCache) -> [Effect] {
        switch event {
        case .resize(let w, let h):
            state.width = w
            state.height = h
            return [.redraw]
        case .paste(let text):
            if text.utf8.count + state.input.text.utf8.count > App.maxInputBytes {
                state.notice = String(format: "the paste is %.1f MB; the input holds up to 1 MB (send big texts with: chatbench send - < FILE)",
                                      Double(text.utf8.count) / 1_000_000)
                return []
            }
            switch state.overlay {
            case .newSession(var editor):
                editor.insert(text.replacingOccurrences(of: "\n", with: " "))
                state.overlay = .newSession(editor)
            case .none:
                state.input.insert(text)   // a paste never sends, whatever it contains
                state.historyIndex = nil
            default:
                break
            }
            return []
        case .engine(let e):
            return engine(&state, e, layout: layout)
        case .key(let key):
            if key != .ctrl("c") { state.quitArmed = false }
            switch state.overlay {
            case .help:
                switch key {
                case .up, .wheelUp: state.helpScroll = max(0, state.helpScroll - 1)
                case .down, .wheelDown: state.helpScroll += 1   // the view stops at the last row
                case .pageUp: state.helpScroll = max(0, state.helpScroll - 10)
                case .pageDown: state.helpScroll += 10
                default: break
                }
                if [.escape, .f(1), .enter, .char("q"), .char("?"), .ctrl("q")].contains(key) { state.overlay = .none; state.helpScroll = 0 }
                return key == .ctrl("q") ? quit(&state) : []
            case .modePicker(let selected):
                return picker(&state, key, selected)
            case .newSession(let editor):
                return newSessionPrompt(&state, key, editor)
            case .forkPick(let selected):
                return forkPick(&state, key, selected, layout: layout)
            case .none:
                if state.browser != nil { return browserKey(&state, key) }
                if state.compare != nil { return compareKey(&state, key, layout: layout) }
                return main(&state, key, layout: layout)
            }
        }
    }

    static func quit(_ state: inout AppState) -> [Effect] {
        state.streaming != nil ? [.cancelStream, .quit] : [.quit]
    }

    /// The picker: Up/Down choose; on a policy with a number, Left/Right change it (budget by 100),
    /// digits type it and Backspace deletes its last digit; Enter switches (or adds a compare column).
    static func picker(_ state: inout AppState, _ key: Key, _ selected: Int) -> [Effect] {
        let n = ModeChoice.all.count
        let c = ModeChoice.all[selected]
        let kind = c.policyKind.flatMap { $0 == "all" ? nil : $0 }
        switch key {
        case .up: state.overlay = .modePicker(selected: (selected + n - 1) % n)
        case .down, .tab: state.overlay = .modePicker(selected: (selected + 1) % n)
        case .escape, .f(2): state.overlay = .none
        case .left, .right:
            guard let kind else { return [] }
            let step = kind == "budget" ? 100 : 1
            state.policyNumbers[kind] += key == .right ? step : -step
        case .char(let ch) where ch.isASCII && ch.isNumber:
            guard let kind else { return [] }
            state.policyNumbers[kind] = state.policyNumbers[kind] * 10 + Int(String(ch))!
        case .backspace:
            guard let kind else { return [] }
            state.policyNumbers[kind] /= 10
        case .enter:
            state.overlay = .none
            if let compare = state.compare {
                let column = CompareColumn(mode: c.mode, policy: c.policy(state.policyNumbers) ?? "all")
                if let refusal = compare.refusesColumn(column) { state.notice = refusal; return [] }
                return [.compareAddColumn(column)]
            }
            return [.switchMode(c.mode, policy: c.policy(state.policyNumbers))]
        case .ctrl("q"): return quit(&state)
        default: break
        }
        return []
    }

    /// Choosing the fork point: Up/Down move over the messages (scrolling to keep the choice on
    /// screen), Enter forks there, Esc cancels.
    static func forkPick(_ state: inout AppState, _ key: Key, _ selected: Int, layout: LayoutCache) -> [Effect] {
        let last = state.messages.count - 1
        var i = selected
        switch key {
        case .up: i = max(0, i - 1)
        case .down: i = min(last, i + 1)
        case .pageUp: i = max(0, i - 10)
        case .pageDown: i = min(last, i + 10)
        case .home: i = 0
        case .end: i = last
        case .enter:
            state.overlay = .none
            guard state.messages.indices.contains(i) else { return [] }
            return [.forkHere(messageID: state.messages[i].id)]
        case .escape, .ctrl("f"):
            state.overlay = .none
            return []
        case .ctrl("q"): return quit(&state)
        default: return []
        }
        state.overlay = .forkPick(i)
        let pane = pane(state)
        let shown = layout.visibleMessages(state.displayMessages, width: pane.width, height: pane.height, scroll: state.scroll)
        if !shown.contains(i) { state.scroll = i == last ? .follow : .anchored(message: i, line: 0) }
        return []
    }

    static func newSessionPrompt(_ state: inout AppState, _ key: Key, _ editor: InputEditor) -> [Effect] {
        var e = editor
        switch key {
        case .escape: state.overlay = .none; return []
        case .enter:
            let name = e.text.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { state.notice = "a session needs a name"; return [] }
            state.overlay = .none
            return [.newSession(name)]
        case .char(let c): e.insert(String(c))
        case .backspace: e.backspace()
        case .left: e.left()
        case .right: e.right()
        case .ctrl("u"): e.killToStart()
        case .ctrl("q"): return quit(&state)
        default: break
        }
        state.overlay = .newSession(e)
        return []
    }

    /// The conversation pane's size for the current screen.
    static func pane(_ state: AppState) -> (width: Int, height: Int) {
        let l = MainLayout(state)
        return (l.conversation.width - 2, l.conversation.height - 2)
    }

    static func main(_ state: inout AppState, _ key: Key, layout: LayoutCache) -> [Effect] {
        if case .char(let c) = key {
            if c == "?" && state.input.isEmpty { state.overlay = .help; return [] }
            state.input.insert(String(c))
            state.historyIndex = nil
            return []
        }
        let pane = pane(state)
        switch key {
        case .backspace: state.input.backspace(); return []
        case .delete: state.input.deleteForward(); return []
        case .left: state.input.left(); return []
        case .right: state.input.right(); return []
        case .wheelUp: return scroll(&state, by: -3, layout: layout)
        case .wheelDown: return scroll(&state, by: 3, layout: layout)
        default: break
        }
        guard let action = KeyTable.action(for: key) else { return [] }
        switch action {
        case .send:
            let text = state.input.text
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [] }
            if state.streaming != nil {
                state.sendQueued = true
                state.notice = "queued: sends when the reply is done (Esc cancels the reply)"
                return []
            }
            return startSend(&state)
        case .newline:
            state.input.insert("\n")
        case .cancel:
            if state.streaming != nil && !state.cancelling {
                state.cancelling = true
                return [.cancelStream]
            }
        case .interrupt:
            if state.streaming != nil {
                if !state.cancelling { state.cancelling = true; return [.cancelStream] }
                return []
            }
            if state.quitArmed { return [.quit] }
            state.quitArmed = true
            state.notice = "press Ctrl-C again to quit"
        case .quit:
            return quit(&state)
        case .toggleMode:
            guard let mode = state.session?.mode else { return [] }
            let all = MemoryMode.allCases
            let next = all[(all.firstIndex(of: mode)! + 1) % all.count]
            return [.switchMode(next, policy: nil)]
        case .modePicker:
            let current = ModeChoice.all.firstIndex { $0.isCurrent(mode: state.session?.mode, policy: state.session?.policy) } ?? 0
            state.policyNumbers = PolicyNumbers(from: state.session?.policy)
            state.overlay = .modePicker(selected: current)
        case .help:
            state.overlay = .help
        case .browse:
            if state.streaming != nil { state.notice = "wait for the reply (or Esc) before browsing"; return [] }
            state.browser = BrowserState()
            return [.browserSearch("")]
        case .compare:
            if state.streaming != nil { state.notice = "wait for the reply (or Esc) before comparing"; return [] }
            return [.openCompare]
        case .newSession:
            state.overlay = .newSession(InputEditor("session-\(Self.stamp())"))
        case .fork:
            guard state.streaming == nil else { state.notice = "wait for the reply (or Esc) before forking"; return [] }
            guard state.session?.clientDB == nil else { state.notice = "an Agents SDK session is forked with its own tools; Ctrl-F forks chatbench transcripts"; return [] }
            var index = state.messages.count - 1
            if case .anchored(let m, _) = state.scroll { index = min(m, state.messages.count - 1) }
            guard index >= 0 else { state.notice = "nothing to fork yet"; return [] }
            state.overlay = .forkPick(index)
        case .redraw:
            return [.redraw]
        case .scrollUp:
            return scroll(&state, by: -max(1, pane.height - 1), layout: layout)
        case .scrollDown:
            return scroll(&state, by: max(1, pane.height - 1), layout: layout)
        case .scrollTop:
            if state.olderAvailable { return [.loadPage(.first(pageSize))] }
            state.scroll = state.displayMessages.isEmpty ? .follow : .anchored(message: 0, line: 0)
        case .scrollBottom:
            if state.newerAvailable { return [.loadPage(.last(pageSize))] }
            state.scroll = .follow
        case .historyPrevious:
            if state.input.isMultiline && state.input.verticalMove(-1) { return [] }
            guard !state.history.isEmpty else { return [] }
            if state.historyIndex == nil { state.historyDraft = state.input.text }
            let i = max(0, (state.historyIndex ?? state.history.count) - 1)
            state.historyIndex = i
            state.input.set(state.history[i])
        case .historyNext:
            if state.input.isMultiline && state.input.verticalMove(1) { return [] }
            guard let i = state.historyIndex else { return [] }
            if i + 1 < state.history.count {
                state.historyIndex = i + 1
                state.input.set(state.history[i + 1])
            } else {
                state.historyIndex = nil
                state.input.set(state.historyDraft)
            }
        case .lineStart: state.input.home()
        case .lineEnd: state.input.end()
        case .killToEnd: state.input.killToEnd()
        case .killToStart: state.input.killToStart()
        case .deleteWordBack: state.input.deleteWordBack()
        }
        return []
    }

    /// Keys in the browser. Letters act on the selected session (Enter open, r rename, d delete,
    /// e export, f fork); `/` starts an incremental search; Esc closes a prompt, then the browser.
    static func browserKey(_ state: inout AppState, _ key: Key) -> [Effect] {
        guard var b = state.browser else { return [] }
        var closed = false
        defer { if !closed { state.browser = b } }
        b.message = nil
        func previewEffect() -> [Effect] { b.current.map { [.browserPreview($0.name)] } ?? [] }
        switch b.prompt {
        case .search:
            switch key {
            case .escape, .enter: b.prompt = .none; return []
            case .char(let c): b.query.insert(String(c))
            case .backspace: b.query.backspace()
            case .ctrl("u"): b.query.killToStart()
            case .up, .down: b.prompt = .none; return browserKey(&state, key)
            default: return []
            }
            b.selected = 0
            return [.browserSearch(b.query.text)]
        case .rename(var e), .fork(var e):
            let renaming: Bool
            if case .rename = b.prompt { renaming = true } else { renaming = false }
            switch key {
            case .escape: b.prompt = .none; return []
            case .enter:
                b.prompt = .none
                let name = e.text.trimmingCharacters(in: .whitespaces)
                guard let cur = b.current, !name.isEmpty else { return [] }
                if renaming { return [.browserRename(from: cur.name, to: name)] }
                guard let at = b.forkAt else { b.message = "\(cur.name) has no completed turn to fork from"; return [] }
                return [.browserFork(cur.name, as: name, at: at)]
            case .char(let c): e.insert(String(c))
            case .backspace: e.backspace()
            case .ctrl("u"): e.killToStart()
            case .left: e.left()
            case .right: e.right()
            default: break
            }
            b.prompt = renaming ? .rename(e) : .fork(e)
            return []
        case .confirmDelete:
            b.prompt = .none
            guard let cur = b.current else { return [] }
            switch key {
            case .char("y"): return [.browserDelete(cur.name, server: false)]
            case .char("s"): return [.browserDelete(cur.name, server: true)]
            default: b.message = "not deleted"; return []
            }
        case .none:
            switch key {
            case .escape, .f(4), .ctrl("o"):
                closed = true
                state.browser = nil
                return []
            case .up: b.selected = max(0, b.selected - 1); b.forkPoint = nil; return previewEffect()
            case .down: b.selected = min(max(0, b.sessions.count - 1), b.selected + 1); b.forkPoint = nil; return previewEffect()
            case .char("["): b.forkPoint = max(0, (b.forkPoint ?? b.previewTurns.count - 1) - 1)
            case .char("]"): b.forkPoint = min(max(0, b.previewTurns.count - 1), (b.forkPoint ?? b.previewTurns.count - 1) + 1)
            case .pageUp: b.selected = max(0, b.selected - 10); return previewEffect()
            case .pageDown: b.selected = min(max(0, b.sessions.count - 1), b.selected + 10); return previewEffect()
            case .char("/"): b.prompt = .search; return []
            case .enter:
                guard let cur = b.current else { return [] }
                closed = true
                state.browser = nil
                return [.newSession(cur.name)]
            case .char("r"): if let cur = b.current { b.prompt = .rename(InputEditor(cur.name)) }
            case .char("f"): if let cur = b.current { b.prompt = .fork(InputEditor(cur.name + "-fork")) }
            case .char("d"): if b.current != nil { b.prompt = .confirmDelete }
            case .char("e"): if let cur = b.current { return [.browserExport(cur.name)] }
            case .ctrl("q"): return [.quit]
            default: break
            }
            return []
        }
    }

    /// Keys in the compare view: Enter sends to every column; F2 adds a column; F3 or Esc goes back.
    static func compareKey(_ state: inout AppState, _ key: Key, layout: LayoutCache) -> [Effect] {
        guard var c = state.compare else { return [] }
        switch key {
        case .escape where c.inFlight > 0:
            state.notice = "cancelling the replies…"
            return [.compareCancel]
        case .f(3), .escape:
            if c.inFlight > 0 { state.notice = "replies are still arriving (Esc cancels them)"; return [] }
            state.compare = nil
            return []
        case .enter:
            let text = state.input.text
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [] }
            guard c.inFlight == 0 else { state.notice = "replies are still arriving (Esc cancels them)"; return [] }
            if state.history.last != text { state.history.append(text) }
            state.input = InputEditor()
            c.inFlight = c.columns.count
            c.turn += 1
            c.pendingUser = text
            for i in c.columns.indices { c.columns[i].streaming = ""; c.columns[i].error = nil }
            state.compare = c
            return [.compareSend(text)]
        case .f(2):
            guard c.inFlight == 0 else { return [] }
            if c.columns.count >= CompareViewState.maxColumns { state.notice = "at most \(CompareViewState.maxColumns) modes: Backspace drops the last one"; return [] }
            state.policyNumbers = PolicyNumbers()
            state.overlay = .modePicker(selected: 0)
            return []
        case .backspace where state.input.isEmpty && c.columns.count > 2 && c.inFlight == 0:
            c.columns.removeLast()
            state.compare = c
            return []
        case .ctrl("q"):
            return [.quit]
        default:
            // Editing keys work as on the main screen; scrolling and mode keys do not apply here.
            if case .char = key { return main(&state, key, layout: layout) }
            if let a = KeyTable.action(for: key), [.newline, .lineStart, .lineEnd, .killToEnd, .killToStart, .deleteWordBack, .historyPrevious, .historyNext, .help].contains(a) {
                return main(&state, key, layout: layout)
            }
            if [.backspace, .delete, .left, .right].contains(key) { return main(&state, key, layout: layout) }
            return []
        }
    }

    /// Messages read per page, and the most the window keeps (it drops the far end beyond that).
    public static let pageSize = 128
    public static let windowLimit = 1024

    /// Scrolls the pane, and asks for the next page when the view comes within a few messages of the
    /// end of the window and the store has more there.
    static func scroll(_ state: inout AppState, by delta: Int, layout: LayoutCache) -> [Effect] {
        let pane = pane(state)
        state.scroll = layout.move(state.scroll, by: delta, state.displayMessages, width: pane.width, height: pane.height)
        if state.scroll == .follow && state.newerAvailable {
            // The window's bottom is not the transcript's: stay anchored and read on.
            let top = layout.topAnchor(state.displayMessages, width: pane.width, height: pane.height)
            state.scroll = .anchored(message: top.message, line: top.line)
        }
        return pageNeeded(state)
    }

    static func pageNeeded(_ state: AppState) -> [Effect] {
        let margin = 16
        let top: Int
        switch state.scroll {
        case .follow: top = max(0, state.messages.count - 1)
        case .anchored(let m, _): top = m
        }
        if top < margin, state.olderAvailable, let first = state.messages.first { return [.loadPage(.before(first.id, pageSize))] }
        // The pane shows at most one message per row below its top.
        if top + pane(state).height > state.messages.count - margin, state.newerAvailable, let last = state.messages.last {
            return [.loadPage(.after(last.id, pageSize))]
        }
        return []
    }

    /// Adds a page to the window, keeps the view where it was, and trims the far end past the limit.
    static func pageLoaded(_ state: inout AppState, _ page: TranscriptPage, _ rows: [ChatMessage], more: Bool) {
        switch page {
        case .last:
            state.messages = rows
            state.olderAvailable = more
            state.newerAvailable = false
            state.scroll = .follow
        case .first:
            state.messages = rows
            state.olderAvailable = false
            state.newerAvailable = more
            state.scroll = rows.isEmpty ? .follow : .anchored(message: 0, line: 0)
        case .before(let id, _):
            guard state.messages.first?.id == id else { return }   // the window moved meanwhile
            state.messages.insert(contentsOf: rows, at: 0)
            state.olderAvailable = more
            if case .anchored(let m, let l) = state.scroll { state.scroll = .anchored(message: m + rows.count, line: l) }
            if state.messages.count > windowLimit, case .anchored = state.scroll {
                state.messages.removeLast(state.messages.count - windowLimit)
                state.newerAvailable = true
            }
        case .after(let id, _):
            guard state.messages.last?.id == id else { return }
            state.messages += rows
            state.newerAvailable = more
            if state.messages.count > windowLimit {
                let drop = state.messages.count - windowLimit
                state.messages.removeFirst(drop)
                state.olderAvailable = true
                if case .anchored(let m, let l) = state.scroll { state.scroll = .anchored(message: max(0, m - drop), line: l) }
            }
        }
    }

    static func startSend(_ state: inout AppState) -> [Effect] {
        let text = state.input.text
        if state.history.last != text { state.history.append(text) }
        state.historyIndex = nil
        state.input = InputEditor()
        state.streaming = StreamState(userText: text, reply: "", revision: 0)
        state.scroll = .follow
        state.lastError = nil
        state.notice = nil
        state.sendQueued = false
        // Scrolled back through a long session: the reply appears under the newest messages.
        return state.newerAvailable ? [.loadPage(.last(pageSize)), .send(text)] : [.send(text)]
    }

    static func stamp() -> String {
        let f = DateFormatter()
        f.dateFormat = "MMdd-HHmm"
        return f.string(from: Date())
    }

    static func engine(_ state: inout AppState, _ e: EngineEvent, layout: LayoutCache) -> [Effect] {
        switch e {
        case .delta(let d):
            state.streaming?.reply += d
            state.streaming?.revision += 1
        case .turnRecorded(let new, let turns, let memory, let session, let error):
            state.streaming = nil
            state.cancelling = false
            if !state.newerAvailable { state.messages += new }
            state.turns = turns
            state.memory = memory
            state.session = session
            state.lastError = error
            if state.sendQueued {
                state.sendQueued = false
                if !state.input.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return startSend(&state) }
            }
        case .sessionChanged(let new, let turns, let memory, let session):
            // Only rows the pane lacks: a refresh may overlap rows it already has.
            let last = state.messages.last?.id ?? 0
            if !state.newerAvailable { state.messages += new.filter { $0.id > last } }
            state.turns = turns
            state.memory = memory
            state.session = session
        case .pageLoaded(let page, let rows, let more):
            pageLoaded(&state, page, rows, more: more)
            return pageNeeded(state)
        case .sessionLoaded(let session, let messages, let turns, let memory, let older):
            state.session = session
            state.messages = messages
            state.olderAvailable = older
            state.newerAvailable = false
            state.turns = turns
            state.memory = memory
            state.streaming = nil
            state.scroll = .follow
            state.lastError = nil
        case .notice(let n):
            state.notice = n
        case .failure(let message):
            state.lastError = message
            state.cancelling = false
        case .compareOpened(let c):
            state.compare = c
            state.notice = nil
        case .compareDelta(let i, let text):
            guard var c = state.compare, c.columns.indices.contains(i) else { break }
            c.columns[i].streaming = (c.columns[i].streaming ?? "") + text
            c.columns[i].revision += 1
            state.compare = c
        case .browserList(let list):
            guard var b = state.browser else { break }
            let keep = b.current?.name
            b.sessions = list
            b.selected = keep.flatMap { k in list.firstIndex { $0.name == k } } ?? min(b.selected, max(0, list.count - 1))
            state.browser = b
            if let cur = b.current { return [.browserPreview(cur.name)] }
            state.browser?.preview = []
            state.browser?.previewTurns = []
        case .browserPreview(let name, let messages, let turns):
            guard state.browser?.current?.name == name else { break }
            state.browser?.preview = messages
            state.browser?.previewTurns = turns
        case .browserMessage(let m):
            state.browser?.message = m
        case .compareTurn(let i, let row, let new):
            guard var c = state.compare, c.columns.indices.contains(i) else { break }
            c.columns[i].messages += new
            c.columns[i].streaming = nil
            c.columns[i].error = row.error
            c.rows.append(row)
            c.inFlight = max(0, c.inFlight - 1)
            if c.inFlight == 0 { c.pendingUser = nil }
            state.compare = c
        }
        return []
    }
}
