import ChatEngine
import Foundation

/// What happened.
public enum Event: Sendable {
    case key(Key)
    case paste(String)
    case resize(width: Int, height: Int)
    case engine(EngineEvent)
    /// The time now (the runtime sends it before each key).
    case clock(Date)
}

/// What the engine reports back to the screen.
public enum EngineEvent: Sendable {
    case delta(String)
    /// A turn ended (completed, interrupted or failed) and is recorded; the new transcript rows and state.
    case turnRecorded(newMessages: [ChatMessage], turns: [TurnRecord], memory: MemoryState, session: SessionRecord, error: String?)
    /// A session opened: the first page, the newest turns, the memory, and the input's history.
    case sessionLoaded(session: SessionRecord, messages: [ChatMessage], turns: [TurnRecord], memory: MemoryState, olderAvailable: Bool = false,
                       history: [String] = [])
    /// The session's mode and policy were switched.
    case modeSwitched(SessionRecord, MemoryState)
    /// A column joined the compare view, with its own new session.
    case compareColumnAdded(CompareColumnState)
    /// A session was renamed (the open one, maybe).
    case sessionRenamed(from: String, to: String)
    /// A page of the transcript the screen asked for, and whether more lies beyond it.
    case pageLoaded(TranscriptPage, messages: [ChatMessage], more: Bool)
    /// Another process (`send`, `serve`, another screen) wrote to the open session: its new rows and state.
    case sessionChanged(newMessages: [ChatMessage], turns: [TurnRecord], memory: MemoryState, session: SessionRecord)
    /// A turn the screen cannot show as recorded (its session was deleted meanwhile, or the store could
    /// not be read after it); `sent`: the turn itself completed, so its message is not offered again.
    case turnAbandoned(String, sent: Bool = false)
    case notice(String)
    case xrayLoaded(XRayData)
    case serverObserved(turnID: Int64, String)
    case failure(String)
    case compareOpened(CompareViewState)
    case compareDelta(column: Int, text: String)
    case compareTurn(column: Int, row: CompareTurn, newMessages: [ChatMessage])
    case browserList([SessionSummary])
    case browserPreview(name: String, messages: [ChatMessage], turns: [TurnRecord])
    case browserMessage(String)
}
