import Foundation
import Testing
@testable import ChatEngine

/// `max_output_tokens` and the other numeric bounds of a create request, on the offline backend.
@Suite struct OutputLimitTests {
    static let longQuestion = "My name is Priya, I'm moving to Lisbon and I love cats. Tell me everything you know about me and what I should pack."

    func request(_ text: String = longQuestion, max: Int? = nil, prev: String? = nil, conversation: String? = nil) -> CreateResponseRequest {
        var r = CreateResponseRequest(model: "m", input: .text(text), previousResponseID: prev, conversation: conversation)
        r.max_output_tokens = max
        return r
    }

    @Test func theReplyIsCutToMaxOutputTokensAndTheResponseIsIncomplete() async throws {
        let b = try OfflineBackend(inMemoryWith: OfflineModel())
        let full = try await b.createResponse(request())
        #expect(TokenEstimator.tokens(full.outputText) > 16, "the reply must be long enough to be cut: \(full.outputText)")
        #expect(full.status == "completed" && full.incomplete_details == nil)
        let r = try await b.createResponse(request(max: 16))
        #expect(r.status == "incomplete")
        #expect(r.incomplete_details == .object(["reason": .string("max_output_tokens")]))
        #expect(r.completed_at == nil)
        #expect(r.max_output_tokens == 16)
        #expect(TokenEstimator.tokens(r.outputText) <= 16 && r.outputText.utf8.count > 60)
        #expect(full.outputText.hasPrefix(r.outputText))
        #expect(r.usage?.output_tokens == TokenEstimator.tokens(r.outputText))
        #expect(r.output.last?.message?.status == "incomplete")
        // Stored as it ended.
        let stored = try await b.retrieveResponse(id: r.id)
        #expect(stored.status == "incomplete" && stored.outputText == r.outputText)
        // A limit the reply fits in changes nothing.
        let fits = try await b.createResponse(request(max: 100_000))
        #expect(fits.status == "completed" && fits.outputText == full.outputText)
    }

    /// The API lets a turn chain from an incomplete response; its cut reply is part of the context.
    @Test func anIncompleteResponseCanBeChainedAndAppendsToItsConversation() async throws {
        let b = try OfflineBackend(inMemoryWith: OfflineModel())
        let r1 = try await b.createResponse(request(max: 16))
        #expect(r1.status == "incomplete")
        let r2 = try await b.createResponse(request("Where am I moving?", prev: r1.id))
        #expect(r2.status == "completed" && r2.outputText.contains("Lisbon"), "\(r2.outputText)")
        let conv = try await b.createConversation(items: [], metadata: [:])
        let c1 = try await b.createResponse(request(max: 16, conversation: conv.id))
        #expect(c1.status == "incomplete")
        let items = try await b.listConversationItems(conversationID: conv.id, query: ListQuery(order: "asc"))
        #expect(items.data.count == 2 && items.data.last?.text == c1.outputText)
    }

    @Test func aStreamEndsWithResponseIncomplete() async throws {
        let b = try OfflineBackend(inMemoryWith: OfflineModel())
        var types: [String] = []
        var deltas = ""
        var last: Response?
        for try await e in b.streamResponse(request(max: 16)) {
            types.append(e.type)
            if let d = e.delta { deltas += d }
            if e.isTerminal { last = e.response }
        }
        #expect(types.last == "response.incomplete" && !types.contains("response.completed"), "\(types)")
        #expect(last?.status == "incomplete" && last?.incomplete_details?["reason"]?.stringValue == "max_output_tokens")
        #expect(deltas == last?.outputText && TokenEstimator.tokens(deltas) <= 16)
    }

    @Test(arguments: [-1, 0, 1, 15]) func maxOutputTokensBelow16IsRefused(_ n: Int) async throws {
        let b = try OfflineBackend(inMemoryWith: OfflineModel())
        await expectAPIError(status: 400, code: "integer_below_min_value", param: "max_output_tokens") {
            _ = try await b.createResponse(self.request("hi", max: n))
        }
        await expectAPIError(status: 400, code: "integer_below_min_value", param: "max_output_tokens") {
            for try await _ in b.streamResponse(self.request("hi", max: n)) {}
        }
    }

    @Test func temperatureAndTopPOutsideTheirRangesAreRefused() async throws {
        let b = try OfflineBackend(inMemoryWith: OfflineModel())
        func ask(temperature: Double? = nil, topP: Double? = nil) async throws -> Response {
            var r = request("hi")
            r.temperature = temperature
            r.top_p = topP
            return try await b.createResponse(r)
        }
        for t in [-0.1, 2.01, 1e300, -1e300] {
            await expectAPIError(status: 400, param: "temperature") { _ = try await ask(temperature: t) }
        }
        for p in [-0.5, 1.5, 1e300] {
            await expectAPIError(status: 400, param: "top_p") { _ = try await ask(topP: p) }
        }
        await expectAPIError(status: 400, code: "decimal_above_max_value") { _ = try await ask(temperature: 3) }
        await expectAPIError(status: 400, code: "decimal_below_min_value") { _ = try await ask(topP: -1) }
        let edges = try await ask(temperature: 2, topP: 0)
        #expect(edges.temperature == 2 && edges.top_p == 0)   // echoed, as the API does
        let low = try await ask(temperature: 0, topP: 1)
        #expect(low.temperature == 0 && low.top_p == 1)
    }

    @Test func prefixKeepsWholeCharactersWithinTheLimit() {
        #expect(TokenEstimator.prefix("abcdefgh", tokens: 2) == "abcdefgh")
        #expect(TokenEstimator.prefix("abcdefghi", tokens: 2) == "abcdefgh")
        #expect(TokenEstimator.prefix("ééééé", tokens: 2) == "éééé")           // 2 bytes each: 8 bytes
        #expect(TokenEstimator.prefix("a🙂🙂", tokens: 2) == "a🙂")              // never half a character
        #expect(TokenEstimator.prefix("", tokens: 16) == "")
    }

    @Test func compactThresholdTooLargeSaysSo() async throws {
        let b = try OfflineBackend(inMemoryWith: OfflineModel())
        func ask(_ t: JSONValue) async throws {
            var r = request("hi")
            r.context_management = .array([.object(["type": .string("compaction"), "compact_threshold": t])])
            _ = try await b.createResponse(r)
        }
        for big in [JSONValue.double(1e300), .double(18446744073709551616), .double(.infinity)] {
            do { try await ask(big); Issue.record("accepted \(big)") } catch let e as APIError {
                #expect(e.status == 400 && e.param == "context_management" && e.message.contains("too large"), "\(e)")
            }
        }
        do { try await ask(.double(1500.5)); Issue.record("accepted 1500.5") } catch let e as APIError {
            #expect(e.message.contains("expected an integer"), "\(e)")
        }
        await expectAPIError(status: 400, code: "integer_below_min_value") { try await ask(.int(999)) }
        try await ask(.int(1000))
    }

    @Test func integerProblemNamesWhatIsWrong() {
        #expect(JSONValue.int(5).integerProblem == nil)
        #expect(JSONValue.double(16).integerProblem == nil)
        #expect(JSONValue.double(1e300).integerProblem == "the number is too large")
        #expect(JSONValue.double(-1e300).integerProblem == "the number is too small")
        #expect(JSONValue.double(0x1p63).integerProblem == "the number is too large")
        #expect(JSONValue.double(.infinity).integerProblem == "the number is too large")
        #expect(JSONValue.double(16.5).integerProblem == "expected an integer, got a decimal number")
        #expect(JSONValue.string("16").integerProblem == "expected an integer")
    }
}

/// The workbench when a server cuts a reply (`status: "incomplete"`): the turn is recorded with the
/// partial reply, and the next turn chains from it.
@Suite struct IncompleteTurnTests {
    @Test(arguments: [true, false]) func anIncompleteReplyIsRecordedAndTheChainGoesOn(streaming: Bool) async throws {
        let store = try WorkbenchStore.inMemory()
        let inner = try OfflineBackend(inMemoryWith: OfflineModel())
        let runner = Runner(store: store, backend: AlteredBackend.capped(inner, max: 16), streaming: streaming)
        _ = try store.createSession(name: "s", mode: .chain, backend: "offline", model: "offline-model")
        let t1 = try await runner.send(OutputLimitTests.longQuestion, in: "s")
        let r1 = try await inner.retrieveResponse(id: try #require(t1.turn.responseID))
        #expect(r1.status == "incomplete")
        #expect(t1.turn.status == .completed && !t1.reply.isEmpty && t1.reply == r1.outputText)
        #expect(t1.session.chainHead == r1.id)
        let messages = try store.messages(session: t1.session.id)
        #expect(messages.map(\.role) == [.user, .assistant] && messages[1].content == r1.outputText)
        let t2 = try await runner.send("Where am I moving?", in: "s")
        #expect(t2.turn.previousResponseID == r1.id && t2.turn.chainEvent == .continue)
    }
}
