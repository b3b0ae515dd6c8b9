import Foundation

/// The checks behind each probe row (what each one proves is in its comment).
extension Probe {
    /// A created response comes back from GET with the same id and text.
    func createRetrieve() async throws -> ProbeRow {
        let r = try await create(["input": .string("Say hello.")], what: "create")
        let id = r["id"]?.stringValue ?? ""
        let g = try await client.call("GET", "responses/\(id)")
        guard g.status == 200, let got = g.json else { return ProbeRow("", .fail, "GET of a just-created response: HTTP \(g.status) \(g.excerpt)") }
        guard got["id"]?.stringValue == id else { return ProbeRow("", .fail, "GET returned id \(got["id"]?.stringValue ?? "none"), not \(id)") }
        guard got.outputText == r.outputText else { return ProbeRow("", .fail, "GET returned different output text than the create") }
        return ProbeRow("", .pass, "created and retrieved \(IDs.short(id))")
    }

    /// A fact from the first turn is recalled in the second, which sends only `previous_response_id` + the question.
    func chainRecall() async throws -> ProbeRow {
        let first = try await create(["input": .string("My name is \(secretName).")], what: "first turn")
        let r = try await createRaw(["input": .string("What's my name?"), "previous_response_id": first["id"] ?? .null])
        guard r.status == 200, let second = r.json else { return ProbeRow("", .fail, "chaining refused: HTTP \(r.status) \(r.excerpt)") }
        guard second.outputText.lowercased().contains(secretName.lowercased()) else {
            return ProbeRow("", .fail, "turn 2 did not recall '\(secretName)' (previous_response_id ignored?): \"\(second.outputText.prefix(80))\"")
        }
        return ProbeRow("", .pass, "turn 2 recalled the name from turn 1")
    }

    /// A `store: false` response can be neither retrieved nor chained from.
    func storeFalse() async throws -> ProbeRow {
        let r = try await create(["input": .string("My name is \(secretName)."), "store": .bool(false)], what: "create with store:false")
        let id = r["id"]?.stringValue ?? ""
        let g = try await client.call("GET", "responses/\(id)")
        if g.status == 200 { return ProbeRow("", .fail, "a store:false response was retrievable (GET 200)") }
        let c = try await createRaw(["input": .string("What's my name?"), "previous_response_id": .string(id)])
        if c.status == 200 { return ProbeRow("", .fail, "a store:false response could be chained from (HTTP 200)") }
        return ProbeRow("", .pass, "GET \(g.status), chain \(c.status)")
    }

    /// After DELETE, the response is gone and neither it nor a response chained after it can be chained from.
    func deleteBreaksChain() async throws -> ProbeRow {
        let a = try await create(["input": .string("My name is \(secretName).")], what: "first turn")
        let aID = a["id"]?.stringValue ?? ""
        let b = try await create(["input": .string("I live in Lisbon."), "previous_response_id": .string(aID)], what: "second turn")
        let d = try await client.call("DELETE", "responses/\(aID)")
        guard d.status == 200 else {
            return ProbeRow("", d.status == 404 || d.status == 405 ? .unsupported : .fail, "DELETE: HTTP \(d.status) \(d.excerpt)")
        }
        forget(response: aID)
        let g = try await client.call("GET", "responses/\(aID)")
        if g.status == 200 { return ProbeRow("", .fail, "the deleted response is still retrievable") }
        let fromA = try await createRaw(["input": .string("What's my name?"), "previous_response_id": .string(aID)])
        if fromA.status == 200 { return ProbeRow("", .fail, "chaining from the deleted response still worked") }
        let fromB = try await createRaw(["input": .string("What's my name?"), "previous_response_id": b["id"] ?? .null])
        if fromB.status == 200 {
            return ProbeRow("", .fail, "chaining from a response after the deleted one still worked: \"\(fromB.json?.outputText.prefix(60) ?? "")\"")
        }
        return ProbeRow("", .pass, "GET \(g.status); chain from it \(fromA.status); chain from its successor \(fromB.status)")
    }

    /// Unknown ids fail with 404 (GET) and 400 (as previous_response_id), each in the error envelope.
    func unknownID() async throws -> ProbeRow {
        let g = try await client.call("GET", "responses/resp_probe0000000000000000")
        guard g.status == 404 else { return ProbeRow("", .fail, "GET of an unknown id: HTTP \(g.status), expected 404") }
        if let p = Self.envelopeProblem(g) { return ProbeRow("", .fail, "GET of an unknown id: \(p)") }
        let c = try await createRaw(["input": .string("hi"), "previous_response_id": .string("resp_probe0000000000000000")])
        guard c.status == 400 || c.status == 404 else { return ProbeRow("", .fail, "unknown previous_response_id: HTTP \(c.status), expected 400") }
        if let p = Self.envelopeProblem(c) { return ProbeRow("", .fail, "unknown previous_response_id: \(p)") }
        let code = c.json?["error"]?["code"]?.stringValue ?? "null"
        return ProbeRow("", .pass, "GET 404; chain \(c.status) code \(code)")
    }

    /// Create a conversation with an item, list it, answer in it (recall), list again, delete it.
    func conversations() async throws -> ProbeRow {
        let c = try await client.call("POST", "conversations", json: .object([
            "items": .array([Self.message("user", "My name is \(secretName).")]), "metadata": .object(["probe": .string("1")])]))
        if c.status == 404 || c.status == 405 { return ProbeRow("", .unsupported, "POST /conversations: HTTP \(c.status)") }
        guard c.status == 200, let id = c.json?["id"]?.stringValue else { return ProbeRow("", .fail, "create: HTTP \(c.status) \(c.excerpt)") }
        createdConversations.append(id)
        let l = try await client.call("GET", "conversations/\(id)/items", query: [("order", "asc")])
        guard l.status == 200, let first = l.json?["data"]?.arrayValue else { return ProbeRow("", .fail, "list items: HTTP \(l.status) \(l.excerpt)") }
        guard first.count == 1 else { return ProbeRow("", .fail, "list items: expected the 1 created item, got \(first.count)") }
        // The one listed item must be the message created: compared by content (the text parts hold its name).
        guard first[0].outputText.contains(secretName) else {
            let content = first[0]["content"].flatMap { try? WireJSON.encodeString($0) } ?? "none"
            return ProbeRow("", .fail, "list items: the listed item's content has no text part holding the created message \"My name is \(secretName).\" (content: \(content.prefix(80)))")
        }
        let r = try await createRaw(["input": .string("What's my name?"), "conversation": .string(id)])
        guard r.status == 200, let reply = r.json else { return ProbeRow("", .fail, "response in the conversation: HTTP \(r.status) \(r.excerpt)") }
        guard reply.outputText.lowercased().contains(secretName.lowercased()) else {
            return ProbeRow("", .fail, "the response in the conversation did not recall '\(secretName)': \"\(reply.outputText.prefix(60))\"")
        }
        let l2 = try await client.call("GET", "conversations/\(id)/items", query: [("order", "asc")])
        let after = l2.json?["data"]?.arrayValue?.count ?? -1
        guard after == 3 else { return ProbeRow("", .fail, "after one turn the conversation has \(after) items, expected 3") }
        let d = try await client.call("DELETE", "conversations/\(id)")
        guard d.status == 200 else { return ProbeRow("", .fail, "DELETE: HTTP \(d.status) \(d.excerpt)") }
        createdConversations.removeAll { $0 == id }
        let g = try await client.call("GET", "conversations/\(id)")
        guard g.status == 404 else { return ProbeRow("", .fail, "a deleted conversation: GET \(g.status), expected 404") }
        return ProbeRow("", .pass, "create, items 1→3, recall, delete → 404")
    }

    /// input_items pages with limit/after/has_more, default order desc.
    func inputItemsPaging() async throws -> ProbeRow {
        let items: [JSONValue] = ["one", "two", "three"].map { Self.message("user", "item \($0)") }
        let r = try await create(["input": .array(items)], what: "create with three input items")
        let id = r["id"]?.stringValue ?? ""
        let p1 = try await client.call("GET", "responses/\(id)/input_items", query: [("limit", "2"), ("order", "asc")])
        if p1.status == 404 || p1.status == 405 { return ProbeRow("", .unsupported, "GET input_items: HTTP \(p1.status)") }
        guard p1.status == 200, let d1 = p1.json?["data"]?.arrayValue else { return ProbeRow("", .fail, "page 1: HTTP \(p1.status) \(p1.excerpt)") }
        let t1 = d1.map(\.outputText)
        guard t1 == ["item one", "item two"], p1.json?["has_more"] == .bool(true) else {
            return ProbeRow("", .fail, "page 1 (limit 2, asc): \(t1), has_more \(p1.json?["has_more"].map { "\($0)" } ?? "missing")")
        }
        let last = d1[1]["id"]?.stringValue ?? ""
        let p2 = try await client.call("GET", "responses/\(id)/input_items", query: [("limit", "2"), ("order", "asc"), ("after", last)])
        let t2 = p2.json?["data"]?.arrayValue?.map(\.outputText) ?? []
        guard t2 == ["item three"], p2.json?["has_more"] == .bool(false) else { return ProbeRow("", .fail, "page 2 (after \(IDs.short(last))): \(t2)") }
        let desc = try await client.call("GET", "responses/\(id)/input_items")
        let first = desc.json?["data"]?.arrayValue?.first?.outputText
        guard first == "item three" else { return ProbeRow("", .fail, "default order should be desc; first item was \(first ?? "none")") }
        return ProbeRow("", .pass, "2 + 1 items, has_more true → false, default desc")
    }
}
