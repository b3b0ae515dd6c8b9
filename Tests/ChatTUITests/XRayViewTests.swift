import ChatEngine
import Foundation
import Testing
@testable import ChatTUI

/// The context X-ray (F5, #20): the memory flow with this turn's counts, the parts by source with
/// totals, the overhead, and the requests as sent with each item's source; ◂ ▸ move between turns.
@Suite struct XRayViewTests {
    static func state(width: Int, height: Int) -> AppState {
        var s = Fixture.state(.chain, width: width, height: height)
        s.session?.mode = .layered
        s.turns[2].mode = .layered
        s.turns[2].context = [ContextPart(source: .summary, items: 1, tokens: 30, bytes: 140), ContextPart(source: .working, items: 4, tokens: 44, bytes: 210),
                              ContextPart(source: .episodic, items: 1, tokens: 35, bytes: 160), ContextPart(source: .new, items: 1, tokens: 9, bytes: 48),
                              ContextPart(source: .semantic, items: 0, tokens: 20, bytes: 90), ContextPart(source: .envelope, items: 0, tokens: 0, bytes: 60)]
        s.turns[2].overhead = [OverheadRequest(kind: "updater", request_bytes: 700, items: 1, usage: Usage(input: 80, output: 12), note: "1 fact: pet:cat=Miso")]
        s.turns[2].overhead[0].facts = 1
        let items: [Item] = [.message(Message(role: "developer", content: .text("Summary of the earlier conversation. The user said: My name is Priya."))),
                             .userText("I live in Lisbon."), .message(Message(role: "assistant", content: .text("Noted."))),
                             .message(Message(role: "developer", content: .text("From an earlier session (\"trip\", 2026-11-24) the user said: I'm planning a trip to Lisbon."))),
                             .userText("What did I say about Lisbon?")]
        var request = CreateResponseRequest(model: "offline-model", input: .items(items), instructions: "Long-term memory: My name is Priya.", store: false)
        request.stream = true
        let body = (try? WireJSON.encodeString(request)) ?? ""
        s.xray = XRayData(turnID: s.turns[2].id, requests: [SentRequest(kind: .reply, body: body, sources: [.summary, .working, .working, .episodic, .new])])
        s.overlay = .xray(turn: s.turns[2].id, scroll: 0)
        return s
    }

    @Test func anOldTurnsRequestIsShownAsSentWithItsSources() {
        for (w, h) in [(120, 40), (80, 24)] {
            let g = Views.render(Self.state(width: w, height: h), layout: LayoutCache())
            assertSnapshot(g, "xray-\(w)x\(h)")
            for y in 0..<g.height { #expect(DisplayWidth.of(g.row(y)) == w) }
            // The footer's line count is whole at every width (it comes first).
            let total = Views.xrayLines(Self.state(width: w, height: h), turn: 3, width: w - 4).count
            if total > h - 3 { #expect(g.row(h - 2).contains("│ 1–\(h - 3) of \(total) · "), "\(g.row(h - 2))") }
            #expect(h > 24 || total > h - 3, "80x24 scrolls")
        }
        let text = Views.render(Self.state(width: 120, height: 40), layout: LayoutCache()).text
        #expect(text.contains("[working 4] [summary 1] [semantic ✓] [episodic 1]"))
        #expect(text.contains("updater: 1 fact: pet:cat=Miso"))
        #expect(text.contains("[episodic] {\"content\":\"From an earlier session"))
        #expect(text.contains("total           7      138      708"))   // 1+4+1+1 items; the parts' sums
    }

    @Test func keysMoveBetweenTurnsAndLoadTheirRequests() {
        var s = Fixture.state(.chain, width: 120, height: 40)
        let cache = LayoutCache()
        #expect(App.update(&s, .key(.f(5)), layout: cache) == [.loadXRay(turnID: s.turns[2].id)])
        #expect(s.overlay == .xray(turn: s.turns[2].id, scroll: 0))
        #expect(App.update(&s, .key(.left), layout: cache) == [.loadXRay(turnID: s.turns[1].id)])
        #expect(s.overlay == .xray(turn: s.turns[1].id, scroll: 0))
        _ = App.update(&s, .engine(.xrayLoaded(XRayData(turnID: s.turns[1].id, requests: []))), layout: cache)
        #expect(App.update(&s, .key(.right), layout: cache) == [.loadXRay(turnID: s.turns[2].id)])
        #expect(App.update(&s, .key(.right), layout: cache).isEmpty && s.overlay == .xray(turn: s.turns[2].id, scroll: 0))   // the newest
        _ = App.update(&s, .key(.pageDown), layout: cache)
        if case .xray(_, let scrolled) = s.overlay { #expect(scrolled == 0 || scrolled == 35, "a page is the screen's height less 5") }
        _ = App.update(&s, .key(.end), layout: cache)
        _ = App.update(&s, .key(.up), layout: cache)
        let lines = Views.xrayLines(s, turn: s.turns[2].id, width: 116).count
        #expect(s.overlay == .xray(turn: s.turns[2].id, scroll: max(0, lines - 35) - (lines > 35 ? 1 : 0)), "End then Up: one line above the last page")
        _ = App.update(&s, .key(.escape), layout: cache)
        #expect(s.overlay == .none)
        var empty = Fixture.state(.chain, width: 120, height: 40)
        empty.turns = []
        #expect(App.update(&empty, .key(.f(5)), layout: cache).isEmpty && empty.notice?.contains("no turns yet") == true)
    }

    /// Past the chain panel's turns ◂ asks the store for the turn before, which the X-ray then shows
    /// (and can ask the server about); ▸ from there asks for the next; a turn that arrives from
    /// another process (the loaded list shifts) does not move the X-ray off its turn.
    @Test func theXRayReachesTurnsOlderThanTheLoadedOnes() {
        let cache = LayoutCache()
        var s = Fixture.state(.chain, width: 120, height: 40)
        let all = s.turns
        s.turns = Array(all.suffix(2))                      // the chain panel holds turns 2 and 3 only
        _ = App.update(&s, .key(.f(5)), layout: cache)
        #expect(App.update(&s, .key(.left), layout: cache) == [.loadXRay(turnID: all[1].id)])
        #expect(App.update(&s, .key(.left), layout: cache) == [.loadXRayNeighbour(session: all[1].sessionID, number: all[1].number, older: true)])
        #expect(s.overlay == .xray(turn: all[1].id, scroll: 0), "stays until the older turn is read")
        _ = App.update(&s, .engine(.xrayLoaded(XRayData(turnID: all[0].id, turn: all[0], requests: []))), layout: cache)
        #expect(s.overlay == .xray(turn: all[0].id, scroll: 0))
        #expect(Views.render(s, layout: cache).text.contains("Context X-ray · turn \(all[0].number)"))
        #expect(App.update(&s, .key(.char("a")), layout: cache) == [.askServer(all[0])])
        #expect(App.update(&s, .key(.right), layout: cache) == [.loadXRayNeighbour(session: all[0].sessionID, number: all[0].number, older: false)])
        // On a loaded turn, a new turn recorded elsewhere shifts the list: the X-ray keeps its turn.
        _ = App.update(&s, .engine(.xrayLoaded(XRayData(turnID: all[1].id, turn: all[1], requests: []))), layout: cache)
        var newer = all[2]
        newer.id += 100
        newer.number += 1
        s.turns = [all[2], newer]
        #expect(s.overlay == .xray(turn: all[1].id, scroll: 0))
        #expect(Views.render(s, layout: cache).text.contains("Context X-ray · turn \(all[1].number)"))
    }

    @Test func askingTheServerIsForServerTurnsOnly() {
        let cache = LayoutCache()
        var s = Fixture.state(.chain, width: 120, height: 40)
        _ = App.update(&s, .key(.f(5)), layout: cache)
        _ = App.update(&s, .engine(.xrayLoaded(XRayData(turnID: s.turns[2].id, requests: []))), layout: cache)
        #expect(App.update(&s, .key(.char("a")), layout: cache) == [.askServer(s.turns[2])])
        _ = App.update(&s, .engine(.serverObserved(turnID: s.turns[2].id, "8 items in 2 responses (8 messages)")), layout: cache)
        #expect(Views.render(s, layout: cache).text.contains("asked the server: 8 items in 2 responses (8 messages) · the workbench infers 8 items"))
        // With nothing inferred (no memory state read), no separator dangles at the end.
        s.memory = nil
        _ = App.update(&s, .engine(.serverObserved(turnID: s.turns[2].id, "6 items in 3 responses (6 messages)")), layout: cache)
        let asked = Views.render(s, layout: cache).text.split(separator: "\n").first { $0.contains("asked the server:") }.map(String.init) ?? ""
        #expect(asked.contains("asked the server: 6 items in 3 responses (6 messages) ") && !asked.contains("·"), "\(asked)")
        var c = Fixture.state(.client, width: 120, height: 40)
        _ = App.update(&c, .key(.f(5)), layout: cache)
        _ = App.update(&c, .engine(.xrayLoaded(XRayData(turnID: c.turns[2].id, requests: []))), layout: cache)
        #expect(App.update(&c, .key(.char("a")), layout: cache).isEmpty)
        #expect(Views.render(c, layout: cache).text.contains("the server holds nothing for a client turn"), "said in the X-ray, not under it")
    }

    /// The inferred count is the session head's: on an older turn it says so, on the newest it does not.
    @Test func theInferenceOnAnOldTurnIsLabelledAsTheHeads() {
        let cache = LayoutCache()
        var s = Fixture.state(.chain, width: 160, height: 40)
        let head = s.turns[2].number
        _ = App.update(&s, .key(.f(5)), layout: cache)
        _ = App.update(&s, .key(.left), layout: cache)
        _ = App.update(&s, .engine(.xrayLoaded(XRayData(turnID: s.turns[1].id, requests: []))), layout: cache)
        #expect(App.update(&s, .key(.char("a")), layout: cache) == [.askServer(s.turns[1])])
        _ = App.update(&s, .engine(.serverObserved(turnID: s.turns[1].id, "2 items in 1 response (2 messages)")), layout: cache)
        let old = Views.render(s, layout: cache).text
        #expect(old.contains("asked the server: 2 items in 1 response (2 messages) · the workbench infers 8 items held now, at the head (turn \(head))"), "\(old)")
        _ = App.update(&s, .key(.right), layout: cache)
        _ = App.update(&s, .engine(.xrayLoaded(XRayData(turnID: s.turns[2].id, requests: []))), layout: cache)
        _ = App.update(&s, .engine(.serverObserved(turnID: s.turns[2].id, "8 items in 2 responses (8 messages)")), layout: cache)
        let newest = Views.render(s, layout: cache).text
        #expect(newest.contains("the workbench infers 8 items held now") && !newest.contains("at the head"), "\(newest)")
    }

    /// The memory panel's layers row: this turn's counts per memory, and what the updater wrote.
    @Test func theLayersRowCountsEachMemory() {
        let s = Self.state(width: 120, height: 40)
        #expect(Views.layersRow(s.turns[2]) == "w4 s1 f✓ e1 → +1 fact")
        var t = s.turns[2]
        t.overhead[0].facts = nil   // the updater's reply was not usable: nothing written
        #expect(Views.layersRow(t) == "w4 s1 f✓ e1")
        #expect(Views.layersRow(s.turns[0]) == "—")
    }
}
