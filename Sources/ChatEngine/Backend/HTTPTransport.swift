import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// HTTP for the OpenAI backends: JSON requests with retries (connection errors, 408, 409, 429, 5xx;
/// exponential backoff with jitter, honouring `retry-after-ms` / `retry-after` and `x-should-retry`),
/// an overall deadline, and SSE streams that deliver each chunk as it arrives.
public final class HTTPTransport: @unchecked Sendable {
    public let config: HTTPConfig

    public init(config: HTTPConfig) {
        self.config = config
        Secrets.register(config.apiKey)
    }

    func request(_ method: String, _ path: String, query: [(String, String)] = [], body: Data?, accept: String = "application/json",
                 attempt: Int = 0) -> URLRequest {
        if attempt > 0, let body { RetryMeter.current?.add(body.count) }   // a retry sends the body again
        var components = URLComponents(url: config.baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        var r = URLRequest(url: components.url!)
        r.httpMethod = method
        r.timeoutInterval = TimeInterval(config.idleTimeout)
        if let key = config.apiKey { r.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        if let org = config.organization { r.setValue(org, forHTTPHeaderField: "OpenAI-Organization") }
        if let project = config.project { r.setValue(project, forHTTPHeaderField: "OpenAI-Project") }
        r.setValue(accept, forHTTPHeaderField: "Accept")
        r.setValue("chatbench/0.1", forHTTPHeaderField: "User-Agent")
        r.setValue(String(attempt), forHTTPHeaderField: "x-stainless-retry-count")
        if let body {
            r.httpBody = body
            r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        return r
    }

    // MARK: Errors and retries

    /// An HTTP error status as a typed error: the envelope's type, code, param, message and the request id.
    /// Redirects are never followed (the key would go wherever the server points), so a 3xx is an error
    /// that names where it pointed. Any key the server echoes is redacted.
    static func apiError(status: Int, body: Data, headers: HTTPURLResponse) -> APIError {
        let requestID = headers.value(forHTTPHeaderField: "x-request-id")
        if (300..<400).contains(status) {
            let to = headers.value(forHTTPHeaderField: "location").map { " to \($0)" } ?? ""
            return Secrets.redact(APIError(status: status, type: "http_error", code: "redirect", message:
                "the server redirected the request\(to) (HTTP \(status)); chatbench does not follow redirects of API requests, so the key "
                + "never goes to another server: use the final address as --base-url", requestID: requestID))
        }
        if let env = try? JSONDecoder().decode(ErrorEnvelope.self, from: body) {
            return Secrets.redact(env.apiError(status: status, requestID: requestID))
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Secrets.redact(APIError(status: status, type: status >= 500 ? "server_error" : "http_error", code: nil, param: nil,
                                       message: "HTTP \(status)" + (text.isEmpty ? "" : ": \(text)"), requestID: requestID))
    }

    static func connectionError(_ e: URLError, url: URL) -> APIError {
        APIError(status: 0, type: "connection_error", code: "\(e.code.rawValue)", message: readable(e, url: url))
    }

    /// A URL error as a sentence naming the server and what went wrong (Foundation's own text on
    /// Linux is "The operation could not be completed. (NSURLErrorDomain error -1001.)").
    static func readable(_ e: URLError, url: URL) -> String {
        let host = url.host.map { "\(url.scheme ?? "http")://\($0)\(url.port.map { ":\($0)" } ?? "")" } ?? "the server"
        let what: String
        switch e.code {
        case .timedOut: what = "timed out (the server sent nothing for too long: idle timeout)"
        case .cannotConnectToHost: what = "connection refused"
        case .networkConnectionLost: what = "the connection was lost"
        case .cannotFindHost, .dnsLookupFailed: what = "unknown host"
        case .notConnectedToInternet: what = "no network"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate, .serverCertificateNotYetValid,
             .serverCertificateHasUnknownRoot: what = "TLS failed"
        // libcurl (Foundation on Linux) reports a reply that is not HTTP as an unsupported protocol
        // (HTTP/0.9), so for an http(s) URL that code is about the reply, not the URL.
        case .unsupportedURL where ["http", "https"].contains(url.scheme?.lowercased() ?? ""): what = "the reply is not HTTP"
        case .badURL, .unsupportedURL: what = "bad URL"
        // An empty reply (libcurl's "got nothing"): the server accepted the connection and closed it.
        case .badServerResponse: what = "the server closed the connection without a reply"
        case .cannotParseResponse: what = "the reply is not HTTP"
        default: what = "network error \(e.code.rawValue)"
        }
        return "cannot reach \(host): \(what)"
    }

    /// Any error of a request as text: URL errors made readable, the rest as they describe themselves.
    static func readable(_ error: Error, url: URL) -> String {
        if let e = error as? URLError { return readable(e, url: url) }
        return "\(error)"
    }

    static func retryable(status: Int) -> Bool { status == 408 || status == 409 || status == 429 || status >= 500 }

    static func retryable(_ e: URLError) -> Bool {
        [.timedOut, .cannotConnectToHost, .networkConnectionLost, .notConnectedToInternet, .cannotFindHost, .dnsLookupFailed,
         .badServerResponse].contains(e.code)
    }

    /// Whether to retry, honouring `x-should-retry`.
    static func shouldRetry(status: Int, headers: HTTPURLResponse?) -> Bool {
        switch headers?.value(forHTTPHeaderField: "x-should-retry")?.lowercased() {
        case "true": return true
        case "false": return false
        default: return retryable(status: status)
        }
    }

    /// Seconds to wait before retry `attempt` (0-based): the server's `retry-after-ms` / `retry-after`
    /// when 0 < delay ≤ `maxRetryDelay` (nil: longer than that, so do not retry), else 0.5 s · 2^n, at
    /// most 8 s, minus up to 25 % jitter.
    public static func retryDelay(attempt: Int, headers: HTTPURLResponse?, maxDelay: Double, jitter: Double = Double.random(in: 0...1)) -> Double? {
        if let ms = headers?.value(forHTTPHeaderField: "retry-after-ms").flatMap(Double.init), ms > 0 {
            return ms / 1000 <= maxDelay ? ms / 1000 : nil
        }
        if let ra = headers?.value(forHTTPHeaderField: "retry-after") {
            var seconds = Double(ra)
            if seconds == nil {
                let f = DateFormatter()
                f.locale = Locale(identifier: "en_US_POSIX")
                f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
                seconds = f.date(from: ra).map { $0.timeIntervalSinceNow }
            }
            if let s = seconds, s > 0 { return s <= maxDelay ? s : nil }
        }
        let base = min(8.0, 0.5 * pow(2.0, Double(attempt)))
        return base * (1 - 0.25 * jitter)
    }

    /// Runs `body` with the overall deadline.
    func withDeadline<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let deadline = config.deadline
        return try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(deadline))
                throw APIError(status: 0, type: "timeout", code: "deadline_exceeded",
                               message: "the request took longer than the \(Int(deadline)) s deadline")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    // MARK: JSON requests

    /// Sends a request, retrying as specified; returns the body of a 2xx reply or throws `APIError`.
    public func send(_ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil) async throws -> Data {
        try await withDeadline { [self] in
            var attempt = 0
            while true {
                let req = request(method, path, query: query, body: body, attempt: attempt)
                do {
                    let (data, http) = try await ChunkStream.collect(req, in: config)
                    if (200..<300).contains(http.statusCode) { return data }
                    let error = Self.apiError(status: http.statusCode, body: data, headers: http)
                    if attempt < config.maxRetries, Self.shouldRetry(status: http.statusCode, headers: http),
                       let delay = Self.retryDelay(attempt: attempt, headers: http, maxDelay: config.maxRetryDelay) {
                        try await Task.sleep(for: .seconds(delay))
                        attempt += 1
                        continue
                    }
                    throw attempt > 0 ? Self.afterRetries(error, attempt + 1) : error
                } catch let e as URLError {
                    if e.code == .cancelled { throw CancellationError() }
                    let error = Self.connectionError(e, url: config.baseURL)
                    if attempt < config.maxRetries, Self.retryable(e) {
                        try await Task.sleep(for: .seconds(Self.retryDelay(attempt: attempt, headers: nil, maxDelay: config.maxRetryDelay) ?? 1))
                        attempt += 1
                        continue
                    }
                    throw attempt > 0 ? Self.afterRetries(error, attempt + 1) : error
                }
            }
        }
    }

    static func afterRetries(_ e: APIError, _ attempts: Int) -> APIError {
        var e = e
        e.message += " (gave up after \(attempts) attempts)"
        return e
    }

    /// Sends and decodes a JSON reply; a body that is not the expected JSON is a clear error.
    public func json<T: Decodable>(_ type: T.Type, _ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil) async throws -> T {
        let data = try await send(method, path, query: query, body: body)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            let text = Secrets.redact(String(decoding: data.prefix(120), as: UTF8.self))
            throw APIError(status: 200, type: "invalid_response", code: "malformed_json",
                           message: "the server's reply to \(method) /\(path) is not the expected JSON: \(text.isEmpty ? "(empty body)" : text)")
        }
    }

    // MARK: Streams

    /// Opens an SSE stream and yields its events as they arrive. Errors before the first event are
    /// retried like JSON requests; a stream that breaks after events were delivered is not.
    public func stream(_ path: String, body: Data, cancel: StreamCancel = StreamCancel()) -> AsyncThrowingStream<SSEEvent, Error> {
        AsyncThrowingStream { continuation in
            let task = Task { [self] in
                do {
                    try await withDeadline { [self] in
                        var attempt = 0
                        while true {
                            var delivered = false
                            do {
                                try await streamOnce(path, body: body, attempt: attempt, cancel: cancel) { event in
                                    delivered = true
                                    continuation.yield(event)
                                }
                                return
                            } catch let e as StreamStatusError {
                                if attempt < config.maxRetries, Self.shouldRetry(status: e.error.status, headers: e.headers),
                                   let delay = Self.retryDelay(attempt: attempt, headers: e.headers, maxDelay: config.maxRetryDelay) {
                                    try await Task.sleep(for: .seconds(delay))
                                    attempt += 1
                                    continue
                                }
                                throw attempt > 0 ? Self.afterRetries(e.error, attempt + 1) : e.error
                            } catch let e as APIError where !delivered && e.type == "connection_error" && attempt < config.maxRetries {
                                try await Task.sleep(for: .seconds(Self.retryDelay(attempt: attempt, headers: nil, maxDelay: config.maxRetryDelay) ?? 1))
                                attempt += 1
                            } catch let e as APIError where !delivered && attempt > 0 {
                                throw Self.afterRetries(e, attempt + 1)
                            }
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.stopOnTermination(task, cancel)
        }
    }

    private func streamOnce(_ path: String, body: Data, attempt: Int, cancel: StreamCancel, _ yield: (SSEEvent) -> Void) async throws {
        let req = request("POST", path, body: body, accept: "text/event-stream", attempt: attempt)
        var parser = SSEParser()
        var status = 0
        var headers: HTTPURLResponse?
        var errorBody = Data()
        do {
            for try await part in ChunkStream.open(req, in: config, cancel: cancel) {
                try Task.checkCancellation()
                switch part {
                case .response(let http):
                    status = http.statusCode
                    headers = http
                case .chunk(let data):
                    if (200..<300).contains(status) {
                        for event in try parser.feed(data) { yield(event) }
                    } else if errorBody.count < 1_000_000 {
                        errorBody.append(data)
                    }
                }
            }
        } catch let e as URLError {
            if e.code == .cancelled { throw CancellationError() }
            var err = Self.connectionError(e, url: config.baseURL)
            if status != 0 { err.message = "the stream broke: " + err.message }
            throw err
        }
        if !(200..<300).contains(status) {
            guard let headers else { throw APIError(status: 0, type: "connection_error", message: "the server closed the connection without a reply") }
            throw StreamStatusError(error: Self.apiError(status: status, body: errorBody, headers: headers), headers: headers)
        }
        for event in parser.finish() { yield(event) }
    }
}

/// Bytes of request bodies sent again by retries, for the turn that set it (a task-local, so the
/// HTTP layer needs no parameter for it): `request_bytes` counts every body that left the machine.
final class RetryMeter: @unchecked Sendable {
    @TaskLocal static var current: RetryMeter?
    private let lock = NSLock()
    private var total = 0
    func add(_ n: Int) { lock.lock(); total += n; lock.unlock() }
    var bytes: Int { lock.lock(); defer { lock.unlock() }; return total }
}
