import ChatEngine
import Foundation

/// An HTTP/1.1 request as the server read it.
public struct HTTPRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [(String, String)]
    public var headers: [String: String]   // lower-cased names
    public var body: Data
    /// False when the client asked to close after this request (or spoke HTTP/1.0 without keep-alive).
    public var keepAlive = true

    public func queryValues(_ name: String) -> [String] { query.filter { $0.0 == name || $0.0 == name + "[]" }.map(\.1) }
    public func queryValue(_ name: String) -> String? { queryValues(name).first }

    init(head: HTTPRequestHead, body: [UInt8]) {
        let parts = head.target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [(String, String)] = []
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
                query.append((kv[0], kv.count > 1 ? kv[1] : ""))
            }
        }
        let rawPath = String(parts.first ?? "")
        self.init(method: head.method, path: rawPath.removingPercentEncoding ?? rawPath, query: query, headers: head.headers, body: Data(body))
    }

    public init(method: String, path: String, query: [(String, String)], headers: [String: String], body: Data) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}

/// A connection's write side: whole replies, or a chunked stream written piece by piece. Writes wait
/// for a slow reader at most `sendTimeoutMs` without progress; then the connection counts as gone.
public final class HTTPConnection: @unchecked Sendable {
    let fd: Int32
    let sendTimeoutMs: Int32
    /// A HEAD request gets the headers of the reply and no body.
    let isHead: Bool
    public private(set) var broken = false

    init(fd: Int32, sendTimeoutMs: Int32, isHead: Bool = false) {
        self.fd = fd
        self.sendTimeoutMs = sendTimeoutMs
        self.isHead = isHead
    }

    /// Writes everything (the socket is non-blocking; poll waits for room). False when the peer has
    /// gone or stopped reading for longer than the send timeout.
    @discardableResult
    func write(_ data: Data) -> Bool {
        guard !broken else { return false }
        let ok = data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) -> Bool in
            var off = 0
            while off < buf.count {
                let n = send(fd, buf.baseAddress! + off, buf.count - off, Int32(MSG_NOSIGNAL))
                if n > 0 { off += n; continue }
                if n < 0 && errno == EINTR { continue }
                guard n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) else { return false }
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                if poll(&p, 1, sendTimeoutMs) <= 0 { return false }
            }
            return true
        }
        if !ok { broken = true }
        return ok
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 413: return "Payload Too Large"
        case 414: return "URI Too Long"
        case 417: return "Expectation Failed"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Status"
        }
    }

    static func head(_ status: Int, _ headers: [(String, String)]) -> Data {
        var s = "HTTP/1.1 \(status) \(reason(status))\r\n"
        for (k, v) in headers { s += "\(k): \(v)\r\n" }
        return Data((s + "\r\n").utf8)
    }

    /// A complete JSON reply with Content-Length (the body left out for HEAD).
    public func reply(_ status: Int, json: Data, keepAlive: Bool, extra: [(String, String)] = []) {
        var d = Self.head(status, [("Content-Type", "application/json"), ("Content-Length", String(json.count)),
                                   ("Connection", keepAlive ? "keep-alive" : "close")] + extra)
        if !isHead { d.append(json) }
        write(d)
    }

    /// Starts a chunked `text/event-stream` reply.
    public func startStream(keepAlive: Bool) -> Bool {
        write(Self.head(200, [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), ("Transfer-Encoding", "chunked"),
                              ("Connection", keepAlive ? "keep-alive" : "close")]))
    }

    /// One chunk of a chunked reply. False when the client has gone.
    @discardableResult
    public func chunk(_ data: Data) -> Bool {
        guard !data.isEmpty else { return !broken }
        var d = Data(String(data.count, radix: 16).utf8)
        d.append(contentsOf: [13, 10])
        d.append(data)
        d.append(contentsOf: [13, 10])
        return write(d)
    }

    @discardableResult
    public func endStream() -> Bool { write(Data("0\r\n\r\n".utf8)) }

    /// The JSON error envelope the OpenAI API uses.
    public static func errorJSON(_ status: Int, _ message: String) -> Data {
        let type = status >= 500 ? "server_error" : "invalid_request_error"
        return (try? WireJSON.encode(ErrorEnvelope(APIError(status: status, type: type, message: message)))) ?? Data()
    }
}

/// A request refused before its body is read (bad Host or Origin, missing key): status, message, headers.
public struct HTTPRefusal: Sendable {
    public var status: Int
    public var json: Data
    public var headers: [(String, String)]
    public init(status: Int, json: Data, headers: [(String, String)] = []) {
        self.status = status
        self.json = json
        self.headers = headers
    }
}
