import ChatEngine
import Foundation

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
    /// How the memory panel and the compare view price tokens (nil: no dollars shown).
    public var pricing: Pricing?
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
    /// The X-ray's requests (F5), once read.
    public var xray: XRayData?
    /// The numbers the mode picker offers for window:N, budget:N and summarize:N.
    public var policyNumbers = PolicyNumbers()
    /// The picker's number is being typed: the first digit on a row replaces it, later digits append.
    public var typingPolicyNumber = false
    public var quitArmed = false
    public var cancelling = false
    /// Messages entered while a reply streamed, each its own: sent one by one as turns are recorded.
    public var queued: [String] = []
    /// The compare view, when open.
    public var compare: CompareViewState?
    /// The session browser, when open.
    public var browser: BrowserState?
    /// The clock and time zone are inputs (`Event.clock`, the initializer), never read by `update` or the
    /// views, so both are pure functions of what they are given.
    public var now = Date(timeIntervalSince1970: 0)
    public var timeZone: TimeZone

    public init(width: Int, height: Int, backend: BackendInfo, timeZone: TimeZone = TimeZone(identifier: "UTC")!) {
        self.timeZone = timeZone
        self.width = width
        self.height = height
        self.backend = backend
    }

    /// The messages the pane shows: the transcript plus the turn in flight.
    public var displayMessages: [ChatMessage] {
        guard let s = streaming else { return messages }
        return messages + [ChatMessage(id: -1, role: .user, text: s.userText, status: .pending),
                           ChatMessage(id: -2, role: .assistant, text: s.reply, status: .streaming, revision: s.revision)]
    }
}
