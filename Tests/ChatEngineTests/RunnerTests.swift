import Foundation
import Testing
@testable import ChatEngine

/// A workbench store and an offline backend, both in memory.
struct Rig {
    let store: WorkbenchStore
    let backend: OfflineBackend
    let runner: Runner

    init(streamDelay: Duration = .zero, streaming: Bool = true) throws {
        store = try WorkbenchStore.inMemory()
        backend = try OfflineBackend(inMemoryWith: OfflineModel(), streamDelay: streamDelay)
        runner = Runner(store: store, backend: backend, streaming: streaming)
    }

    @discardableResult
    func session(_ name: String, _ mode: MemoryMode) throws -> SessionRecord {
        if var s = try store.session(named: name) {
            s.mode = mode
            try store.save(s)
            return s
        }
        return try store.createSession(name: name, mode: mode, backend: "offline", model: "offline-model")
    }

    func send(_ text: String, _ name: String) async throws -> TurnResult { try await runner.send(text, in: name) }
}

@Suite struct RunnerTests {
    @Test(arguments: [MemoryMode.chain, .conversation])
    func recallAcrossTurnsInServerModes(mode: MemoryMode) async throws {
        let rig = try Rig()
        try rig.session("s", mode)
        let t1 = try await rig.send("My name is Priya and I'm moving to Lisbon.", "s")
        let t2 = try await rig.send("Where am I moving?", "s")
        #expect(t2.reply.contains("Lisbon"))
        #expect(t1.turn.chainEvent == .start && t2.turn.chainEvent == .continue)
        if mode == .chain {
            #expect(t2.turn.previousResponseID == t1.turn.responseID)
            #expect(t2.session.chainHead == t2.turn.responseID)
        } else {
            #expect(t2.turn.conversationID == t1.turn.conversationID && t2.turn.conversationID != nil)
            #expect(t2.turn.previousResponseID == nil)
        }
        #expect(t2.turn.itemsSent == 1)
        let turns = try rig.store.turns(session: t2.session.id)
        #expect(turns.map(\.responseID) == [t1.turn.responseID, t2.turn.responseID])
        let messages = try rig.store.messages(session: t2.session.id)
        #expect(messages.map(\.role) == [.user, .assistant, .user, .assistant])
        #expect(messages[3].content == t2.reply)
        #expect(messages[2].parentID == messages[1].id)
    }

    @Test func chainRequestBytesStayFlatWhileTheSessionGrows() async throws {
        let rig = try Rig()
        try rig.session("s", .chain)
        var bytes: [Int] = []
        var inputTokens: [Int] = []
        for i in 0..<30 {
            let t = try await rig.send("Turn \(i % 10): I like number \(i % 10).", "s")
            bytes.append(t.turn.requestBytes)
            inputTokens.append(t.turn.inputTokens ?? 0)
        }
        // Every chained request carries one message and one id: same size whatever the depth.
        #expect(Set(bytes.dropFirst()).count == 1, "\(bytes)")
        // …while the server bills the growing context.
        #expect(inputTokens.last! > inputTokens[1] * 10, "\(inputTokens)")
        // Client mode on the same messages sends the whole history: bytes grow with it.
        try rig.session("c", .client)
        var clientBytes: [Int] = []
        for i in 0..<30 { clientBytes.append(try await rig.send("Turn \(i % 10): I like number \(i % 10).", "c").turn.requestBytes) }
        #expect(clientBytes.last! > clientBytes.first! * 20, "\(clientBytes)")
    }

    @Test func aDeletedResponseIsRepairedByReplayAndRecorded() async throws {
        let rig = try Rig()
        try rig.session("s", .chain)
        let t1 = try await rig.send("My name is Priya and I'm moving to Lisbon.", "s")
        let t2 = try await rig.send("I have a cat named Miso.", "s")
        _ = try await rig.backend.deleteResponse(id: t1.turn.responseID!)
        let t3 = try await rig.send("Where am I moving, and what's my cat's name?", "s")
        #expect(t3.reply.contains("Lisbon") && t3.reply.contains("Miso"))
        #expect(t3.turn.status == .completed)
        #expect(t3.turn.chainEvent == .repair)
        #expect(t3.turn.errorCode == "previous_response_not_found")
        #expect(t3.turn.previousResponseID == nil)
        #expect(t3.turn.itemsSent == 1 + 5)  // the failed attempt's message, then the replayed history + the message
        #expect(t3.session.chainHead == t3.turn.responseID)
        _ = t2
        let t4 = try await rig.send("What's my name?", "s")
        #expect(t4.turn.chainEvent == .continue && t4.turn.previousResponseID == t3.turn.responseID)
        #expect(t4.reply.contains("Priya"))
    }

    @Test func aDeletedConversationIsRepaired() async throws {
        let rig = try Rig()
        try rig.session("c", .conversation)
        let t1 = try await rig.send("My name is Priya.", "c")
        _ = try await rig.backend.deleteConversation(id: t1.turn.conversationID!)
        let t2 = try await rig.send("What's my name?", "c")
        #expect(t2.reply.contains("Priya"))
        #expect(t2.turn.chainEvent == .repair)
        #expect(t2.turn.conversationID != t1.turn.conversationID)
    }

    @Test func switchingModesKeepsTheContext() async throws {
        let rig = try Rig()
        try rig.session("s", .chain)
        _ = try await rig.send("My name is Priya.", "s")
        try rig.session("s", .conversation)
        let t2 = try await rig.send("I'm moving to Lisbon. What's my name?", "s")
        #expect(t2.reply.contains("Priya"))
        #expect(t2.turn.chainEvent == .switch)
        try rig.session("s", .client)
        let t3 = try await rig.send("Where am I moving?", "s")
        #expect(t3.reply.contains("Lisbon"))
        try rig.session("s", .chain)
        // The chain holds turn 1 only: the switch carries the turns made in other modes.
        let t4 = try await rig.send("What's my name and where am I moving?", "s")
        #expect(t4.reply.contains("Priya") && t4.reply.contains("Lisbon"))
        #expect(t4.turn.chainEvent == .switch)
        #expect(t4.turn.itemsSent == 5)
        try rig.session("s", .conversation)
        let t5 = try await rig.send("Where am I moving?", "s")
        #expect(t5.reply.contains("Lisbon"))
        #expect(t5.turn.chainEvent == .switch)
    }

    @Test func cancellingKeepsThePartialReplyMarkedInterrupted() async throws {
        let rig = try Rig(streamDelay: .milliseconds(30))
        try rig.session("s", .chain)
        let t1 = try await rig.send("My name is Priya.", "s")
        let firstDelta = AsyncStream<Void>.makeStream()
        let task = Task {
            try await rig.runner.send("I have a dog named Rex and a cat named Miso and I live in Porto.", in: "s") { _ in
                firstDelta.continuation.yield()
            }
        }
        for await _ in firstDelta.stream { break }
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        let s = try #require(try rig.store.session(named: "s"))
        let turns = try rig.store.turns(session: s.id)
        #expect(turns.last?.status == .interrupted)
        let messages = try rig.store.messages(session: s.id)
        #expect(messages.count == 4)
        #expect(messages[2].status == .interrupted && messages[2].content.contains("Rex"))
        #expect(messages[3].status == .interrupted && !messages[3].content.isEmpty)
        // The chain did not move to a reply the user never fully got.
        #expect(s.chainHead == t1.turn.responseID)
        let t3 = try await rig.send("What's my name?", "s")
        #expect(t3.reply.contains("Priya") && t3.turn.chainEvent == .continue)
    }

    @Test func aConversationUnknownToTheServerIsRepaired() async throws {
        let rig = try Rig()
        var s = try rig.session("s", .conversation)
        s.conversationID = "conv_gone"
        try rig.store.save(s)
        let t = try await rig.send("Hello", "s")
        #expect(t.turn.status == .completed && t.turn.chainEvent == .repair)
        #expect(t.turn.conversationID != "conv_gone")
    }

    @Test func aFailedTurnIsRecordedAndTheMessageKept() async throws {
        let store = try WorkbenchStore.inMemory()
        let runner = Runner(store: store, backend: AlteredBackend.failing(try OfflineBackend(inMemoryWith: OfflineModel())))
        _ = try store.createSession(name: "s", mode: .chain, backend: "offline", model: "m")
        do {
            _ = try await runner.send("Please remember: my name is Priya.", in: "s")
            Issue.record("expected a failure")
        } catch let f as TurnFailure {
            #expect(f.apiError?.status == 500)
            #expect(f.turn.status == .failed && f.turn.errorCode == "server_error")
        }
        let s = try #require(try store.session(named: "s"))
        let messages = try store.messages(session: s.id)
        #expect(messages.map(\.content) == ["Please remember: my name is Priya."])
        #expect(messages[0].status == .failed)
        #expect(s.chainHead == nil)
        await #expect(throws: (any Error).self) { _ = try await runner.send("x", in: "no-such-session") }
    }

    @Test func recordingATurnIsAtomic() throws {
        struct Boom: Error {}
        let store = try WorkbenchStore.inMemory()
        let s = try store.createSession(name: "s", mode: .chain, backend: "offline", model: "m")
        let draft = TurnRecord(sessionID: s.id, number: 1, mode: .chain, backend: "offline", model: "m", itemsSent: 1,
                               requestBytes: 10, status: .completed, createdAt: 0)
        #expect(throws: Boom.self) {
            try store.recordTurn(draft, userItem: .userText("hi"), userStatus: .complete, reply: .assistantMessage(id: nil, text: "yo"),
                                 replyStatus: .complete) { s, _, _ in s.chainHead = "resp_x"; throw Boom() }
        }
        #expect(try store.turns(session: s.id).isEmpty)
        #expect(try store.messages(session: s.id).isEmpty)
        #expect(try store.session(named: "s")?.chainHead == nil)
    }

    @Test func nonStreamingTurnsRecordTheSame() async throws {
        let rig = try Rig(streaming: false)
        try rig.session("s", .chain)
        _ = try await rig.send("I'm 34.", "s")
        let t = try await rig.send("How old am I?", "s")
        #expect(t.reply == "You're 34 years old.")
        #expect(t.turn.requestBytes == (try WireJSON.encode(CreateResponseRequest(model: "offline-model", input: .items([.userText("How old am I?")]),
                                                                                   previousResponseID: t.turn.previousResponseID))).count)
    }
}

/// An offline backend whose response creation is replaced (everything else passes through): one that
/// always fails, one that caps the output.
final class AlteredBackend: ResponsesBackend, @unchecked Sendable {
    let inner: OfflineBackend
    let create: @Sendable (CreateResponseRequest) async throws -> Response
    let stream: @Sendable (CreateResponseRequest) -> AsyncThrowingStream<ResponseStreamEvent, Error>
    init(_ inner: OfflineBackend, create: @escaping @Sendable (CreateResponseRequest) async throws -> Response,
         stream: @escaping @Sendable (CreateResponseRequest) -> AsyncThrowingStream<ResponseStreamEvent, Error>) {
        self.inner = inner
        self.create = create
        self.stream = stream
    }

    static let failure = APIError(status: 500, type: "server_error", code: "server_error", message: "The server had an error while processing your request.")

    /// Response creation always fails with a 500.
    static func failing(_ inner: OfflineBackend) -> AlteredBackend {
        AlteredBackend(inner, create: { _ in throw failure }, stream: { _ in AsyncThrowingStream { $0.finish(throwing: failure) } })
    }

    /// Every create asks for at most `max` output tokens.
    static func capped(_ inner: OfflineBackend, max: Int) -> AlteredBackend {
        let cap = { @Sendable (r: CreateResponseRequest) -> CreateResponseRequest in var r = r; r.max_output_tokens = max; return r }
        return AlteredBackend(inner, create: { try await inner.createResponse(cap($0)) }, stream: { inner.streamResponse(cap($0)) })
    }

    var info: BackendInfo { inner.info }
    func createResponse(_ request: CreateResponseRequest) async throws -> Response { try await create(request) }
    func streamResponse(_ request: CreateResponseRequest) -> AsyncThrowingStream<ResponseStreamEvent, Error> { stream(request) }
    func retrieveResponse(id: String) async throws -> Response { try await inner.retrieveResponse(id: id) }
    func deleteResponse(id: String) async throws -> DeletedObject { try await inner.deleteResponse(id: id) }
    func listInputItems(responseID: String, query: ListQuery) async throws -> ItemList { try await inner.listInputItems(responseID: responseID, query: query) }
    func createConversation(items: [Item], metadata: [String: String]) async throws -> Conversation { try await inner.createConversation(items: items, metadata: metadata) }
    func getConversation(id: String) async throws -> Conversation { try await inner.getConversation(id: id) }
    func updateConversation(id: String, metadata: [String: String]) async throws -> Conversation { try await inner.updateConversation(id: id, metadata: metadata) }
    func deleteConversation(id: String) async throws -> DeletedObject { try await inner.deleteConversation(id: id) }
    func addConversationItems(conversationID: String, items: [Item]) async throws -> ItemList { try await inner.addConversationItems(conversationID: conversationID, items: items) }
    func listConversationItems(conversationID: String, query: ListQuery) async throws -> ItemList { try await inner.listConversationItems(conversationID: conversationID, query: query) }
    func getConversationItem(conversationID: String, itemID: String) async throws -> Item { try await inner.getConversationItem(conversationID: conversationID, itemID: itemID) }
    func deleteConversationItem(conversationID: String, itemID: String) async throws -> Conversation { try await inner.deleteConversationItem(conversationID: conversationID, itemID: itemID) }
}
