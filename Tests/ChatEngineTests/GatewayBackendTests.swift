import Foundation
import Testing
@testable import ChatEngine

/// The gateway seam of the offline backend: an `Answerer` is handed the rebuilt item list.
@Suite struct GatewayBackendTests {
    /// Answers with the user texts it was given, and remembers each context.
    final class Recorder: Answerer, @unchecked Sendable {
        private let lock = NSLock()
        private(set) var contexts: [[String]] = []
        private(set) var instructions: [String?] = []
        func model(for requested: String?) -> String { requested ?? "recorder" }
        func answer(_ turn: Turn) -> AsyncThrowingStream<AnswerPart, Error> {
            let texts = turn.context.map(\.text)
            lock.lock(); contexts.append(texts); instructions.append(turn.instructions); lock.unlock()
            return AsyncThrowingStream { c in
                c.yield(.delta("saw "))
                c.yield(.delta("\(texts.count)"))
                c.yield(.done(Usage(input: 7, cached: 3, output: 2)))
                c.finish()
            }
        }
    }

    func backend(_ rig: StateRig, _ r: Recorder) throws -> OfflineBackend {
        try rig.backend(answerer: r)
    }

    @Test(arguments: ServerStateKind.allCases) func aChainThatBeganInAConversationCarriesTheConversationsItems(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let r = Recorder()
        let b = try backend(rig, r)
        let conv = try await b.createConversation(items: [.userText("one")], metadata: [:])
        let inConv = try await b.createResponse(CreateResponseRequest(input: .text("two"), conversation: conv.id))
        #expect(inConv.outputText == "saw 2" && inConv.usage?.cachedTokens == 3 && inConv.usage?.input_tokens == 7)
        let chained = try await b.createResponse(CreateResponseRequest(input: .text("three"), previousResponseID: inConv.id))
        _ = try await b.createResponse(CreateResponseRequest(input: .text("four"), previousResponseID: chained.id))
        #expect(r.contexts.last == ["one", "two", "saw 2", "three", "saw 4", "four"])
    }

    @Test(arguments: ServerStateKind.allCases) func onlyTheCurrentRequestsInstructionsReachTheAnswerer(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let r = Recorder()
        let b = try backend(rig, r)
        let first = try await b.createResponse(CreateResponseRequest(input: .text("a"), instructions: "Be brief."))
        _ = try await b.createResponse(CreateResponseRequest(input: .text("b"), instructions: "Be kind.", previousResponseID: first.id))
        _ = try await b.createResponse(CreateResponseRequest(input: .text("c"), previousResponseID: first.id))
        #expect(r.instructions == ["Be brief.", "Be kind.", nil])
        #expect(r.contexts.last == ["a", "saw 1", "c"])
    }

    @Test(arguments: ServerStateKind.allCases) func theStateRulesAreTheOfflineBackends(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let r = Recorder()
        let b = try backend(rig, r)
        let hidden = try await b.createResponse(CreateResponseRequest(input: .text("secret"), store: false))
        await #expect(throws: APIError.self) { try await b.createResponse(CreateResponseRequest(input: .text("x"), previousResponseID: hidden.id)) }
        let a = try await b.createResponse(CreateResponseRequest(input: .text("a")))
        let c = try await b.createResponse(CreateResponseRequest(input: .text("c"), previousResponseID: a.id))
        _ = try await b.deleteResponse(id: a.id)
        await #expect(throws: APIError.self) { try await b.createResponse(CreateResponseRequest(input: .text("x"), previousResponseID: c.id)) }
        #expect(r.contexts == [["secret"], ["a"], ["a", "saw 1", "c"]])
    }

    /// A compaction on the gateway is one more upstream request (the summary), which the upstream bills:
    /// its usage is added to the turn's, streamed or not, and `/compact` reports it as measured.
    @Test(arguments: ServerStateKind.allCases) func theUpstreamsCompactionRequestIsBilledInTheUsage(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let r = Recorder()
        let b = try backend(rig, r)
        let trigger = Item.opaque(.object(["type": .string("compaction_trigger")]))
        let first = try await b.createResponse(CreateResponseRequest(model: "m", input: .items([.userText("My name is Priya."), trigger])))
        #expect(first.output.first?.type == "compaction" && r.contexts.count == 2)   // the summary, then the reply
        #expect(first.usage?.input_tokens == 14 && first.usage?.cachedTokens == 6 && first.usage?.output_tokens == 4 && first.usage?.total_tokens == 18)
        var streamed = CreateResponseRequest(model: "m", input: .items([.userText("I live in Lisbon."), trigger]), previousResponseID: first.id)
        streamed.stream = true
        var completed: Response?
        for try await e in b.streamResponse(streamed) where e.type == "response.completed" { completed = e.response }
        #expect(completed?.usage?.input_tokens == 14 && completed?.usage?.output_tokens == 4)
        // Without compaction the turn is the reply's request alone.
        let plain = try await b.createResponse(CreateResponseRequest(model: "m", input: .text("Thanks."), previousResponseID: first.id))
        #expect(plain.usage?.input_tokens == 7 && plain.usage?.output_tokens == 2)
        let compacted = try await b.compactResponse(CreateResponseRequest(model: "m", input: .text("Compact this."), previousResponseID: first.id))
        #expect(compacted.usage.input_tokens == 7 && compacted.usage.output_tokens == 2)
    }

    @Test func absurdUpstreamTokenCountsSaturate() throws {
        let json = #"{"id":"c","choices":[],"usage":{"prompt_tokens":1e300,"completion_tokens":9223372036854775807,"prompt_tokens_details":{"cached_tokens":-5}}}"#
        let usage = try #require(try JSONDecoder().decode(ChatReply.self, from: Data(json.utf8)).asUsage)
        #expect(usage.input_tokens == Int.max && usage.output_tokens == Int.max && usage.cachedTokens == 0 && usage.total_tokens == Int.max)
    }

    /// A chain 10,000 responses deep (written straight into the state) still rebuilds in one query (one
    /// script in Redis), oldest first.
    @Test(arguments: ServerStateKind.allCases) func aTenThousandDeepChainRebuildsInOrder(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let r = Recorder()
        let b = try backend(rig, r)
        if let c = rig.client {
            var commands: [[String]] = []
            for i in 1...10_000 {
                commands.append(["HSET", "\(rig.prefix):r:resp_\(i)", "prev", i == 1 ? "" : "resp_\(i - 1)", "stored", "1", "deleted", "0",
                                 "depth", String(i), "ctx", "0", "state", "", "body", "{}"])
                commands.append(["RPUSH", "\(rig.prefix):ri:resp_\(i)", Item.userText("q\(i)").jsonString()])
                commands.append(["RPUSH", "\(rig.prefix):ro:resp_\(i)", Item.userText("a\(i)").jsonString()])
            }
            _ = try c.pipeline(commands)
        } else { try b.db.transaction {
            for i in 1...10_000 {
                try b.db.execute("""
                    INSERT INTO responses(id, previous_response_id, stored, depth, context_tokens, model_state, created_at, body)
                    VALUES (?, ?, 1, ?, 0, '', 0, '{}')
                    """, [.text("resp_\(i)"), i == 1 ? .null : .text("resp_\(i - 1)"), .integer(Int64(i))])
                for (kind, text) in [("input", "q\(i)"), ("output", "a\(i)")] {
                    try b.db.execute("INSERT INTO response_items(response_id, kind, position, item_id, data) VALUES (?, ?, 0, NULL, ?)",
                                     [.text("resp_\(i)"), .text(kind), .text(Item.userText(text).jsonString())])
                }
            }
        } }
        let last = try await b.createResponse(CreateResponseRequest(input: .text("next"), previousResponseID: "resp_10000"))
        let context = try #require(r.contexts.last)
        #expect(context.count == 20_001 && context.prefix(3) == ["q1", "a1", "q2"] && context.suffix(2) == ["a10000", "next"])
        #expect(last.outputText == "saw 20001")
    }
}
