import Foundation
import Testing
@testable import ChatEngine

/// The gateway seam of the offline backend: an `Answerer` is handed the rebuilt item list.
@Suite struct GatewayBackendTests {
    /// Answers with the user texts it was given, and remembers each context.
    final class Recorder: Answerer, @unchecked Sendable {
        private let lock = NSLock()
        private(set) var contexts: [[String]] = []
        func model(for requested: String?) -> String { requested ?? "recorder" }
        func answer(_ turn: Turn) -> AsyncThrowingStream<AnswerPart, Error> {
            let texts = turn.context.map(\.text)
            lock.lock(); contexts.append(texts); lock.unlock()
            return AsyncThrowingStream { c in
                c.yield(.delta("saw "))
                c.yield(.delta("\(texts.count)"))
                c.yield(.done(Usage(input: 7, cached: 3, output: 2)))
                c.finish()
            }
        }
    }

    func backend(_ r: Recorder) throws -> OfflineBackend {
        try OfflineBackend(path: NSTemporaryDirectory() + "gw-\(UUID().uuidString).sqlite", answerer: r)
    }

    @Test func aChainThatBeganInAConversationCarriesTheConversationsItems() async throws {
        let r = Recorder()
        let b = try backend(r)
        let conv = try await b.createConversation(items: [.userText("one")], metadata: [:])
        let inConv = try await b.createResponse(CreateResponseRequest(input: .text("two"), conversation: conv.id))
        #expect(inConv.outputText == "saw 2" && inConv.usage?.cachedTokens == 3 && inConv.usage?.input_tokens == 7)
        let chained = try await b.createResponse(CreateResponseRequest(input: .text("three"), previousResponseID: inConv.id))
        _ = try await b.createResponse(CreateResponseRequest(input: .text("four"), previousResponseID: chained.id))
        #expect(r.contexts.last == ["one", "two", "saw 2", "three", "saw 4", "four"])
    }

    @Test func theStateRulesAreTheOfflineBackends() async throws {
        let r = Recorder()
        let b = try backend(r)
        let hidden = try await b.createResponse(CreateResponseRequest(input: .text("secret"), store: false))
        await #expect(throws: APIError.self) { try await b.createResponse(CreateResponseRequest(input: .text("x"), previousResponseID: hidden.id)) }
        let a = try await b.createResponse(CreateResponseRequest(input: .text("a")))
        let c = try await b.createResponse(CreateResponseRequest(input: .text("c"), previousResponseID: a.id))
        _ = try await b.deleteResponse(id: a.id)
        await #expect(throws: APIError.self) { try await b.createResponse(CreateResponseRequest(input: .text("x"), previousResponseID: c.id)) }
        #expect(r.contexts == [["secret"], ["a"], ["a", "saw 1", "c"]])
    }
}
