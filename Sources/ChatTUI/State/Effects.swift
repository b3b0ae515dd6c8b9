import ChatEngine
import Foundation

/// What the screen asks the engine (or the terminal) to do.
public enum Effect: Equatable, Sendable {
    case send(String)
    /// Read a page of the transcript (scrolling reached the end of what is loaded).
    case loadPage(TranscriptPage)
    case cancelStream
    /// nil policies keep the session's own.
    case switchMode(MemoryMode, policy: String?, serverPolicy: String?)
    /// Ctrl-N: a new session like the current one (refused when the name exists).
    case newSession(String)
    /// The browser's Enter: an existing session, as it is.
    case openSession(String)
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
    /// Read a turn's requests for the X-ray.
    case loadXRay(turnID: Int64)
    /// The X-ray moves past the loaded turns: the session's turn just before (or after) `number`.
    case loadXRayNeighbour(session: Int64, number: Int, older: Bool)
    /// Ask the server what it holds for a turn's chain or conversation.
    case askServer(TurnRecord)
}
