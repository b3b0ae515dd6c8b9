import ChatEngine
import Foundation

/// An HTTP/1.1 request as the server read it.
public struct HTTPRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [(String, String)]
    public var headers: [String: String]   // lower-cased names
    public var body: Data

    public func queryValues(_ name: String) -> [String] { query.filter { $0.0 == name || $0.0 == name + "[]" }.map(\.1) }
    public func queryValue(_ name: String) -> String? { queryValues(name).first }
}

/// A connection's write side: whole replies, or a chunked stream written piece by piece.
public final class HTTPConnection: @unchecked Sendable {
    let fd: Int32
    private(set) var broken = false

    init(fd: Int32) { self.fd = fd }

    /// Writes everything, looping over partial writes and EINTR. False when the peer has gone.
    @discardableResult
    func write(_ data: Data) -> Bool {
        guard !broken else { return false }
        let ok = data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) -> Bool in
            var off = 0
            while off < buf.count {
                let n = send(fd, buf.baseAddress! + off, buf.count - off, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                off += n
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
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 413: return "Payload Too Large"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        default: return "Status"
        }
    }

    func head(_ status: Int, _ headers: [(String, String)]) -> Data {
        var s = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        for (k, v) in headers { s += "\(k): \(v)\r\n" }
        return Data((s + "\r\n").utf8)
    }

    /// A complete reply with Content-Length.
    public func reply(_ status: Int, json: Data, keepAlive: Bool, extra: [(String, String)] = []) {
        var d = head(status, [("Content-Type", "application/json"), ("Content-Length", String(json.count)),
                              ("Connection", keepAlive ? "keep-alive" : "close")] + extra)
        d.append(json)
        write(d)
    }

    /// Starts a chunked `text/event-stream` reply.
    public func startStream(keepAlive: Bool) -> Bool {
        write(head(200, [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), ("Transfer-Encoding", "chunked"),
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
}

/// A small threaded HTTP/1.1 server: keep-alive, Content-Length and chunked request bodies,
/// `Expect: 100-continue`, a request-size limit, an idle timeout for slow clients, and writes that
/// survive a vanished peer (SIGPIPE ignored, MSG_NOSIGNAL). One thread per connection.
public final class HTTPServer: @unchecked Sendable {
    public typealias Handler = @Sendable (HTTPRequest, HTTPConnection) -> Int   // returns the status sent
    public let host: String
    public private(set) var port: UInt16
    let handler: Handler
    let maxBodyBytes: Int
    let maxHeaderBytes = 64 * 1024
    let idleTimeoutSeconds: Int
    let log: (@Sendable (String) -> Void)?
    private var listenFD: Int32 = -1

    public init(host: String, port: UInt16, maxBodyBytes: Int = 16 * 1024 * 1024, idleTimeoutSeconds: Int = 30,
                log: (@Sendable (String) -> Void)?, handler: @escaping Handler) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.log = log
        self.handler = handler
    }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Binds and listens (port 0 picks a free one; `port` then holds it).
    public func bind() throws {
        signal(SIGPIPE, SIG_IGN)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartError(description: "cannot create a socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            close(fd)
            throw StartError(description: "bad host '\(host)': use an IPv4 address such as 127.0.0.1")
        }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw StartError(description: "cannot listen on \(host):\(port): \(why)")
        }
        guard listen(fd, 256) == 0 else { close(fd); throw StartError(description: "listen failed: \(String(cString: strerror(errno)))") }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = UInt16(bigEndian: bound.sin_port)
        listenFD = fd
    }

    /// Accepts connections forever (until `stop`).
    public func serve() {
        while listenFD >= 0 {
            let c = accept(listenFD, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                if listenFD < 0 { return }
                continue
            }
            var one: Int32 = 1
            setsockopt(c, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            var tv = timeval(tv_sec: idleTimeoutSeconds, tv_usec: 0)
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            Thread.detachNewThread { [self] in
                handleConnection(c)
                close(c)
            }
        }
    }

    public func stop() {
        let fd = listenFD
        listenFD = -1
        if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
    }

    // MARK: Reading requests

    final class Reader {
        let fd: Int32
        var buffer: [UInt8] = []
        var start = 0
        init(fd: Int32) { self.fd = fd }

        /// Reads more bytes; false at EOF, error or timeout.
        func fill() -> Bool {
            var tmp = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(fd, &tmp, tmp.count, 0)
                if n > 0 {
                    if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
                    buffer.append(contentsOf: tmp[0..<n])
                    return true
                }
                if n < 0 && errno == EINTR { continue }
                return false
            }
        }

        var available: Int { buffer.count - start }

        func take(_ n: Int) -> [UInt8] {
            let out = Array(buffer[start..<(start + n)])
            start += n
            if start > 1 << 20 { buffer.removeSubrange(0..<start); start = 0 }
            return out
        }

        /// Index (relative to `start`) just past the first CRLFCRLF / CRLF, if buffered.
        func find(_ pattern: [UInt8]) -> Int? {
            guard available >= pattern.count else { return nil }
            var i = start
            while i <= buffer.count - pattern.count {
                if buffer[i] == pattern[0] && Array(buffer[i..<(i + pattern.count)]) == pattern { return i - start + pattern.count }
                i += 1
            }
            return nil
        }
    }

    enum ReadOutcome {
        case request(HTTPRequest, keepAlive: Bool)
        case closed
        case error(Int, String)
    }

    func readRequest(_ r: Reader, _ conn: HTTPConnection) -> ReadOutcome {
        var headEnd = r.find([13, 10, 13, 10])
        while headEnd == nil {
            if r.available > maxHeaderBytes { return .error(431, "The request headers are too large.") }
            guard r.fill() else { return r.available == 0 ? .closed : .error(400, "The request ended inside its headers.") }
            headEnd = r.find([13, 10, 13, 10])
        }
        if headEnd! > maxHeaderBytes { return .error(431, "The request headers are too large.") }
        let head = String(decoding: r.take(headEnd!), as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        guard !lines.isEmpty else { return .error(400, "Empty request.") }
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count == 3, requestLine[2].hasPrefix("HTTP/1.") else { return .error(400, "Malformed request line.") }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return .error(400, "Malformed header line.") }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let http10 = requestLine[2] == "HTTP/1.0"
        let connection = headers["connection"]?.lowercased() ?? ""
        let keepAlive = http10 ? connection == "keep-alive" : connection != "close"
        if headers["expect"]?.lowercased() == "100-continue" {
            if let len = headers["content-length"].flatMap(Int.init), len > maxBodyBytes {
                return .error(413, "The request body is larger than \(maxBodyBytes) bytes.")
            }
            conn.write(Data("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
        var body = [UInt8]()
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            while true {
                var lineEnd = r.find([13, 10])
                while lineEnd == nil {
                    guard r.fill() else { return .error(400, "The chunked body ended early.") }
                    lineEnd = r.find([13, 10])
                }
                let sizeLine = String(decoding: r.take(lineEnd!), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16), size >= 0 else { return .error(400, "Malformed chunk size.") }
                if body.count + size > maxBodyBytes { return .error(413, "The request body is larger than \(maxBodyBytes) bytes.") }
                while r.available < size + 2 { guard r.fill() else { return .error(400, "The chunked body ended early.") } }
                if size == 0 {
                    // Trailers, then the final CRLF.
                    while true {
                        var end = r.find([13, 10])
                        while end == nil { guard r.fill() else { return .error(400, "The chunked body ended early.") }; end = r.find([13, 10]) }
                        if r.take(end!).count == 2 { break }
                    }
                    break
                }
                body += r.take(size)
                _ = r.take(2)
            }
        } else if let lenText = headers["content-length"] {
            guard let len = Int(lenText), len >= 0 else { return .error(400, "Malformed Content-Length.") }
            if len > maxBodyBytes { return .error(413, "The request body is larger than \(maxBodyBytes) bytes.") }
            while r.available < len { guard r.fill() else { return .error(400, "The request body ended early.") } }
            body = r.take(len)
        }
        let target = String(requestLine[1])
        let parts = target.split(separator: "?", maxSplits: 1)
        var query: [(String, String)] = []
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
                query.append((kv[0], kv.count > 1 ? kv[1] : ""))
            }
        }
        let path = String(parts.first ?? "").removingPercentEncoding ?? String(parts.first ?? "")
        return .request(HTTPRequest(method: String(requestLine[0]), path: path, query: query, headers: headers, body: Data(body)), keepAlive: keepAlive)
    }

    static func errorJSON(_ status: Int, _ message: String) -> Data {
        let type = status == 401 ? "invalid_request_error" : (status >= 500 ? "server_error" : "invalid_request_error")
        return (try? WireJSON.encode(ErrorEnvelope(APIError(status: status, type: type, message: message)))) ?? Data()
    }

    func handleConnection(_ fd: Int32) {
        let reader = Reader(fd: fd)
        let conn = HTTPConnection(fd: fd)
        while true {
            let started = DispatchTime.now().uptimeNanoseconds
            switch readRequest(reader, conn) {
            case .closed:
                return
            case .error(let status, let message):
                conn.reply(status, json: Self.errorJSON(status, message), keepAlive: false)
                log?("- - \(status) 0 0ms (\(message))")
                return
            case .request(let req, let keepAlive):
                let status = handler(req, conn)
                if let log {
                    let ms = Double(DispatchTime.now().uptimeNanoseconds - started) / 1_000_000
                    log("\(req.method) \(req.path) \(status) \(req.body.count) \(String(format: "%.1f", ms))ms")
                }
                if !keepAlive || conn.broken { return }
            }
        }
    }
}
