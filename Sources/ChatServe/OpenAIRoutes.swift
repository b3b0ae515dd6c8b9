import ChatEngine
import Foundation

/// The OpenAI-compatible routes of `chatbench serve`, answered by the offline backend: every
/// Responses and Conversations endpoint it implements, `GET /v1/models` and a stateless
/// `POST /v1/chat/completions`. Streaming is decided by `"stream": true` in the body.
public final class OpenAIRoutes: @unchecked Sendable {
    let backend: OfflineBackend
    let apiKey: String?

    public init(backend: OfflineBackend, apiKey: String?) {
        self.backend = backend
        self.apiKey = apiKey
    }

    /// Runs async backend work from a connection thread.
    func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let sem = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<T, Error>?
        Task {
            do { result = .success(try await body()) } catch { result = .failure(error) }
            sem.signal()
        }
        sem.wait()
        return try result!.get()
    }

    func send<T: Encodable>(_ conn: HTTPConnection, _ status: Int, _ value: T, keepAlive: Bool) -> Int {
        // Every reply names its request, as the API does (the SDKs put it on their exceptions).
        conn.reply(status, json: (try? WireJSON.encode(value)) ?? Data("{}".utf8), keepAlive: keepAlive,
                   extra: [("x-request-id", "req_" + IDs.make("x").dropFirst(2).prefix(24))])
        return status
    }

    func fail(_ conn: HTTPConnection, _ e: APIError, keepAlive: Bool) -> Int {
        send(conn, e.status, ErrorEnvelope(e), keepAlive: keepAlive)
    }

    func decode<T: Decodable>(_ type: T.Type, _ body: Data) throws -> T {
        guard String(validating: body, as: UTF8.self) != nil else {
            throw APIError.invalidRequest("We could not parse the JSON body of your request: the body is not valid UTF-8.", code: "invalid_json")
        }
        do { return try JSONDecoder().decode(T.self, from: body.isEmpty ? Data("{}".utf8) : body) } catch {
            throw Self.decodingError(error, body: body, as: T.self)
        }
    }

    /// A body that did not decode, as the API's 400: the field (as `input[1].content`) and what is
    /// wrong with it, read from the decoding error and the body itself.
    static func decodingError<T: Decodable>(_ e: Error, body: Data, as type: T.Type) -> APIError {
        func invalid(_ message: String, _ keys: [CodingKey], code: String) -> APIError {
            APIError.invalidRequest(message, param: keys.isEmpty ? nil : path(keys), code: code)
        }
        guard let json = JSONValue.parse(String(decoding: body, as: UTF8.self)) else {
            return APIError.invalidRequest("We could not parse the JSON body of your request: not valid JSON.", code: "invalid_json")
        }
        switch e {
        case DecodingError.keyNotFound(let key, let c):
            return invalid("Missing required parameter: '\(path(c.codingPath + [key]))'.", c.codingPath + [key], code: "missing_required_parameter")
        case DecodingError.typeMismatch(let type, let c), DecodingError.valueNotFound(let type, let c):
            if c.codingPath.isEmpty { return invalid("The body of your request must be a JSON object.", [], code: "invalid_type") }
            return invalid("Invalid type for '\(path(c.codingPath))': expected \(kind(type)).", c.codingPath, code: "invalid_type")
        case DecodingError.dataCorrupted(let c):
            // A number its field cannot hold (1e999 anywhere; 1e300 or 16.5 for an integer). The
            // decoder does not say where, so the body says: the number without which it decodes.
            // That decodes the body again per number tried: only for bodies up to 64 KB, so a hostile
            // 16 MB body costs one decode, not 64.
            if body.count <= 65_536, let keys = numberAtFault(json, as: T.self), let problem = json.at(keys)?.integerProblem {
                return invalid("Invalid '\(path(keys))': \(problem).", keys, code: "invalid_value")
            }
            return invalid(c.codingPath.isEmpty ? "Invalid value: a number in the body is too large, or not an integer where one is expected."
                                                : "Invalid value for '\(path(c.codingPath))'.", c.codingPath, code: "invalid_value")
        default:
            return APIError.invalidRequest("We could not parse the JSON body of your request: \(e)", code: "invalid_json")
        }
    }

    /// `input[1].content` for a decoding path.
    static func path(_ keys: [CodingKey]) -> String {
        keys.reduce("") { $0 + ($1.intValue.map { "[\($0)]" } ?? ($0.isEmpty ? "" : ".") + $1.stringValue) }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(stringValue: String) { self.stringValue = stringValue }
        init(intValue: Int) { stringValue = "\(intValue)"; self.intValue = intValue }
    }

    /// The number a body fails to decode for: the first one no field can hold (±1e999), else the first
    /// of its non-integers (at most 64 tried) that, replaced by 0, lets the body decode.
    static func numberAtFault<T: Decodable>(_ json: JSONValue, as type: T.Type) -> [CodingKey]? {
        var numbers: [([CodingKey], Double)] = []
        func walk(_ v: JSONValue, _ keys: [CodingKey]) {
            switch v {
            case .double(let d): numbers.append((keys, d))
            case .array(let a): for (i, x) in a.enumerated() { walk(x, keys + [Key(intValue: i)]) }
            case .object(let o): for k in o.keys.sorted() { walk(o[k]!, keys + [Key(stringValue: k)]) }
            default: break
            }
        }
        walk(json, [])
        if let inf = numbers.first(where: { !$0.1.isFinite }) { return inf.0 }
        for (keys, _) in numbers.prefix(64) {
            if let fixed = try? WireJSON.encode(json.replacing(keys[...], with: .int(0))),
               (try? JSONDecoder().decode(T.self, from: fixed)) != nil { return keys }
        }
        return nil
    }

    /// "a string", "an integer", … for a type a field expected.
    static func kind(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Double.Type: return "a number"
        case is Bool.Type: return "a boolean"
        default:
            let name = "\(type)"
            return name.hasPrefix("Array") ? "an array" : name.hasPrefix("Dictionary") ? "an object" : "a valid value"
        }
    }

    func listQuery(_ r: HTTPRequest) throws -> ListQuery {
        var q = ListQuery()
        if let l = r.queryValue("limit") {
            guard let n = Int(l) else { throw APIError.invalidRequest("Invalid 'limit': '\(l)'.", param: "limit") }
            q.limit = n
        }
        if let o = r.queryValue("order") { q.order = o }
        q.after = r.queryValue("after")
        return q
    }

    /// Checks the key on the head alone, so no body is read for a client without it.
    public func authorize(_ head: HTTPRequestHead) -> HTTPRefusal? {
        guard let key = apiKey else { return nil }
        let given = head.headers["authorization"]
        guard Self.bearerToken(given) != key else { return nil }
        let e = APIError(status: 401, type: "invalid_request_error", code: "invalid_api_key",
                         message: given == nil ? "Missing bearer authentication in header." : "Incorrect API key provided.")
        return HTTPRefusal(status: 401, json: (try? WireJSON.encode(ErrorEnvelope(e))) ?? Data(), headers: [("WWW-Authenticate", "Bearer")])
    }

    /// The token of an `Authorization: Bearer TOKEN` header. The scheme is matched in any case
    /// (RFC 9110 §11.1: auth schemes are case-insensitive); the token exactly.
    static func bearerToken(_ header: String?) -> String? {
        guard let header, let space = header.firstIndex(of: " "),
              header[..<space].lowercased() == "bearer" else { return nil }
        return String(header[header.index(after: space)...].drop { $0 == " " })
    }

    /// A method the path does not take: 405 with the methods it does take in `Allow`.
    struct MethodNotAllowed: Error { var allowed: [String] }

    /// Handles one request; returns the status sent.
    public func handle(_ r: HTTPRequest, _ conn: HTTPConnection) -> Int {
        let keepAlive = r.keepAlive
        let parts = r.path.split(separator: "/").map(String.init)
        guard parts.first == "v1" else { return fail(conn, APIError.notFound("Unknown path \(r.path)."), keepAlive: keepAlive) }
        let p = Array(parts.dropFirst())
        do {
            func method(_ allowed: String...) throws {
                let allowed = allowed.contains("GET") ? allowed + ["HEAD"] : allowed
                guard allowed.contains(r.method) else { throw MethodNotAllowed(allowed: allowed) }
            }
            switch p.count {
            case 1 where p[0] == "responses":
                try method("POST")
                return try createResponse(r, conn, keepAlive: keepAlive)
            case 1 where p[0] == "models":
                try method("GET")
                return send(conn, 200, ModelList.offline(backend.model.name), keepAlive: keepAlive)
            case 1 where p[0] == "conversations":
                try method("POST")
                let body = try decode(CreateConversationBody.self, r.body)
                let b = backend
                return send(conn, 200, try wait { try await b.createConversation(items: body.items ?? [], metadata: body.metadata ?? [:]) }, keepAlive: keepAlive)
            case 2 where p[0] == "chat" && p[1] == "completions":
                try method("POST")
                return try chatCompletion(r, conn, keepAlive: keepAlive)
            case 2 where p[0] == "responses" && p[1] == "compact":
                try method("POST")
                let body = try decode(CreateResponseRequest.self, r.body), b = backend
                return send(conn, 200, try wait { try await b.compactResponse(body) }, keepAlive: keepAlive)
            case 2 where p[0] == "responses":
                try method("GET", "DELETE")
                let id = p[1], b = backend
                if r.method == "DELETE" { return send(conn, 200, try wait { try await b.deleteResponse(id: id) }, keepAlive: keepAlive) }
                return send(conn, 200, try wait { try await b.retrieveResponse(id: id) }, keepAlive: keepAlive)
            case 3 where p[0] == "responses" && p[2] == "input_items":
                try method("GET")
                let id = p[1], q = try listQuery(r), b = backend
                return send(conn, 200, try wait { try await b.listInputItems(responseID: id, query: q) }, keepAlive: keepAlive)
            case 2 where p[0] == "conversations":
                try method("GET", "POST", "DELETE")
                let id = p[1], b = backend
                switch r.method {
                case "DELETE": return send(conn, 200, try wait { try await b.deleteConversation(id: id) }, keepAlive: keepAlive)
                case "POST":
                    struct Update: Decodable { var metadata: [String: String] }
                    let u = try decode(Update.self, r.body)
                    return send(conn, 200, try wait { try await b.updateConversation(id: id, metadata: u.metadata) }, keepAlive: keepAlive)
                default: return send(conn, 200, try wait { try await b.getConversation(id: id) }, keepAlive: keepAlive)
                }
            case 3 where p[0] == "conversations" && p[2] == "items":
                try method("GET", "POST")
                let id = p[1], b = backend
                if r.method == "POST" {
                    let body = try decode(AddItemsBody.self, r.body)
                    return send(conn, 200, try wait { try await b.addConversationItems(conversationID: id, items: body.items) }, keepAlive: keepAlive)
                }
                let q = try listQuery(r)
                return send(conn, 200, try wait { try await b.listConversationItems(conversationID: id, query: q) }, keepAlive: keepAlive)
            case 4 where p[0] == "conversations" && p[2] == "items":
                try method("GET", "DELETE")
                let id = p[1], item = p[3], b = backend
                if r.method == "DELETE" { return send(conn, 200, try wait { try await b.deleteConversationItem(conversationID: id, itemID: item) }, keepAlive: keepAlive) }
                return send(conn, 200, try wait { try await b.getConversationItem(conversationID: id, itemID: item) }, keepAlive: keepAlive)
            default:
                return fail(conn, APIError.notFound("Unknown path \(r.path)."), keepAlive: keepAlive)
            }
        } catch let e as MethodNotAllowed {
            let list = e.allowed.joined(separator: ", ")
            let env = ErrorEnvelope(APIError(status: 405, type: "invalid_request_error", message: "Method \(r.method) is not allowed on \(r.path) (use \(list))."))
            conn.reply(405, json: (try? WireJSON.encode(env)) ?? Data(), keepAlive: keepAlive, extra: [("Allow", list)])
            return 405
        } catch let e as APIError {
            return fail(conn, e, keepAlive: keepAlive)
        } catch {
            return fail(conn, APIError(status: 500, type: "server_error", message: "\(error)"), keepAlive: keepAlive)
        }
    }

    /// Streams events as `event:` + `data:` SSE in a chunked reply; stops when the client goes away.
    /// The events are made on the cooperative pool; the socket is written only from this (worker)
    /// thread, so a client that stops reading stalls its own worker, never the pool. The reply starts
    /// with the first event: a stream that fails before it (an upstream's 429, say) is answered with
    /// that error's real status, as the API does, not with a 200 stream.
    func stream(_ events: AsyncThrowingStream<ResponseStreamEvent, Error>, _ conn: HTTPConnection, keepAlive: Bool,
                frame: @escaping @Sendable (ResponseStreamEvent) -> Data?, done: Data? = nil) -> Int {
        let frames = FrameQueue()
        let task = Task {
            var sent = false
            do {
                for try await e in events {
                    guard let data = frame(e) else { continue }
                    sent = true
                    if !frames.push(data) { return }   // the client left: stop (nothing is stored)
                }
                if let done { frames.push(done) }
            } catch let e as APIError {
                if sent {
                    frames.push(Data("event: error\ndata: \((try? WireJSON.encodeString(ResponseStreamEvent.error(code: e.code, message: e.message, param: e.param, seq: 0))) ?? "{}")\n\n".utf8))
                } else {
                    frames.failBeforeStart(e)
                }
            } catch {}
            frames.finish()
        }
        let first = frames.pop()
        if first == nil, let e = frames.earlyFailure { return fail(conn, e, keepAlive: keepAlive) }
        guard conn.startStream(keepAlive: keepAlive) else { frames.cancel(); task.cancel(); return 200 }
        var next = first
        while let data = next {
            if !conn.chunk(data) { frames.cancel(); task.cancel(); return 200 }
            next = frames.pop()
        }
        conn.endStream()
        return 200
    }

    func createResponse(_ r: HTTPRequest, _ conn: HTTPConnection, keepAlive: Bool) throws -> Int {
        let req = try decode(CreateResponseRequest.self, r.body)
        // Checked here, not in the backend: the workbench's own turns may leave the model to it.
        guard req.model?.isEmpty == false else {
            throw APIError.invalidRequest("Missing required parameter: 'model'.", param: "model", code: "missing_required_parameter")
        }
        let b = backend
        guard req.stream == true else { return send(conn, 200, try wait { try await b.createResponse(req) }, keepAlive: keepAlive) }
        // Validate before committing to a 200 stream: errors here get their real status.
        _ = try b.prepareOnly(req)
        return stream(b.streamResponse(req), conn, keepAlive: keepAlive) { e in
            guard let json = try? WireJSON.encodeString(e) else { return nil }
            return Data("event: \(e.type)\ndata: \(json)\n\n".utf8)
        }
    }

    // MARK: Chat Completions (stateless)

    struct ChatBody: Decodable {
        struct Msg: Decodable {
            var role: String
            var content: JSONValue?
        }
        var model: String?
        var messages: [Msg]
        var stream: Bool?
        var stream_options: [String: Bool]?
    }

    func chatCompletion(_ r: HTTPRequest, _ conn: HTTPConnection, keepAlive: Bool) throws -> Int {
        let body = try decode(ChatBody.self, r.body)
        func text(_ v: JSONValue?) -> String {
            if let s = v?.stringValue { return s }
            return v?.arrayValue?.compactMap { $0["text"]?.stringValue }.joined() ?? ""
        }
        let system = body.messages.filter { $0.role == "system" || $0.role == "developer" }.map { text($0.content) }.joined(separator: "\n")
        let items = body.messages.filter { $0.role != "system" && $0.role != "developer" }
            .map { Item.message(Message(role: $0.role == "assistant" ? "assistant" : "user", content: .text(text($0.content)))) }
        guard !items.isEmpty else { throw APIError.invalidRequest("'messages' needs at least one user or assistant message.", param: "messages") }
        let req = CreateResponseRequest(model: body.model, input: .items(items), instructions: system.isEmpty ? nil : system, store: false)
        let b = backend
        let id = "chatcmpl-" + IDs.make("x").dropFirst(2).prefix(24)
        let created = Int(Date().timeIntervalSince1970)
        let model = body.model ?? backend.model.name
        @Sendable func usage(_ u: Usage?) -> JSONValue {
            .object(["prompt_tokens": .int(Int64(u?.input_tokens ?? 0)), "completion_tokens": .int(Int64(u?.output_tokens ?? 0)),
                     "total_tokens": .int(Int64((u?.input_tokens ?? 0).saturatingAdd(u?.output_tokens ?? 0)))])
        }
        guard body.stream == true else {
            let resp = try wait { try await b.createResponse(req) }
            let reply: JSONValue = .object([
                "id": .string(id), "object": .string("chat.completion"), "created": .int(Int64(created)), "model": .string(model),
                "choices": .array([.object(["index": .int(0), "message": .object(["role": .string("assistant"), "content": .string(resp.outputText), "refusal": .null]),
                                            "logprobs": .null, "finish_reason": .string("stop")])]),
                "usage": usage(resp.usage)])
            return send(conn, 200, reply, keepAlive: keepAlive)
        }
        let includeUsage = body.stream_options?["include_usage"] == true
        @Sendable func chunk(_ delta: JSONValue, finish: JSONValue = .null) -> Data {
            let obj: JSONValue = .object(["id": .string(id), "object": .string("chat.completion.chunk"), "created": .int(Int64(created)), "model": .string(model),
                                          "choices": .array([.object(["index": .int(0), "delta": delta, "logprobs": .null, "finish_reason": finish])])])
            return Data("data: \((try? WireJSON.encodeString(obj)) ?? "{}")\n\n".utf8)
        }
        let first = chunk(.object(["role": .string("assistant"), "content": .string("")]))
        nonisolated(unsafe) var sentFirst = false
        return stream(b.streamResponse(req), conn, keepAlive: keepAlive, frame: { e in
            var out = Data()
            if !sentFirst { out.append(first); sentFirst = true }
            if e.type == "response.output_text.delta", let d = e.delta { out.append(chunk(.object(["content": .string(d)]))) }
            if e.type == "response.completed" {
                out.append(chunk(.object([:]), finish: .string("stop")))
                if includeUsage {
                    let obj: JSONValue = .object(["id": .string(id), "object": .string("chat.completion.chunk"), "created": .int(Int64(created)),
                                                  "model": .string(model), "choices": .array([]), "usage": usage(e.response?.usage)])
                    out.append(Data("data: \((try? WireJSON.encodeString(obj)) ?? "{}")\n\n".utf8))
                }
            }
            return out.isEmpty ? nil : out
        }, done: Data("data: [DONE]\n\n".utf8))
    }
}

/// `GET /v1/models`.
struct ModelList: Encodable {
    struct Model: Encodable {
        var id: String
        var object = "model"
        var created = 0
        var owned_by = "chatbench"
    }
    var object = "list"
    var data: [Model]
    static func offline(_ name: String) -> ModelList { ModelList(data: [Model(id: name)]) }
}

/// Frames handed from the task that makes them to the thread that writes them.
final class FrameQueue: @unchecked Sendable {
    private let cond = NSCondition()
    private var items: [Data] = []
    private var finished = false
    private var cancelled = false

    /// False once the writer gave up.
    @discardableResult
    func push(_ d: Data) -> Bool {
        cond.lock()
        defer { cond.unlock() }
        if cancelled { return false }
        items.append(d)
        cond.signal()
        return true
    }

    func finish() { cond.lock(); finished = true; cond.signal(); cond.unlock() }
    /// An error before any frame: the reply is that error, not a stream.
    private var failure: APIError?
    func failBeforeStart(_ e: APIError) { cond.lock(); failure = e; cond.unlock() }
    var earlyFailure: APIError? { cond.lock(); defer { cond.unlock() }; return failure }
    func cancel() { cond.lock(); cancelled = true; items = []; cond.unlock() }

    /// The next frame; nil when the stream is over.
    func pop() -> Data? {
        cond.lock()
        defer { cond.unlock() }
        while items.isEmpty && !finished { cond.wait() }
        return items.isEmpty ? nil : items.removeFirst()
    }
}
