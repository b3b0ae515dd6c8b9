import Foundation
import Testing
@testable import ChatEngine

func expectAPIError(status: Int, code: String? = nil, param: String? = nil, _ body: () async throws -> Void,
                    sourceLocation: SourceLocation = #_sourceLocation) async {
    do {
        try await body()
        Issue.record("expected an APIError \(status)", sourceLocation: sourceLocation)
    } catch let e as APIError {
        #expect(e.status == status, "\(e)", sourceLocation: sourceLocation)
        if let code { #expect(e.code == code, "\(e)", sourceLocation: sourceLocation) }
        if let param { #expect(e.param == param, "\(e)", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("expected an APIError, got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct OfflineBackendTests {
    func ask(_ b: OfflineBackend, _ text: String, after prev: String? = nil, instructions: String? = nil, store: Bool? = nil) async throws -> Response {
        try await b.createResponse(CreateResponseRequest(model: "gpt-4.1", input: .text(text), instructions: instructions,
                                                         previousResponseID: prev, store: store))
    }

    /// A response being streamed when the one it chains from is deleted (by another request or process)
    /// is broken too: chaining from it fails, as from any response after a deleted one.
    @Test(arguments: ServerStateKind.allCases) func aResponseFinishedAfterItsPredecessorWasDeletedIsBroken(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        let r1 = try await ask(b, "My name is Priya.")
        let pending = try b.lockedPrepare(CreateResponseRequest(model: "m", input: .text("I live in Lisbon."), previousResponseID: r1.id))
        _ = try await b.deleteResponse(id: r1.id)
        try b.commit(pending)
        await expectAPIError(status: 400, code: "previous_response_not_found") { _ = try await self.ask(b, "Where do I live?", after: pending.response.id) }
        // Born broken, it keeps no memory of the chain (which had read the deleted response).
        let row = try #require(try b.state.responseRow(pending.response.id))
        #expect(row.brokenBy == r1.id && (row.modelState ?? "").isEmpty)
    }

    @Test(arguments: ServerStateKind.allCases) func threeTurnChainRecallsTurnOneAlsoAfterReopening(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state, file: true) else { return }
        defer { rig.close() }
        var r3Text = ""
        var r2ID = ""
        do {
            let b = try rig.backend()
            let r1 = try await ask(b, "Hi, my name is Priya and my favourite food is pastel de nata.")
            let r2 = try await ask(b, "I'm moving to Lisbon.", after: r1.id)
            let r3 = try await ask(b, "What's my favourite food?", after: r2.id)
            r3Text = r3.outputText
            r2ID = r2.id
            #expect(r3.previous_response_id == r2.id)
            #expect(r3.model == "offline-model")
        }
        #expect(r3Text.contains("pastel de nata"))
        // A new backend instance on the same state: the server's state survived the restart.
        let b2 = try rig.backend()
        let r4 = try await ask(b2, "What is my name, and where am I moving?", after: r2ID)
        #expect(r4.outputText.contains("Priya"))
        let r5 = try await ask(b2, "Where am I moving?", after: r2ID)
        #expect(r5.outputText.contains("Lisbon"))
    }

    @Test(arguments: ServerStateKind.allCases) func aNewRequestKnowsNothing(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        _ = try await ask(b, "My name is Priya.")
        let fresh = try await ask(b, "What's my name?")
        #expect(fresh.outputText.contains("don't know your name"))
    }

    @Test(arguments: ServerStateKind.allCases) func instructionsAreNotCarriedOver(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        let r1 = try await ask(b, "Hello", instructions: "Known facts: My name is Priya.")
        #expect(r1.instructions == .string("Known facts: My name is Priya."))
        let r2 = try await ask(b, "What's my name?", after: r1.id, instructions: "Known facts: My name is Priya.")
        #expect(r2.outputText.contains("Priya"))
        let r3 = try await ask(b, "What's my name?", after: r2.id)
        #expect(r3.outputText.contains("don't know your name"))
        #expect(r3.instructions == nil)
    }

    @Test(arguments: ServerStateKind.allCases) func bothIDsIsAnError(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        let r1 = try await ask(b, "hi")
        let conv = try await b.createConversation(items: [], metadata: [:])
        await expectAPIError(status: 400) {
            _ = try await b.createResponse(CreateResponseRequest(input: .text("x"), previousResponseID: r1.id, conversation: conv.id))
        }
        await expectAPIError(status: 400, param: "input") { _ = try await b.createResponse(CreateResponseRequest(model: "m")) }
    }

    @Test(arguments: ServerStateKind.allCases) func unknownIDsGiveTheDocumentedErrors(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        await expectAPIError(status: 400, code: "previous_response_not_found", param: "previous_response_id") {
            _ = try await ask(b, "x", after: "resp_doesnotexist")
        }
        await expectAPIError(status: 404) { _ = try await b.retrieveResponse(id: "resp_nope") }
        await expectAPIError(status: 404) { _ = try await b.deleteResponse(id: "resp_nope") }
        await expectAPIError(status: 404) { _ = try await b.getConversation(id: "conv_nope") }
        await expectAPIError(status: 404, param: "conversation_id") {
            _ = try await b.createResponse(CreateResponseRequest(input: .text("x"), conversation: "conv_nope"))
        }
    }

    @Test(arguments: ServerStateKind.allCases) func storeFalseCanBeNeitherRetrievedNorChained(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        let r = try await ask(b, "My name is Priya.", store: false)
        #expect(r.store == false)
        await expectAPIError(status: 404) { _ = try await b.retrieveResponse(id: r.id) }
        await expectAPIError(status: 400, code: "previous_response_not_found") { _ = try await ask(b, "name?", after: r.id) }
        let stored = try await ask(b, "hello")
        #expect(try await b.retrieveResponse(id: stored.id) == stored)
    }

    @Test(arguments: ServerStateKind.allCases) func deletingAResponseMidChainBreaksLaterChainedRequests(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        let r1 = try await ask(b, "My name is Priya.")
        let r2 = try await ask(b, "I live in Porto.", after: r1.id)
        let r3 = try await ask(b, "I have a cat named Miso.", after: r2.id)
        let deleted = try await b.deleteResponse(id: r2.id)
        #expect(deleted == DeletedObject(id: r2.id, object: "response", deleted: true))
        await expectAPIError(status: 404) { _ = try await b.retrieveResponse(id: r2.id) }
        await expectAPIError(status: 400, code: "previous_response_not_found", param: "previous_response_id") {
            _ = try await ask(b, "What's my name?", after: r3.id)
        }
        // The part of the chain before the deletion still works.
        #expect(try await ask(b, "What's my name?", after: r1.id).outputText.contains("Priya"))
        // What the deleted response told the server is gone from the responses after it too: their kept
        // memory (which had read it) is dropped, as they can no longer be chained.
        let later = try #require(try b.state.responseRow(r3.id))
        #expect(later.brokenBy == r2.id && (later.modelState ?? "").isEmpty)
        #expect(try b.state.responseRow(r1.id)?.modelState?.contains("Priya") == true)   // before it: kept
    }

    /// Deleting takes the words back from the file itself: SQLite overwrites what was deleted instead of
    /// leaving it readable in free space (secure_delete), once the write-ahead log is checkpointed.
    @Test func aDeletedResponseIsNotLeftReadableInTheFile() async throws {
        guard let rig = try StateRig.make(.sqlite, file: true) else { return }
        defer { rig.close() }
        let secret = "my locker code is Zanzibar4711quux"
        let path = rig.dir.file("offline-server.sqlite")
        do {
            let b = try rig.backend()
            let r = try await ask(b, "Please remember: \(secret).")
            _ = try await ask(b, "Thanks.")
            _ = try b.db.query("PRAGMA wal_checkpoint(TRUNCATE)")
            #expect(fileContains(path, secret), "the test's premise: the words are in the file before the deletion")
            _ = try await b.deleteResponse(id: r.id)
            _ = try b.db.query("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        #expect(!fileContains(path, "Zanzibar4711quux"))
        #expect(!fileContains(path + "-wal", "Zanzibar4711quux"))
    }

    func fileContains(_ path: String, _ text: String) -> Bool {
        let bytes = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
        let needle = Array(text.utf8)
        guard bytes.count >= needle.count else { return false }
        return (0...(bytes.count - needle.count)).contains { i in bytes[i..<(i + needle.count)].elementsEqual(needle) }
    }

    @Test(arguments: ServerStateKind.allCases) func usageBillsTheWholeRebuiltContext(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        let r1 = try await ask(b, "My name is Priya.")
        let r2 = try await ask(b, "Where do I live?", after: r1.id, instructions: "Be brief.")
        let expected = TokenEstimator.tokens(instructions: "Be brief.")
            + TokenEstimator.tokens([.userText("My name is Priya."), .assistantMessage(id: nil, text: r1.outputText), .userText("Where do I live?")])
        #expect(r2.usage?.input_tokens == expected)
        #expect(r2.usage?.output_tokens == TokenEstimator.tokens(r2.outputText))
        #expect(r2.usage?.total_tokens == expected + TokenEstimator.tokens(r2.outputText))
        #expect(r1.usage!.input_tokens < r2.usage!.input_tokens)
    }

    @Test(arguments: ServerStateKind.allCases) func aChainedTurnReadsTheSnapshotNotTheChain(_ state: ServerStateKind) async throws {
        // Remove the stored items of the first turn behind the server's back: a server that walked the
        // chain per turn would lose the name; one that keeps a snapshot per response still knows it.
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        let r1 = try await ask(b, "My name is Priya.")
        var last = r1.id
        for i in 0..<20 { last = try await ask(b, "Message \(i).", after: last).id }
        try rig.removeItems(of: b, r1.id)
        let r = try await ask(b, "What's my name?", after: last)
        #expect(r.outputText.contains("Priya"))
        #expect(r.outputText.contains("Priya"))
        let depth = try rig.depth(of: b, r.id)
        #expect(depth == 22)
    }

    @Test(arguments: ServerStateKind.allCases) func inputItemsListTheResponsesOwnInput(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        let r = try await b.createResponse(CreateResponseRequest(input: .items([.userText("one"), .userText("two"), .userText("three")])))
        let desc = try await b.listInputItems(responseID: r.id, query: ListQuery())
        #expect(desc.data.map(\.text) == ["three", "two", "one"])
        #expect(desc.data.allSatisfy { $0.id?.hasPrefix("msg_") == true && $0.message?.status == "completed" })
        let page1 = try await b.listInputItems(responseID: r.id, query: ListQuery(limit: 2, order: "asc"))
        #expect(page1.data.map(\.text) == ["one", "two"] && page1.has_more)
        let page2 = try await b.listInputItems(responseID: r.id, query: ListQuery(limit: 2, order: "asc", after: page1.last_id))
        #expect(page2.data.map(\.text) == ["three"] && !page2.has_more)
    }

    @Test(arguments: ServerStateKind.allCases) func streamingEmitsTheRealEventSequence(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        var events: [ResponseStreamEvent] = []
        for try await e in b.streamResponse(CreateResponseRequest(input: .text("My name is Priya and I'm moving to Lisbon."), stream: true)) {
            events.append(e)
        }
        let types = events.map(\.type)
        let deltas = events.filter { $0.type == "response.output_text.delta" }
        #expect(Array(types.prefix(4)) == ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"])
        #expect(Array(types.suffix(4)) == ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"])
        #expect(deltas.count > 3)  // word by word
        #expect(events.map { $0.sequence_number ?? -1 } == Array(0..<events.count))
        let final = events.last!.response!
        #expect(deltas.compactMap(\.delta).joined() == final.outputText)
        #expect(events[0].response?.status == "in_progress" && events[0].response?.usage == nil)
        #expect(final.status == "completed" && final.usage != nil)
        #expect(try await b.retrieveResponse(id: final.id).outputText == final.outputText)
    }

    @Test(arguments: ServerStateKind.allCases) func aCancelledStreamStoresNothing(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend(streamDelay: .milliseconds(20))
        let conv = try await b.createConversation(items: [], metadata: [:])
        var seenID: String?
        for try await e in b.streamResponse(CreateResponseRequest(input: .text("I have a cat named Miso and a dog named Rex."), conversation: conv.id, stream: true)) {
            if let id = e.response?.id { seenID = id }
            if e.type == "response.output_text.delta" { break }
        }
        try await Task.sleep(for: .milliseconds(60))
        let id = try #require(seenID)
        await expectAPIError(status: 404) { _ = try await b.retrieveResponse(id: id) }
        #expect(try await b.listConversationItems(conversationID: conv.id, query: ListQuery()).data.isEmpty)
    }

    @Test(arguments: ServerStateKind.allCases) func conversationsPrependTheirItemsAndAppendTheTurn(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        let conv = try await b.createConversation(items: [.message(Message(type: "message", role: "user", content: .text("My name is Priya.")))],
                                                  metadata: ["topic": "demo"])
        #expect(conv.id.hasPrefix("conv_") && conv.metadata == ["topic": "demo"])
        let r = try await b.createResponse(CreateResponseRequest(input: .text("What's my name?"), conversation: conv.id))
        #expect(r.outputText.contains("Priya"))
        #expect(r.conversation?.id == conv.id)
        let items = try await b.listConversationItems(conversationID: conv.id, query: ListQuery(order: "asc"))
        #expect(items.data.map(\.text) == ["My name is Priya.", "What's my name?", r.outputText])
        // The server normalises string content to input_text parts and gives ids.
        guard case .message(let first) = items.data[0], case .parts(let parts) = first.content else { Issue.record("normalised"); return }
        #expect(parts.first?.type == "input_text" && first.id?.hasPrefix("msg_") == true && first.status == "completed")
        let r2 = try await b.createResponse(CreateResponseRequest(input: .text("I live in Porto."), conversation: conv.id))
        let r3 = try await b.createResponse(CreateResponseRequest(input: .text("Where do I live? And my name?"), conversation: conv.id))
        #expect(r3.outputText.contains("Porto"))
        #expect(r2.usage!.input_tokens < r3.usage!.input_tokens)
    }

    @Test(arguments: ServerStateKind.allCases) func conversationItemLimitsMetadataAndPaging(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        let many = (0..<21).map { Item.userText("m\($0)") }
        await expectAPIError(status: 400, param: "items") { _ = try await b.createConversation(items: many, metadata: [:]) }
        let tooMuchMeta = Dictionary(uniqueKeysWithValues: (0..<17).map { ("k\($0)", "v") })
        await expectAPIError(status: 400, param: "metadata") { _ = try await b.createConversation(items: [], metadata: tooMuchMeta) }
        await expectAPIError(status: 400, param: "metadata") { _ = try await b.createConversation(items: [], metadata: [String(repeating: "k", count: 65): "v"]) }
        let conv = try await b.createConversation(items: Array(many.prefix(20)), metadata: [:])
        await expectAPIError(status: 400, param: "items") { _ = try await b.addConversationItems(conversationID: conv.id, items: many) }
        let added = try await b.addConversationItems(conversationID: conv.id, items: [.userText("m20"), .userText("m21")])
        #expect(added.data.map(\.text) == ["m20", "m21"])
        await expectAPIError(status: 400, param: "limit") { _ = try await b.listConversationItems(conversationID: conv.id, query: ListQuery(limit: 0)) }
        await expectAPIError(status: 400, param: "limit") { _ = try await b.listConversationItems(conversationID: conv.id, query: ListQuery(limit: 101)) }
        await expectAPIError(status: 400, param: "order") { _ = try await b.listConversationItems(conversationID: conv.id, query: ListQuery(order: "up")) }
        // Default: 20 items, newest first.
        let def = try await b.listConversationItems(conversationID: conv.id, query: ListQuery())
        #expect(def.data.count == 20 && def.data.first?.text == "m21" && def.has_more)
        // Page through both ways with `after`; every item exactly once, in order.
        for order in ["asc", "desc"] {
            var seen: [String] = []
            var after: String?
            repeat {
                let page = try await b.listConversationItems(conversationID: conv.id, query: ListQuery(limit: 7, order: order, after: after))
                seen += page.data.map(\.text)
                after = page.has_more ? page.last_id : nil
            } while after != nil
            let expected = (0..<22).map { "m\($0)" }
            #expect(seen == (order == "asc" ? expected : expected.reversed()))
        }
        let all = try await b.listConversationItems(conversationID: conv.id, query: ListQuery(limit: 100, order: "asc"))
        #expect(all.data.count == 22 && !all.has_more && all.first_id == all.data.first?.id)
        let one = try await b.getConversationItem(conversationID: conv.id, itemID: all.data[3].id!)
        #expect(one.text == "m3")
        let after = try await b.deleteConversationItem(conversationID: conv.id, itemID: all.data[3].id!)
        #expect(after.id == conv.id && after.object == "conversation")
        await expectAPIError(status: 404) { _ = try await b.getConversationItem(conversationID: conv.id, itemID: all.data[3].id!) }
        #expect(try await b.listConversationItems(conversationID: conv.id, query: ListQuery(limit: 100)).data.count == 21)
    }

    @Test(arguments: ServerStateKind.allCases) func conversationUpdateAndDeleteKeepsItems(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        let conv = try await b.createConversation(items: [.userText("I'm Ana.")], metadata: ["topic": "demo"])
        let updated = try await b.updateConversation(id: conv.id, metadata: ["topic": "project-x"])
        #expect(updated.metadata == ["topic": "project-x"])
        #expect(try await b.getConversation(id: conv.id).metadata == ["topic": "project-x"])
        let del = try await b.deleteConversation(id: conv.id)
        #expect(del == DeletedObject(id: conv.id, object: "conversation.deleted", deleted: true))
        await expectAPIError(status: 404) { _ = try await b.getConversation(id: conv.id) }
        #expect(try rig.storedItemCount(of: b, conversation: conv.id) == 1)
    }

    @Test(arguments: ServerStateKind.allCases) func deletingAConversationItemRebuildsItsMemory(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        let conv = try await b.createConversation(items: [.userText("My name is Priya."), .userText("I live in Porto.")], metadata: [:])
        let items = try await b.listConversationItems(conversationID: conv.id, query: ListQuery(order: "asc"))
        _ = try await b.deleteConversationItem(conversationID: conv.id, itemID: items.data[0].id!)
        let r = try await b.createResponse(CreateResponseRequest(input: .text("What's my name? Where do I live?"), conversation: conv.id))
        #expect(r.outputText.contains("don't know your name"))
    }
}
