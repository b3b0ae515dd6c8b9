import Foundation

/// The result of one turn, as recorded.
public struct TurnResult: Sendable {
    public var turn: TurnRecord
    public var session: SessionRecord
    public var reply: String
}

/// A turn that could not complete. The turn (and the user's message) are recorded before this is thrown.
public struct TurnFailure: Error, CustomStringConvertible, Sendable {
    public var turn: TurnRecord
    public var underlying: String
    public var apiError: APIError?
    public var description: String { underlying }
}

/// Performs one turn in a session's memory mode: builds the request, counts the exact request-body
/// bytes, streams the reply, and records the turn atomically with its metrics.
///
/// Server modes keep an anchor per store — the last transcript message the server chain (or
/// conversation) holds. A turn sends only what the anchor lacks: normally just the new message; after
/// turns in another mode, the missing messages too; with no anchor, the whole history (a replay).
/// When the server has lost the chain (`previous_response_not_found`), the runner replays the local
/// history into a new chain, the turn succeeds, and the turn row records the break.
public final class Runner: @unchecked Sendable {
    public let store: WorkbenchStore
    public let backend: ResponsesBackend
    /// Stream replies (deltas reach `onDelta` as they arrive); otherwise one create call.
    public var streaming: Bool

    public init(store: WorkbenchStore, backend: ResponsesBackend, streaming: Bool = true) {
        self.store = store
        self.backend = backend
        self.streaming = streaming
    }

    /// Bytes and items sent so far in this turn (every request body counts, retries included).
    struct Sent {
        var bytes = 0
        var items = 0
        mutating func add<T: Encodable>(_ body: T, items n: Int) throws {
            bytes += try WireJSON.encode(body).count
            items += n
        }
    }

    /// What the server-side part of a turn produced.
    struct Exchange {
        var response: Response
        var previousSent: String?
        var conversationID: String?
        var event: String
        var repair: APIError?
    }

    /// Partial reply text collected while streaming (kept when the turn is interrupted).
    final class Partial: @unchecked Sendable {
        var text = ""
    }

    /// Sends `text` in the session named `name` (which must exist). Returns when the turn is recorded.
    /// Cancelling the calling task interrupts the reply: the partial reply is recorded as interrupted.
    public func send(_ text: String, in name: String, onDelta: @escaping @Sendable (String) -> Void = { _ in }) async throws -> TurnResult {
        guard let session = try store.session(named: name) else {
            throw StorageError(.queryFailed, path: store.db.path, "no session named '\(name)'")
        }
        let userItem = Item.userText(text)
        var sent = Sent()
        let partial = Partial()
        let started = Date()
        let number = try store.nextTurnNumber(session: session.id)
        var draft = TurnRecord(sessionID: session.id, number: number, mode: session.mode, backend: backend.info.name, model: session.model,
                               itemsSent: 0, requestBytes: 0, status: "completed", createdAt: started.timeIntervalSince1970)
        do {
            let exchange: Exchange
            switch session.mode {
            case .chain, .hybrid:
                exchange = try await chainTurn(session, userItem, &sent, partial, onDelta)
            case .conversation:
                exchange = try await conversationTurn(session, userItem, &sent, partial, onDelta)
            case .client:
                exchange = try await clientTurn(session, userItem, &sent, partial, onDelta)
            }
            let r = exchange.response
            draft.previousResponseID = exchange.previousSent
            draft.responseID = r.id
            draft.conversationID = exchange.conversationID
            draft.itemsSent = sent.items
            draft.requestBytes = sent.bytes
            draft.inputTokens = r.usage?.input_tokens
            draft.cachedTokens = r.usage?.cachedTokens
            draft.outputTokens = r.usage?.output_tokens
            draft.latencyMs = Date().timeIntervalSince(started) * 1000
            draft.chainEvent = exchange.event
            draft.errorCode = exchange.repair?.code
            draft.errorMessage = exchange.repair?.message
            let replyText = r.outputText
            let replyItem = r.output.first(where: { $0.role == "assistant" }) ?? .assistantMessage(id: nil, text: replyText)
            let mode = session.mode
            let (turn, updated) = try store.recordTurn(draft, userItem: userItem, userStatus: "complete", reply: replyItem,
                                                       replyStatus: "complete", session: session) { s, _, replyID in
                guard let replyID else { return }
                switch mode {
                case .chain, .hybrid:
                    s.chainHead = r.id
                    s.chainCovers = replyID
                case .conversation:
                    s.conversationID = exchange.conversationID
                    s.conversationCovers = replyID
                case .client:
                    s.clientCovers = replyID
                }
            }
            return TurnResult(turn: turn, session: updated, reply: replyText)
        } catch {
            // Record what happened, keep the user's message, then report.
            draft.itemsSent = sent.items
            draft.requestBytes = sent.bytes
            draft.latencyMs = Date().timeIntervalSince(started) * 1000
            let interrupted = error is CancellationError || (error as? URLError)?.code == .cancelled
            draft.status = interrupted ? "interrupted" : "failed"
            let api = error as? APIError
            draft.errorCode = interrupted ? "interrupted" : (api?.code ?? api.map { String($0.status) } ?? "error")
            draft.errorMessage = interrupted ? "cancelled by the user" : "\(error)"
            let reply: Item? = partial.text.isEmpty ? nil : .assistantMessage(id: nil, text: partial.text, status: "incomplete")
            let (turn, _) = try store.recordTurn(draft, userItem: userItem, userStatus: interrupted ? "interrupted" : "failed",
                                                 reply: reply, replyStatus: "interrupted", session: session)
            if interrupted { throw CancellationError() }
            throw TurnFailure(turn: turn, underlying: "\(error)", apiError: api)
        }
    }

    // MARK: Modes

    /// History as input items: complete messages in the easy form, without server ids, so any server
    /// accepts them (ids from another server would be refused).
    func replayItems(_ messages: [MessageRecord]) -> [Item] {
        messages.map { m in
            switch m.item {
            case .message(let msg): return .message(Message(role: msg.role, content: .text(msg.content.plainText)))
            case .opaque(var v):
                if case .object(var o) = v { o.removeValue(forKey: "id"); v = .object(o) }
                return .opaque(v)
            }
        }
    }

    func chainTurn(_ s: SessionRecord, _ user: Item, _ sent: inout Sent, _ partial: Partial,
                   _ onDelta: @escaping @Sendable (String) -> Void, instructions: String? = nil) async throws -> Exchange {
        var prev = s.chainHead
        var input: [Item]
        var event: String
        if let _ = prev {
            let missing = try store.completeMessages(session: s.id, after: s.chainCovers)
            input = replayItems(missing) + [user]
            event = missing.isEmpty ? "continue" : "switch"
        } else {
            let history = try store.completeMessages(session: s.id)
            input = replayItems(history) + [user]
            event = history.isEmpty ? "start" : "switch"
        }
        var request = CreateResponseRequest(model: s.model, input: .items(input), instructions: instructions, previousResponseID: prev)
        do {
            let r = try await exchange(&request, &sent, partial, onDelta)
            return Exchange(response: r, previousSent: prev, conversationID: nil, event: event)
        } catch let e as APIError where e.isPreviousResponseNotFound {
            // The server lost the chain: replay the local history into a new one.
            let history = try store.completeMessages(session: s.id)
            prev = nil
            request = CreateResponseRequest(model: s.model, input: .items(replayItems(history) + [user]), instructions: instructions)
            partial.text = ""
            let r = try await exchange(&request, &sent, partial, onDelta)
            return Exchange(response: r, previousSent: nil, conversationID: nil, event: "repair", repair: e)
        }
    }

    func conversationTurn(_ s: SessionRecord, _ user: Item, _ sent: inout Sent, _ partial: Partial,
                          _ onDelta: @escaping @Sendable (String) -> Void) async throws -> Exchange {
        var event = "continue"
        var conversation = s.conversationID
        if let id = conversation {
            let missing = try store.completeMessages(session: s.id, after: s.conversationCovers)
            if !missing.isEmpty {
                event = "switch"
                do {
                    try await addItems(id, replayItems(missing), &sent)
                } catch let e as APIError where e.status == 404 {
                    conversation = nil
                    _ = e
                }
            }
        }
        var repair: APIError?
        if conversation == nil {
            let history = try store.completeMessages(session: s.id)
            conversation = try await createConversation(seed: replayItems(history), &sent)
            event = history.isEmpty ? "start" : "switch"
        }
        var request = CreateResponseRequest(model: s.model, input: .items([user]), conversation: conversation)
        do {
            let r = try await exchange(&request, &sent, partial, onDelta)
            return Exchange(response: r, previousSent: nil, conversationID: conversation, event: event)
        } catch let e as APIError where e.status == 404 && e.param?.hasPrefix("conversation") == true {
            // The conversation is gone on the server: seed a new one from the local history.
            repair = e
            let history = try store.completeMessages(session: s.id)
            conversation = try await createConversation(seed: replayItems(history), &sent)
            request = CreateResponseRequest(model: s.model, input: .items([user]), conversation: conversation)
            partial.text = ""
            let r = try await exchange(&request, &sent, partial, onDelta)
            return Exchange(response: r, previousSent: nil, conversationID: conversation, event: "repair", repair: repair)
        }
    }

    /// Client mode: the whole history every turn, no server state. (Policies and the Agents SDK session
    /// store come with the client-side memory work; until then the transcript is the client store.)
    func clientTurn(_ s: SessionRecord, _ user: Item, _ sent: inout Sent, _ partial: Partial,
                    _ onDelta: @escaping @Sendable (String) -> Void) async throws -> Exchange {
        let history = try store.completeMessages(session: s.id)
        var request = CreateResponseRequest(model: s.model, input: .items(replayItems(history) + [user]))
        let r = try await exchange(&request, &sent, partial, onDelta)
        return Exchange(response: r, previousSent: nil, conversationID: nil, event: "client")
    }

    /// Creates a conversation seeded with `seed` (20 items at creation, the rest added in batches of 20).
    func createConversation(seed: [Item], _ sent: inout Sent) async throws -> String {
        let first = Array(seed.prefix(20))
        let body = CreateConversationBody(items: first, metadata: nil)
        try sent.add(body, items: first.count)
        let conv = try await backend.createConversation(items: first, metadata: [:])
        try await addItems(conv.id, Array(seed.dropFirst(20)), &sent)
        return conv.id
    }

    func addItems(_ id: String, _ items: [Item], _ sent: inout Sent) async throws {
        var rest = items[...]
        while !rest.isEmpty {
            let batch = Array(rest.prefix(20))
            rest = rest.dropFirst(20)
            try sent.add(AddItemsBody(items: batch), items: batch.count)
            _ = try await backend.addConversationItems(conversationID: id, items: batch)
        }
    }

    /// Sends one create request (streamed or not) and returns the final response.
    func exchange(_ request: inout CreateResponseRequest, _ sent: inout Sent, _ partial: Partial,
                  _ onDelta: @escaping @Sendable (String) -> Void) async throws -> Response {
        request.stream = streaming ? true : nil
        try sent.add(request, items: request.input?.items.count ?? 0)
        if !streaming {
            let r = try await backend.createResponse(request)
            onDelta(r.outputText)
            partial.text = r.outputText
            return r
        }
        var final: Response?
        for try await event in backend.streamResponse(request) {
            switch event.type {
            case "response.output_text.delta":
                let d = event.delta ?? ""
                partial.text += d
                onDelta(d)
            case "response.completed":
                final = event.response
            case "response.failed", "response.incomplete":
                let r = event.response
                throw APIError(status: 500, type: "server_error", code: r?.error?.code ?? event.type,
                               message: r?.error?.message ?? "the response ended as \(r?.status ?? "failed")")
            case "error":
                throw APIError(status: 500, type: "server_error", code: event.code, param: event.param,
                               message: event.message ?? "the stream reported an error")
            default:
                break
            }
        }
        try Task.checkCancellation()
        guard let final else {
            throw APIError(status: 502, type: "stream_error", code: "truncated_stream",
                           message: "the stream ended before the response completed")
        }
        return final
    }
}
