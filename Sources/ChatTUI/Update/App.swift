import ChatEngine
import Foundation

/// The screen's state machine: `update` turns an event into a new state and the effects to run.
/// One file per screen holds its keys (MainUpdate, BrowserUpdate, CompareUpdate, DialogsUpdate);
/// EngineUpdate handles what the engine reports.
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
        case .clock(let now):
            state.now = now
            return []
        case .key(let key):
            if key != .ctrl("c") { state.quitArmed = false }
            switch state.overlay {
            case .help:
                let (lines, _, page) = Views.helpLayout(width: state.width, height: state.height)   // page: the rows on screen
                state.helpScroll = min(state.helpScroll, max(0, lines.count - page))   // back from past the end first
                switch key {
                case .up, .wheelUp: state.helpScroll = max(0, state.helpScroll - 1)
                case .down, .wheelDown: state.helpScroll += 1   // the view stops at the last row
                case .pageUp: state.helpScroll = max(0, state.helpScroll - page)
                case .pageDown: state.helpScroll += page
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
            case .xray(let turn, let scroll):
                return xrayKey(&state, key, turn: turn, scroll: scroll)
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
    /// The conversation pane's size for the current screen.
    static func pane(_ state: AppState) -> (width: Int, height: Int) {
        let l = MainLayout(state)
        return (l.conversation.width - 2, l.conversation.height - 2)
    }
}
