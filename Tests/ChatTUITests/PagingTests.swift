import ChatEngine
import Foundation
import Testing
import TestSupport
@testable import ChatTUI

/// The conversation pane holds a window of the transcript and asks for pages as it scrolls: what the
/// screen reads and keeps does not grow with the session.
@Suite struct PagingTests {
    let cache = LayoutCache()

    func messages(_ ids: ClosedRange<Int64>) -> [ChatMessage] {
        ids.map { ChatMessage(id: $0, role: $0 % 2 == 1 ? .user : .assistant, text: "m\($0)") }
    }

    /// Plays the effects a real runtime would, from an in-memory "store" of messages 1...total.
    func run(_ s: inout AppState, _ effects: [Effect], total: Int64) {
        var pending = effects
        while !pending.isEmpty {
            let e = pending.removeFirst()
            guard case .loadPage(let page) = e else { continue }
            let all = Array(1...total)
            var ids: [Int64]
            var more: Bool
            switch page {
            case .last(let n): ids = Array(all.suffix(n)); more = all.count > n
            case .first(let n): ids = Array(all.prefix(n)); more = all.count > n
            case .before(let id, let n):
                let older = all.filter { $0 < id }
                ids = Array(older.suffix(n)); more = older.count > n
            case .after(let id, let n):
                let newer = all.filter { $0 > id }
                ids = Array(newer.prefix(n)); more = newer.count > n
            }
            let rows = ids.map { ChatMessage(id: $0, role: $0 % 2 == 1 ? .user : .assistant, text: "m\($0)") }
            pending += App.update(&s, .engine(.pageLoaded(page, messages: rows, more: more)), layout: cache)
        }
    }

    @Test func scrollingUpReadsOlderPagesAndTheWindowStaysBounded() {
        var s = idleState()
        let total: Int64 = 100_000
        s.messages = messages((total - 127)...total)
        s.olderAvailable = true
        var seenFirst = Int64.max
        for _ in 0..<400 {
            let effects = App.update(&s, .key(.pageUp), layout: cache)
            run(&s, effects, total: total)
            #expect(s.messages.count <= App.windowLimit)
            seenFirst = min(seenFirst, s.messages.first!.id)
            // The window is always contiguous.
            #expect(zip(s.messages, s.messages.dropFirst()).allSatisfy { $0.id + 1 == $1.id })
        }
        #expect(seenFirst < total - 2_000)
        #expect(s.newerAvailable)
        // End goes back to the newest page and follows it again.
        run(&s, App.update(&s, .key(.end), layout: cache), total: total)
        #expect(s.scroll == .follow && s.messages.last?.id == total && !s.newerAvailable && s.messages.count == App.pageSize)
    }

    @Test func homeJumpsToTheFirstPageAndScrollingDownReadsNewer() {
        var s = idleState()
        let total: Int64 = 50_000
        s.messages = messages((total - 127)...total)
        s.olderAvailable = true
        run(&s, App.update(&s, .key(.home), layout: cache), total: total)
        #expect(s.messages.first?.id == 1 && s.scroll == .anchored(message: 0, line: 0) && s.newerAvailable && !s.olderAvailable)
        for _ in 0..<200 {
            run(&s, App.update(&s, .key(.pageDown), layout: cache), total: total)
            #expect(s.messages.count <= App.windowLimit)
            #expect(s.scroll != .follow || !s.newerAvailable)
        }
        #expect(s.messages.last!.id > 1_000)
    }

    @Test func sendingWhileScrolledBackReloadsTheNewestPageFirst() {
        var s = idleState()
        s.messages = messages(1...128)
        s.newerAvailable = true
        for ch in "hi" { _ = App.update(&s, .key(.char(ch)), layout: cache) }
        #expect(App.update(&s, .key(.enter), layout: cache) == [.loadPage(.last(App.pageSize)), .send("hi")])
    }

    /// Opening a 100,000-message session reads a page of messages and the chain panel's turns: a few
    /// screenfuls of rows, not the session.
    @Test func openingAHundredThousandMessageSessionReadsAFewScreenfuls() throws {
        let store = try WorkbenchStore.inMemory()
        let session = try store.createSession(name: "big", mode: .chain, backend: "offline", model: "offline-model")
        try store.db.transaction {
            for i in 0..<50_000 {
                let draft = TurnRecord(sessionID: session.id, number: 0, mode: .chain, backend: "offline", model: "offline-model",
                                       previousResponseID: i == 0 ? nil : "resp_\(i - 1)", responseID: "resp_\(i)", itemsSent: 1, inputItems: 1,
                                       requestBytes: 100, inputTokens: 10 + i, outputTokens: 5, status: .completed, createdAt: 0)
                try store.recordTurn(draft, userItem: .userText("Message \(i)"), userStatus: .complete,
                                     reply: .assistantMessage(id: nil, text: "Reply \(i)"), replyStatus: .complete) { s, _, _ in
                    s.chainHead = "resp_\(i)"
                }
            }
        }
        let s = try #require(try store.session(named: "big"))
        let before = store.db.rowsRead
        guard case .sessionLoaded(_, let msgs, let turns, let memory, let older, _) = try ScreenData.load(store, s) else {
            Issue.record("not a load"); return
        }
        let read = store.db.rowsRead - before
        #expect(msgs.count == App.pageSize && older && msgs.last?.text == "Reply 49999")
        #expect(turns.count == ScreenData.chainPanelTurns)
        #expect(memory.turns == 50_000 && memory.serverTurns == 50_000 && memory.serverItems == 100_000 && memory.transcriptMessages == 100_000)
        #expect(read <= App.pageSize + ScreenData.chainPanelTurns + 16, "read \(read) rows")
    }
}

/// A streaming reply is laid out line by line: each delta lays out only the open line, and the result
/// is exactly what laying out the whole text gives.
@Suite struct StreamingLayoutTests {
    /// Seeded (seed 0 once cut the text at the display cap right after a newline: the streaming layout
    /// lacked the empty line the finished one has there, so rows jumped when the reply completed).
    @Test(arguments: [0, 1, 2, 3] as [UInt64])
    func eachDeltaLaysOutOnlyTheOpenLineAndMatchesAFullLayout(seed: UInt64) {
        let cache = LayoutCache()
        let reference = LayoutCache()
        var text = ""
        var rng = SeededRandom(seed: seed)
        let pieces = ["Here is ", "some **bold** text ", "and `code`.\n", "- a list item\n", "```swift\n", "let x = 1\t// tab\n", "```\n",
                      "# Heading\n", "plain words ", "漢字 😀 ", "more\n", "\n"]
        var deltas = 0
        while text.utf8.count < 30_000 {
            text += pieces[Int.random(in: 0..<pieces.count, using: &rng)]
            deltas += 1
            let streaming = ChatMessage(id: -2, role: .assistant, text: text, status: .streaming, revision: deltas)
            let got = cache.lines(for: streaming, width: 60)
            if deltas % 50 == 0 {
                // Same rows as a fresh layout of the whole text.
                let fresh = LayoutCache().lines(for: streaming, width: 60)
                #expect(got == fresh)
            }
        }
        let sourceLines = text.split(separator: "\n", omittingEmptySubsequences: false).count
        // Lines are laid out once each (until the display cap), not once per delta.
        #expect(cache.streamedLineLayouts <= sourceLines)
        #expect(deltas > 2 * sourceLines / 3)
        // Once finished, the whole text lays out as it did while streaming (less the cursor).
        let done = reference.lines(for: ChatMessage(id: 7, role: .assistant, text: text), width: 60)
        let last = cache.lines(for: ChatMessage(id: -2, role: .assistant, text: text, status: .streaming, revision: deltas + 1), width: 60)
        #expect(done.count == last.count || done.count + 1 == last.count)
    }

    @Test func aNewReplyWithTheSameIDStartsAfresh() {
        let cache = LayoutCache()
        _ = cache.lines(for: ChatMessage(id: -2, role: .assistant, text: "First reply line one\nline two\n", status: .streaming, revision: 3), width: 60)
        let second = cache.lines(for: ChatMessage(id: -2, role: .assistant, text: "Second reply\nx", status: .streaming, revision: 1), width: 60)
        #expect(second.map { $0.spans.map(\.text).joined() }.joined(separator: "|").contains("Second reply"))
        #expect(!second.map { $0.spans.map(\.text).joined() }.joined().contains("First reply"))
    }
}

/// Small things a tester found on screen.
@Suite struct ScreenDetailTests {
    @Test func tabsLineUpAtTheInputBoxsStopsAndToolRowsSayTool() {
        #expect(TextLayout.expandTabs("a\tX") == "a   X" && TextLayout.expandTabs("abc\tX") == "abc X" && TextLayout.expandTabs("abcdef\tX") == "abcdef  X")
        #expect(TextLayout.expandTabs("漢\tX") == "漢  X")   // a wide character takes two cells of the stop
        let rows = LayoutCache().lines(for: ChatMessage(id: 1, role: .tool, text: "get_weather({})"), width: 40)
        #expect(rows[0].spans.map(\.text).joined().hasPrefix("tool get_weather"))
    }

    @Test func leavingCompareTakesItsNoticeAlong() {
        var s = idleState()
        s.compare = CompareViewState(columns: [])
        s.notice = "added hybrid: it starts with no history"
        _ = App.update(&s, .key(.escape), layout: LayoutCache())
        #expect(s.compare == nil && s.notice == nil)
    }
}

/// A screen left open for many turns keeps its window bounded too.
@Suite struct WindowLimitTests {
    @Test func turnsAppendedForHoursStayWithinTheWindow() {
        var s = idleState()
        let cache = LayoutCache()
        var id: Int64 = 0
        for _ in 0..<(App.windowLimit) {
            let rows = [ChatMessage(id: id + 1, role: .user, text: "q"), ChatMessage(id: id + 2, role: .assistant, text: "a")]
            id += 2
            _ = App.update(&s, .engine(.turnRecorded(newMessages: rows, turns: [], memory: emptyMemory(), session: s.session!, error: nil)), layout: cache)
        }
        #expect(s.messages.count == App.windowLimit && s.olderAvailable)
        #expect(s.messages.last?.id == id && s.messages.first?.id == id - Int64(App.windowLimit) + 1)
        // A refresh overlapping rows it has adds only the new ones.
        _ = App.update(&s, .engine(.sessionChanged(newMessages: [s.messages.last!, ChatMessage(id: id + 1, role: .user, text: "n")], turns: [],
                                                   memory: emptyMemory(), session: s.session!)), layout: cache)
        #expect(s.messages.last?.id == id + 1 && s.messages.count == App.windowLimit)
    }
}
