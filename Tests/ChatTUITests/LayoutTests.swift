import ChatEngine
import Testing
@testable import ChatTUI

@Suite struct WrapTests {
    func texts(_ lines: [Line]) -> [String] { lines.map(\.text) }

    @Test func wrapsAtWordsByDisplayWidth() {
        let lines = TextLayout.wrap([Span("the quick brown fox jumps over the lazy dog", .text)], width: 12)
        #expect(texts(lines) == ["the quick ", "brown fox ", "jumps over ", "the lazy dog"])
        for l in lines { #expect(l.width <= 12) }
    }

    @Test func wideCharactersCountTwoAndBreakAnywhere() {
        let lines = TextLayout.wrap([Span("漢字テストです😀ok", .text)], width: 5)
        #expect(texts(lines) == ["漢字", "テス", "トで", "す😀", "ok"])
        for l in lines { #expect(l.width <= 5) }
    }

    @Test func longWordsAreBrokenAndNothingExceedsTheWidth() {
        let url = "https://example.com/" + String(repeating: "a", count: 50)
        for width in [1, 2, 3, 7, 19, 40] {
            let lines = TextLayout.wrap([Span("see \(url) now 👨‍👩‍👧 漢", .text)], width: width)
            for l in lines { #expect(l.width <= max(width, 2), "width \(width): \(l.text)") }
            #expect(lines.map(\.text).joined().replacingOccurrences(of: " ", with: "") == "see\(url)now👨‍👩‍👧漢")
        }
    }

    @Test func hangingIndentAndNewlines() {
        let lines = TextLayout.wrap([Span("one two three\nfour", .text)], width: 9, firstIndent: [Span("• ", .text)], indent: 2)
        #expect(texts(lines) == ["• one two", "  three", "  four"])
    }

    @Test func markdownBlocks() {
        let md = "# Title\nSome **bold** and `code`.\n\n- first item\n- second\n1. numbered\n```swift\nlet x = 1\n```"
        let lines = TextLayout.markdown(md, width: 30, base: .text)
        #expect(texts(lines) == ["Title", "Some bold and code.", "", "• first item", "• second", "1. numbered", "╭─ swift ", "│ let x = 1", "╰─"])
        #expect(lines[1].spans.contains { $0.text == "bold" && $0.style.bold })
        #expect(lines[1].spans.contains { $0.text == "code" && $0.style.role == .code })
        #expect(lines[7].spans.contains { $0.text == "let x = 1" && $0.style.role == .code })
        #expect(lines[0].spans.first?.style.role == .accent)
    }

    @Test func italicsAreStyledNotShownRaw() {
        let lines = TextLayout.markdown("Pack *light* and **warm**, *really*.", width: 60, base: .text)
        #expect(lines.map(\.text) == ["Pack light and warm, really."])
        #expect(lines[0].spans.contains { $0.text == "light" && $0.style.italic && !$0.style.bold })
        #expect(lines[0].spans.contains { $0.text == "warm" && $0.style.bold })
        #expect(TextLayout.markdown("2 * 3 * 4 = 24", width: 40, base: .text).map(\.text) == ["2 * 3 * 4 = 24"])
        #expect(TextLayout.markdown("a *b", width: 40, base: .text).map(\.text) == ["a *b"])
    }

    @Test func unclosedMarkersStayLiteral() {
        #expect(TextLayout.markdown("a `b and **c", width: 40, base: .text).map(\.text) == ["a `b and **c"])
    }

    @Test func hugeMessagesAreCapped() {
        let big = String(repeating: "x", count: TextLayout.maxCharactersPerMessage + 5000)
        let lines = TextLayout.markdown(big, width: 100, base: .text)
        #expect(lines.count == TextLayout.maxCharactersPerMessage / 100 + 1)
        #expect(lines.last?.text.contains("5000 more characters") == true)
    }
}

@Suite struct GridTests {
    @Test func putClipsWideCharactersAtTheEdge() {
        var g = Grid(width: 5, height: 1)
        g.put("ab漢字", x: 0, y: 0, style: .text)
        #expect(g.row(0) == "ab漢 ")
        g.put("x", x: 3, y: 0, style: .text)   // overwriting half of 漢 blanks the other half
        #expect(g.row(0) == "ab x ")
        var h = Grid(width: 4, height: 1)
        h.put("a\u{1b}[31mb", x: 0, y: 0, style: .text)  // control characters never reach the terminal
        #expect(h.row(0) == "a[31")
    }
}

@Suite struct LayoutCacheTests {
    func messages(_ n: Int) -> [ChatMessage] {
        (0..<n).map { ChatMessage(id: Int64($0), role: $0 % 2 == 0 ? .user : .assistant, text: "message number \($0) with some words in it") }
    }

    @Test func onlyTheVisibleMessagesAreLaidOut() {
        let cache = LayoutCache()
        let rows = cache.visible(messages(100_000), width: 60, height: 20, scroll: .follow)
        #expect(rows.count == 20)
        #expect(cache.layouts < 15)
        #expect(rows.contains { $0.text.contains("message number 99999") })
        let top = cache.visible(messages(100_000), width: 60, height: 20, scroll: .anchored(message: 0, line: 0))
        #expect(top.first?.text.contains("message number 0 ") == true)
        #expect(cache.layouts < 30)
    }

    @Test func scrollingMovesByRowsAndReturnsToFollow() {
        let cache = LayoutCache()
        let ms = messages(50)
        let up = cache.move(.follow, by: -10, ms, width: 60, height: 10)
        guard case .anchored = up else { Issue.record("expected anchored"); return }
        let visibleUp = cache.visible(ms, width: 60, height: 10, scroll: up)
        let visibleBottom = cache.visible(ms, width: 60, height: 10, scroll: .follow)
        #expect(visibleUp != visibleBottom)
        #expect(cache.move(up, by: 10, ms, width: 60, height: 10) == .follow)
        #expect(cache.move(.anchored(message: 0, line: 0), by: -5, ms, width: 60, height: 10) == .anchored(message: 0, line: 0))
    }

    @Test func streamingRelaysOnlyTheTail() {
        let cache = LayoutCache()
        var ms = messages(30)
        _ = cache.visible(ms, width: 60, height: 30, scroll: .follow)
        let before = cache.layouts
        ms.append(ChatMessage(id: -2, role: .assistant, text: "partial", status: .streaming, revision: 1))
        _ = cache.visible(ms, width: 60, height: 30, scroll: .follow)
        ms[ms.count - 1] = ChatMessage(id: -2, role: .assistant, text: "partial reply", status: .streaming, revision: 2)
        _ = cache.visible(ms, width: 60, height: 30, scroll: .follow)
        // No finished message was laid out again; the streaming one goes line by line (StreamingLayoutTests).
        #expect(cache.layouts == before)
    }
}

@Suite struct NumberFormatTests {
    @Test func bytesGoPastMegabytes() {
        #expect(Views.bytes(1023) == "1023 B")
        #expect(Views.bytes(1536) == "1.5 KB")
        #expect(Views.bytes(1024 * 1024 - 1) == "1.0 MB")   // never "1024.0 KB"
        #expect(Views.bytes(1_518_985_478_144) == "1.4 TB")  // was "1448610.0 MB"
        #expect(Views.bytes(3 * 1024 * 1024 * 1024) == "3.0 GB")
    }

    /// The memory panel after a summarize turn: "sent" and "billed" are the turn's own request, the
    /// summary request is overhead with its own row, the context is the reply's input tokens.
    @Test func memoryPanelKeepsTheSummaryRequestApart() {
        var s = Fixture.state(.client, width: 120, height: 40)
        var t = Fixture.turns(.client)[2]
        t.policyEffect = PolicyEffect(policy: "summarize:4", kept: 2, dropped: 0, summarized: 4,
                                      summary: RequestCost(requestBytes: 300, items: 4, inputTokens: 40, cachedTokens: 0, outputTokens: 5))
        t.overhead = [OverheadRequest(kind: "summarizer", request_bytes: 300, items: 4, usage: Usage(input: 40, output: 5), note: "summary of 4 items")]
        s.memory?.policy = "summarize:4"
        s.memory?.last = t
        s.memory?.lastCompleted = t
        let rows = Dictionary(Views.memoryRows(s).map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        // The turn: 520 bytes, 5 items, in 60 out 13; the summary request apart, as overhead.
        #expect(rows["sent"] == "520 B · 5 items")
        #expect(rows["billed"] == "in 60 out 13 · 0 cached")
        #expect(rows["overhead"] == "300 B · in 40 out 5 · 1 req")
        #expect(rows["client"] == "6 items stored")
        #expect(s.memory?.contextTokens == 60)
    }

    /// On a 24-line terminal every mode's memory panel is too short for all its rows: the least useful
    /// go first, the context, cost and cache rows stay, the order is kept, and the title counts the rest.
    @Test(arguments: MemoryMode.allCases)
    func aShortMemoryPanelKeepsTheRowsThatMatterAndSaysHowManyItHid(mode: MemoryMode) throws {
        let s = Fixture.state(mode, width: 80, height: 24)
        let all = Views.memoryRows(s)
        let capacity = try #require(MainLayout(s).memory).height - 2
        let (kept, hidden) = Views.fitMemoryRows(all, capacity: capacity)
        #expect(kept.count == min(all.count, capacity) && hidden == all.count - kept.count)
        let labels = kept.map(\.0)
        for must in ["context", "cost", "all cost", "cache hits", "server"] where all.contains(where: { $0.0 == must }) {
            #expect(labels.contains(must), "\(mode): \(must) was dropped: \(labels)")
        }
        #expect(labels == all.map(\.0).filter(labels.contains), "the order changed")
        let screen = Views.render(s, layout: LayoutCache()).text
        #expect(screen.contains("context   ") && (hidden == 0 || screen.contains("Memory · \(hidden) hidden")))
        // Room for everything: nothing is dropped.
        #expect(Views.fitMemoryRows(all, capacity: all.count).hidden == 0)
    }
}

@Suite struct InputEditorTests {
    @Test func editingKeys() {
        var e = InputEditor("hello big world")
        e.deleteWordBack()
        #expect(e.text == "hello big ")
        e.home()
        e.insert(">> ")
        #expect(e.text == ">> hello big ")
        e.killToEnd()
        #expect(e.text == ">> ")
        e.insert("漢字😀")
        e.left()
        e.backspace()
        #expect(e.text == ">> 漢😀")
        e.killToStart()
        #expect(e.text == "😀")
        e.insert("a\u{1b}b\r\nc")
        #expect(e.text == "ab\nc😀")
    }

    @Test func caretPositionCountsCells() {
        let e = InputEditor("ab漢字")
        let (lines, caret) = e.layout(width: 10)
        #expect(lines == ["ab漢字"])
        #expect(caret.x == 6 && caret.y == 0)
        let wrapped = InputEditor("漢字漢字漢").layout(width: 5)
        #expect(wrapped.lines == ["漢字", "漢字", "漢"])
        #expect(wrapped.caret.x == 2 && wrapped.caret.y == 2)
    }

    @Test func pastedTabsStayAndDrawToTabStops() {
        var s = idleState()
        _ = App.update(&s, .paste("def f():\r\treturn 1\r\t\tx"), layout: LayoutCache())
        #expect(s.input.text == "def f():\n\treturn 1\n\t\tx")
        let (lines, caret) = s.input.layout(width: 20)
        #expect(lines == ["def f():", "    return 1", "        x"])
        #expect(caret.x == 9 && caret.y == 2)
        #expect(InputEditor("ab\tc").layout(width: 20).lines == ["ab  c"])
    }

    @Test func verticalMovesInMultilineInput() {
        var e = InputEditor("first\nsecond")
        let up = e.verticalMove(-1)
        #expect(up && e.caret == 5)
        let upAgain = e.verticalMove(-1)
        #expect(!upAgain)
        let down = e.verticalMove(1)
        #expect(down && e.caret == 11)
    }
}
