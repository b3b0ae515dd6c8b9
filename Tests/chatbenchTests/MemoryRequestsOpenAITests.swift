import Foundation
import Testing
@testable import ChatEngine

/// Against a fake OpenAI server (#20): the memory updater and the summarizer are structured-output
/// requests (`text.format` json_schema), and their tokens are billed as the turn's overhead, not as
/// the turn.
@Suite struct MemoryRequestsOpenAITests {
    static func format(_ request: [String: Any]) -> [String: Any]? {
        ((request["body"] as? [String: Any])?["text"] as? [String: Any])?["format"] as? [String: Any]
    }

    @Test func updaterAndSummarizerAreStructuredAndBilledAsOverhead() async throws {
        let server = try FakeServer()
        let store = try WorkbenchStore.inMemory()
        let runner = Runner(store: store, backend: OpenAIBackend(config: server.config(), defaultModel: "gpt-4.1"), streaming: false)
        var s = try store.createSession(name: "s", mode: .layered, backend: "openai", model: "gpt-4.1")
        s.policy = "window:2"
        try store.save(s)
        // The model's replies: the reply, then the updater's JSON (the fake answers in order).
        try await server.faults([["kind": "text", "text": "Hello Priya."],
                                 ["kind": "text", "text": #"{"facts":[{"key":"name","value":"Priya"}]}"#]])
        let first = try await runner.send("My name is Priya.", in: "s")
        #expect(try store.facts(profile: "default").map(\.1) == ["Priya"])
        for text in ["I live in Porto.", "The weather is fine.", "I read a book."] { _ = try await runner.send(text, in: "s") }
        let turns = try store.turns(session: s.id)
        let requests = try await server.requests().filter { ($0["path"] as? String) == "/v1/responses" }
        let names = requests.compactMap { Self.format($0)?["name"] as? String }
        #expect(names.filter { $0 == MemoryRequests.updaterSchemaName }.count == 4)
        #expect(names.contains(MemoryRequests.summarySchemaName), "\(names)")
        for r in requests where Self.format(r) != nil {
            let f = try #require(Self.format(r))
            #expect(f["type"] as? String == "json_schema" && f["strict"] as? Bool == true && f["schema"] is [String: Any])
            #expect((r["body"] as? [String: Any])?["store"] as? Bool == false)
        }
        // Overhead tokens are exactly what the server billed those requests; the turn's are the reply's.
        let replies = requests.filter { Self.format($0) == nil }
        #expect(replies.count == turns.count)
        #expect(first.turn.overhead.count == 1 && first.turn.overhead[0].kind == "updater" && first.turn.overhead[0].note.hasPrefix("1 fact"))
        let summarized = try #require(turns.first { $0.overhead.contains { $0.kind == "summarizer" } })
        let overheadInput = summarized.overhead.reduce(0) { $0 + ($1.input_tokens ?? 0) }
        #expect(overheadInput > 0)
        let m = try store.memoryState(for: try #require(try store.session(named: "s")))
        #expect(m.overheadInputTokens == turns.reduce(0) { $0 + $1.overhead.reduce(0) { $0 + ($1.input_tokens ?? 0) } })
        #expect(m.totalInputTokens == turns.reduce(0) { $0 + ($1.inputTokens ?? 0) }, "the turn totals hold the reply requests only")
    }
}
