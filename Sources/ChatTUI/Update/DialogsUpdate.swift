import ChatEngine
import Foundation

/// The dialogs over the main screen: the mode picker, the fork picker, the new-session prompt.
extension App {
    /// The picker: Up/Down choose; on a policy with a number, Left/Right change it (budget by 100),
    /// digits type it and Backspace deletes its last digit; Enter switches (or adds a compare column).
    static func picker(_ state: inout AppState, _ key: Key, _ selected: Int) -> [Effect] {
        let n = ModeChoice.all.count
        let c = ModeChoice.all[selected]
        let kind = c.numberKind
        switch key {
        case .up: state.overlay = .modePicker(selected: (selected + n - 1) % n); state.typingPolicyNumber = false
        case .down, .tab: state.overlay = .modePicker(selected: (selected + 1) % n); state.typingPolicyNumber = false
        case .escape, .f(2): state.overlay = .none
        case .left, .right:
            guard let kind else { return [] }
            let step = kind == "budget" ? 100 : kind == "compact" ? 1000 : 1
            state.policyNumbers[kind] = max(PolicyNumbers.minimum[kind] ?? 1, state.policyNumbers[kind] + (key == .right ? step : -step))
            state.typingPolicyNumber = false
        case .char(let ch) where ch.isASCII && ch.isNumber:
            guard let kind else { return [] }
            // Typing a number replaces the one shown (20000 then "5000" is 5000, not 200005000).
            state.policyNumbers[kind] = (state.typingPolicyNumber ? state.policyNumbers[kind] * 10 : 0) + Int(String(ch))!
            state.typingPolicyNumber = true
        case .backspace:
            guard let kind else { return [] }
            state.policyNumbers[kind] /= 10
            state.typingPolicyNumber = true
        case .enter:
            state.overlay = .none
            if let compare = state.compare {
                let column = CompareColumn(mode: c.mode, policy: c.policy(state.policyNumbers) ?? "all",
                                           serverPolicy: c.serverPolicy(state.policyNumbers) ?? "none")
                if let refusal = compare.refusesColumn(column) { state.notice = refusal; return [] }
                return [.compareAddColumn(column)]
            }
            if state.streaming != nil { state.notice = "wait for the reply (or Esc) before switching modes"; return [] }
            return [.switchMode(c.mode, policy: c.policy(state.policyNumbers), serverPolicy: c.serverPolicy(state.policyNumbers))]
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
            if let problem = WorkbenchStore.sessionNameProblem(name) { state.notice = problem; return [] }
            state.overlay = .none
            return [.newSession(name)]
        case .char(let c): e.insert(String(c))
        case .backspace: e.backspace()
        case .left: e.left()
        case .right: e.right()
        case .home: e.home()
        case .end: e.end()
        case .ctrl("u"): e.killToStart()
        case .ctrl("q"): return quit(&state)
        default: break
        }
        state.overlay = .newSession(e)
        return []
    }

    /// Opens the X-ray on a loaded turn and reads its requests.
    static func openXRay(_ state: inout AppState, turn: TurnRecord) -> [Effect] {
        state.overlay = .xray(turn: turn.id, scroll: 0)
        if state.xray?.turnID == turn.id { return [] }
        state.xray = nil
        return [.loadXRay(turnID: turn.id)]
    }

    /// ◂ ▸ in the X-ray: the neighbour among the loaded turns, else (past the chain panel's turns) the
    /// store is asked for it; nothing after the newest.
    static func xrayNeighbour(_ state: inout AppState, of t: TurnRecord, older: Bool) -> [Effect] {
        if let i = state.turns.firstIndex(where: { $0.id == t.id }) {
            let j = older ? i - 1 : i + 1
            if state.turns.indices.contains(j) { return openXRay(&state, turn: state.turns[j]) }
            if !older { return [] }
        }
        return [.loadXRayNeighbour(session: t.sessionID, number: t.number, older: older)]
    }

    /// The X-ray: ◂ ▸ an earlier or later turn, Up/Down/PgUp/PgDn/Home scroll, Esc or F5 close.
    static func xrayKey(_ state: inout AppState, _ key: Key, turn: Int64, scroll: Int) -> [Effect] {
        let page = max(1, state.height - 5)   // the X-ray's lines on screen
        // A scroll past the end (End, or paging on) comes back to the last page first.
        let scroll = min(scroll, max(0, Views.xrayLines(state, turn: turn, width: max(20, state.width - 2) - 2).count - page))
        let current = state.xrayTurn(turn)
        switch key {
        case .left: return current.map { xrayNeighbour(&state, of: $0, older: true) } ?? []
        case .right: return current.map { xrayNeighbour(&state, of: $0, older: false) } ?? []
        case .up, .wheelUp: state.overlay = .xray(turn: turn, scroll: max(0, scroll - 1))
        case .down, .wheelDown: state.overlay = .xray(turn: turn, scroll: scroll + 1)   // the view stops at the end
        case .pageUp: state.overlay = .xray(turn: turn, scroll: max(0, scroll - page))
        case .pageDown: state.overlay = .xray(turn: turn, scroll: scroll + page)
        case .home: state.overlay = .xray(turn: turn, scroll: 0)
        case .end: state.overlay = .xray(turn: turn, scroll: 1 << 40)   // the view stops at the last page
        case .char("a"):
            guard let t = current else { return [] }
            guard t.mode.isServerManaged, t.responseID != nil else {
                state.xray?.observed = "the server holds nothing for a \(t.mode.rawValue) turn (its requests say store: false)"
                return []
            }
            state.xray?.observed = "asking the server…"
            return [.askServer(t)]
        case .escape, .f(5), .char("q"): state.overlay = .none
        case .ctrl("q"): return quit(&state)
        default: break
        }
        return []
    }
}
