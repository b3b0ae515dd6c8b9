import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small blocking Redis client over one TCP connection: RESP2, pipelining, AUTH and SELECT.
/// It connects lazily and again after a failure, so a Redis that comes back is used again. A command
/// in flight when the connection fails is reported, never silently retried, with one exception: a
/// kept connection found dead when it is reused (see `pipeline`).
public final class RedisClient: @unchecked Sendable {
    public let url: RedisURL
    private let lock = NSRecursiveLock()
    private var fd: Int32 = -1
    private var reader: RESPReader?
    /// Reply bytes received since the last send (0: the server has not started answering).
    private var received = 0
    /// Nesting of `exclusive`, and whether the outermost section has sent anything yet.
    private var depth = 0
    private var sentInSection = false
    /// Bytes per `recv`.
    private static let chunk = 64 * 1024

    public init(url: RedisURL) {
        self.url = url
    }

    deinit { disconnect() }

    /// Runs `body` with the connection to itself (a WATCH … EXEC sequence needs that).
    public func exclusive<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        depth += 1
        if depth == 1 { sentInSection = false }
        defer {
            depth -= 1
            lock.unlock()
        }
        return try body()
    }

    /// One command; an error reply is thrown.
    @discardableResult
    public func call(_ args: String...) throws -> RESPValue { try call(args) }

    @discardableResult
    public func call(_ args: [String]) throws -> RESPValue {
        let reply = try pipeline([args])[0]
        if case .error(let e) = reply { throw RedisError.reply(e, endpoint: url.endpoint) }
        return reply
    }

    /// Sends all commands at once and reads one reply each; error replies are returned, not thrown.
    public func pipeline(_ commands: [[String]]) throws -> [RESPValue] {
        try exclusive {
            var bytes: [UInt8] = []
            for c in commands { bytes += RESPEncoder.command(c.map { Array($0.utf8) }) }
            // A kept connection may have been closed by the server while idle (Redis restarted, or
            // dropped idle clients). Sending on it then fails, or the read meets EOF before any byte of
            // a reply: the server that closed it never read the command, so it is sent once more on a
            // fresh connection. Only then: not when a reply had begun (it may have run), not on a
            // timeout (it may still run), not on a connection made for this call, and not after the
            // connection was already used in this `exclusive` section (a WATCH on it would be lost).
            var mayRetry = fd >= 0 && !sentInSection
            while true {
                try connectIfNeeded()
                sentInSection = true
                do {
                    received = 0
                    try send(bytes)
                    return try commands.map { _ in try reader!.read() }
                } catch let e as RedisError {
                    disconnect()   // the stream position is unknown now: start afresh next time
                    guard mayRetry, e.kind == .connection, received == 0 else { throw e }
                    mayRetry = false
                }
            }
        }
    }

    public func disconnect() {
        lock.lock()
        defer { lock.unlock() }
        if fd >= 0 { close(fd) }
        fd = -1
        reader = nil
    }

    // MARK: Connection

    private func fail(_ kind: RedisError.Kind, _ message: String) -> RedisError {
        RedisError(kind, message, endpoint: url.endpoint)
    }

    private func connectIfNeeded() throws {
        guard fd < 0 else { return }
        let socket = try openSocket()
        fd = socket
        reader = RESPReader { [weak self] buf in
            guard let self else { return false }
            return try self.receive(into: &buf)
        }
        do {
            if let password = url.resolvedPassword() {
                let auth = url.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]
                try expectOK(auth)
            }
            if url.db != 0 { try expectOK(["SELECT", String(url.db)]) }
        } catch {
            disconnect()
            throw error
        }
    }

    private func expectOK(_ command: [String]) throws {
        try send(RESPEncoder.command(command.map { Array($0.utf8) }))
        let reply = try reader!.read()
        if case .error(let e) = reply { throw RedisError.reply(e, endpoint: url.endpoint) }
    }

    private func openSocket() throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(url.host, String(url.port), &hints, &list)
        guard rc == 0, let first = list else {
            throw fail(.connection, "cannot resolve host '\(url.host)': \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            ai = a.pointee.ai_next
            let s = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            if s < 0 { lastError = String(cString: strerror(errno)); continue }
            if let why = connect(s, a.pointee.ai_addr, a.pointee.ai_addrlen) {
                close(s)
                lastError = why
                continue
            }
            return s
        }
        throw fail(.connection, "cannot connect: \(lastError) (is redis-server running there?)")
    }

    /// Connects with the URL's timeout; returns why not, or nil when connected.
    private func connect(_ s: Int32, _ addr: UnsafeMutablePointer<sockaddr>, _ len: socklen_t) -> String? {
        let flags = fcntl(s, F_GETFL, 0)
        _ = fcntl(s, F_SETFL, flags | O_NONBLOCK)
        if Glibc.connect(s, addr, len) != 0 {
            guard errno == EINPROGRESS else { return String(cString: strerror(errno)) }
            var p = pollfd(fd: s, events: Int16(POLLOUT), revents: 0)
            let n = poll(&p, 1, Int32(url.timeout * 1000))
            if n == 0 { return "timed out after \(url.timeout)s" }
            var err: Int32 = 0
            var errLen = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &errLen)
            if n < 0 || err != 0 { return String(cString: strerror(err != 0 ? err : errno)) }
        }
        _ = fcntl(s, F_SETFL, flags)
        var tv = timeval(tv_sec: Int(url.timeout), tv_usec: Int((url.timeout - url.timeout.rounded(.down)) * 1_000_000))
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return nil
    }

    private func send(_ bytes: [UInt8]) throws {
        var sent = 0
        try bytes.withUnsafeBytes { raw in
            while sent < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN || errno == EWOULDBLOCK { throw fail(.timeout, "no progress sending for \(url.timeout)s") }
                    throw fail(.connection, "the connection was lost (\(String(cString: strerror(errno))))")
                }
                sent += n
            }
        }
    }

    private func receive(into buf: inout [UInt8]) throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: Self.chunk)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, Self.chunk, 0) }
            if n > 0 {
                received += n
                buf += chunk[0..<n]
                return true
            }
            if n == 0 { throw fail(.connection, "the connection was closed by the server") }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw fail(.timeout, "no reply within \(url.timeout)s") }
            throw fail(.connection, "the connection was lost (\(String(cString: strerror(errno))))")
        }
    }
}
