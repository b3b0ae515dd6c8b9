import Foundation

/// One turn as the server rebuilt it: every earlier item of the chain or conversation, oldest first,
/// then the new input; and this request's instructions (never an ancestor's).
public struct Turn: Sendable {
    public var context: [Item]
    public var instructions: String?
    public var model: String?
    /// The request's `text` (its output format: a json_schema the answerer passes on).
    public var text: JSONValue? = nil
}

/// A piece of an answer: text as it arrives, then the end with the usage the answerer measured (nil:
/// the server estimates it).
public enum AnswerPart: Sendable {
    case delta(String)
    case done(Usage?)
}

/// What answers the turns of an `OfflineBackend` when its own `TextModel` should not: the server state
/// (chains, store:false, deletion, conversations) stays the backend's, only the reply comes from here.
/// It is given the whole rebuilt context each turn, so it needs no memory of its own.
public protocol Answerer: Sendable {
    /// The model a response reports for a request that asked for `requested`.
    func model(for requested: String?) -> String
    /// Streams the reply. Errors are `APIError`s in the Responses error shape.
    func answer(_ turn: Turn) -> AsyncThrowingStream<AnswerPart, Error>
}

/// The `TextModel` of a backend whose turns an `Answerer` answers: it keeps no snapshot (the answerer
/// reads the rebuilt item list instead) and is never asked to reply.
struct NoSnapshotModel: TextModel {
    let name: String
    func read(_ items: [Item], after snapshot: String?) -> String { "" }
    func reply(to snapshot: String, instructions: String?) -> String { "" }
}

/// The gateway's answerer: each turn's rebuilt context goes to an upstream `/v1/chat/completions`,
/// streamed; its deltas and usage come back as they arrive. The upstream's errors become Responses
/// errors (see `upstreamError`), with the upstream key cut out of every message.
public struct ChatCompletionsAnswerer: Answerer {
    let chat: ChatCompletionsBackend
    let forcedModel: String?
    let key: String?
    public let host: String

    /// `model`: always ask the upstream for this model (else the request's model, else `defaultModel`).
    public init(config: HTTPConfig, model: String?, defaultModel: String = "gpt-4.1-mini") {
        chat = ChatCompletionsBackend(config: config, defaultModel: model ?? defaultModel)
        forcedModel = model
        key = config.apiKey
        Secrets.register(config.apiKey)   // so every error text, wherever it goes, has it cut out
        host = (config.baseURL.host ?? "?") + (config.baseURL.port.map { ":\($0)" } ?? "")
    }

    /// The upstream's connection: `url` checked like --base-url, the key given (never read from a
    /// file, never written anywhere), timeouts from CHATBENCH_IDLE_TIMEOUT / CHATBENCH_DEADLINE.
    public static func config(upstream url: String, key: String?, environment: [String: String]) throws -> HTTPConfig {
        var env = environment
        env["OPENAI_API_KEY"] = key ?? ""
        return try HTTPConfig.fromEnvironment(env, baseURL: url)
    }

    public func model(for requested: String?) -> String { forcedModel ?? requested ?? chat.info.defaultModel }

    public func answer(_ turn: Turn) -> AsyncThrowingStream<AnswerPart, Error> {
        var request = CreateResponseRequest(model: model(for: turn.model), input: .items(turn.context), instructions: turn.instructions)
        request.text = turn.text
        let upstream = chat.streamResponse(request)
        let key = key
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await e in upstream {
                        if e.type == "response.output_text.delta", let d = e.delta { continuation.yield(.delta(d)) }
                        if e.type == "response.completed" { continuation.yield(.done(e.response?.usage)) }
                    }
                    try Task.checkCancellation()
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: Self.upstreamError(error, key: key))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// An upstream failure as the gateway's own error: 400/404/413/422/429 keep their status (the request
    /// or the rate is the caller's to fix), a timeout is 504, anything else 502. The message says it came
    /// from the upstream and never contains the key.
    static func upstreamError(_ error: Error, key: String?) -> Error {
        guard let e = error as? APIError else { return error }
        let status: Int
        switch e.status {
        case 400, 404, 413, 422, 429: status = e.status
        case 0 where e.code == "\(URLError.timedOut.rawValue)" || e.code == "deadline_exceeded": status = 504
        default: status = 502
        }
        let type = status == 429 ? "rate_limit_error" : status < 500 ? "invalid_request_error" : "server_error"
        let code = status == 504 ? "upstream_timeout" : status == 502 ? "upstream_error" : e.code
        let detail = e.status == 0 ? e.message : "HTTP \(e.status): \(e.message)"
        return APIError(status: status, type: type, code: code, param: e.param, message: redact("upstream \(detail)", key: key))
    }

    /// `text` with the key (and anything shaped like a key) replaced: the one redaction, Secrets'.
    static func redact(_ text: String, key: String?) -> String {
        Secrets.register(key)
        return Secrets.redact(text)
    }
}
