import ChatEngine
import CLinuxIO
import Foundation

/// The HTTP/1.1 server of `chatbench serve`. One event-loop thread (epoll) accepts connections and
/// reads requests without blocking, so idle, slow or stalled clients cost a buffer each and no thread;
/// a complete request goes to a fixed pool of worker threads, which run the handler and write the reply.
/// A worker's write waits for a stalled reader at most the send timeout, then drops that client.
/// Nothing blocks on Swift's cooperative pool. Limits: a connection cap (503 past it), a deadline for
/// the whole head, a receive timeout inside a body, an idle timeout between requests, and EMFILE
/// handled with a spare descriptor (the connection is answered 503 and closed, never left to spin).
public final class HTTPServer: @unchecked Sendable {
    public typealias Handler = @Sendable (HTTPRequest, HTTPConnection) -> Int   // returns the status sent
    /// Runs on the head alone, before any body byte is read: a refusal is sent and the connection closed.
    public typealias Gate = @Sendable (HTTPRequestHead) -> HTTPRefusal?

    public struct Options: Sendable {
        public var limits = HTTPRequestParser.Limits()
        public var idleTimeout = 30.0      // seconds between requests on a keep-alive connection
        public var headerTimeout = 10.0    // seconds from a request's first byte to the end of its head
        public var receiveTimeout = 30.0   // seconds without a byte inside a body
        public var sendTimeout = 10.0      // seconds a reply write may make no progress
        public var maxConnections = 4096
        public var workers = 16
        public init() {}
    }

    public let host: String
    public private(set) var port: UInt16
    let options: Options
    let handler: Handler
    let gate: Gate
    let log: (@Sendable (String) -> Void)?
    private var listenFD: Int32 = -1
    private var epollFD: Int32 = -1
    private var wakeFD: Int32 = -1
    private var spareFD: Int32 = -1
    private let stopped = Atomic()
    private let jobs = JobQueue()
    private let returned = ReturnQueue()

    public init(host: String, port: UInt16, options: Options = Options(), log: (@Sendable (String) -> Void)?,
                gate: @escaping Gate = { _ in nil }, handler: @escaping Handler) {
        self.host = host
        self.port = port
        self.options = options
        self.log = log
        self.gate = gate
        self.handler = handler
    }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Binds and listens (port 0 picks a free one; `port` then holds it).
    public func bind() throws {
        signal(SIGPIPE, SIG_IGN)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
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
        guard listen(fd, 1024) == 0 else { close(fd); throw StartError(description: "listen failed: \(String(cString: strerror(errno)))") }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = UInt16(bigEndian: bound.sin_port)
        listenFD = fd
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard epollFD >= 0, wakeFD >= 0 else { throw StartError(description: "epoll failed: \(String(cString: strerror(errno)))") }
        watch(listenFD)
        watch(wakeFD)
    }

    /// Runs the event loop on the calling thread until `stop`.
    public func serve() {
        for _ in 0..<max(1, options.workers) { Thread.detachNewThread { [self] in work() } }
        var conns: [Int32: Conn] = [:]
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var lastSweep = now()
        var listenPausedUntil = 0.0
        while !stopped.value {
            let n = epoll_wait(epollFD, &events, Int32(events.count), 200)
            let t = now()
            for i in 0..<max(0, Int(n)) {
                let fd = events[i].data.fd
                if fd == listenFD {
                    if !acceptAll(&conns, t) { unwatch(listenFD); listenPausedUntil = t + 0.1 }
                } else if fd == wakeFD {
                    var v: UInt64 = 0
                    _ = read(wakeFD, &v, 8)
                    for (cfd, keep) in returned.takeAll() {
                        guard let c = conns[cfd] else { continue }
                        c.busy = false
                        c.lastRead = t
                        if keep { watch(cfd); drive(c, &conns, t) } else { drop(c, &conns) }
                    }
                } else if let c = conns[fd], !c.busy {
                    readable(c, &conns, t)
                }
            }
            if listenPausedUntil > 0 && t >= listenPausedUntil { listenPausedUntil = 0; watch(listenFD) }
            if t - lastSweep >= 0.2 { lastSweep = t; sweep(&conns, t) }
        }
        for c in conns.values where !c.busy { close(c.fd) }
        close(listenFD)
        listenFD = -1
    }

    public func stop() {
        stopped.set()
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: The loop's connections

    final class Conn {
        let fd: Int32
        var parser: HTTPRequestParser
        var lastRead: Double
        var headStart: Double?      // the current request's first byte
        var started: UInt64 = 0     // for the access log
        var busy = false            // a worker owns the socket
        var drainUntil: Double?     // refused: reading and discarding until the peer closes
        init(fd: Int32, limits: HTTPRequestParser.Limits, now: Double) {
            self.fd = fd
            parser = HTTPRequestParser(limits: limits)
            lastRead = now
        }
    }

    func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    func watch(_ fd: Int32) {
        var ev = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(fd: fd))
        epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &ev)
    }

    func unwatch(_ fd: Int32) { epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil) }

    /// Accepts what is pending; false when out of descriptors even after freeing the spare one.
    func acceptAll(_ conns: inout [Int32: Conn], _ t: Double) -> Bool {
        while true {
            let c = accept(listenFD, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                if errno == EMFILE || errno == ENFILE {
                    // Out of descriptors: free the spare, answer this client 503 and close it.
                    close(spareFD)
                    let c2 = accept(listenFD, nil, nil)
                    if c2 >= 0 { quickReply(c2, 503, "The server is out of file descriptors; try again later."); close(c2) }
                    spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
                    if c2 < 0 || spareFD < 0 { return false }
                    continue
                }
                return true   // EAGAIN: nothing more pending
            }
            if conns.count >= options.maxConnections {
                quickReply(c, 503, "Too many connections (at most \(options.maxConnections)); try again later.")
                close(c)
                continue
            }
            _ = fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK)
            _ = fcntl(c, F_SETFD, FD_CLOEXEC)
            var one: Int32 = 1
            setsockopt(c, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            conns[c] = Conn(fd: c, limits: options.limits, now: t)
            watch(c)
        }
    }

    /// A small reply written without waiting (it fits the socket buffer), for refusals.
    func quickReply(_ fd: Int32, _ status: Int, _ message: String, json: Data? = nil, headers: [(String, String)] = []) {
        let body = json ?? HTTPConnection.errorJSON(status, message)
        var d = HTTPConnection.head(status, [("Content-Type", "application/json"), ("Content-Length", String(body.count)), ("Connection", "close")] + headers)
        d.append(body)
        _ = d.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
    }

    func readable(_ c: Conn, _ conns: inout [Int32: Conn], _ t: Double) {
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = recv(c.fd, &buf, buf.count, 0)
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
        if n <= 0 { drop(c, &conns); return }
        if c.drainUntil != nil { return }
        if c.parser.isIdle && c.headStart == nil { c.headStart = t; c.started = DispatchTime.now().uptimeNanoseconds }
        c.lastRead = t
        c.parser.feed(buf[0..<n])
        drive(c, &conns, t)
    }

    /// Runs the parser over what is buffered: checks a head at once, hands a whole request to a worker.
    func drive(_ c: Conn, _ conns: inout [Int32: Conn], _ t: Double) {
        while true {
            switch c.parser.next() {
            case .needMore:
                if c.headStart == nil && !c.parser.isIdle { c.headStart = t; c.started = DispatchTime.now().uptimeNanoseconds }
                return
            case .head(let h):
                if c.headStart == nil { c.headStart = t; c.started = DispatchTime.now().uptimeNanoseconds }   // a pipelined request
                if let r = gate(h) {
                    refuse(c, r.status, json: r.json, headers: r.headers, what: "\(h.method) \(h.target)")
                    return
                }
                if h.expectContinue { _ = Data("HTTP/1.1 100 Continue\r\n\r\n".utf8).withUnsafeBytes { send(c.fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) } }
            case .request(let h, let body):
                c.busy = true
                c.headStart = nil
                unwatch(c.fd)
                jobs.push(Job(fd: c.fd, head: h, body: body, started: c.started))
                return
            case .failure(let e):
                refuse(c, e.status, json: HTTPConnection.errorJSON(e.status, e.message), headers: [], what: "- - (\(e.message))")
                return
            }
        }
    }

    /// Answers with Connection: close, then reads and drops what the client still sends (so the
    /// reply is not lost to a reset) until it closes or two seconds pass.
    func refuse(_ c: Conn, _ status: Int, json: Data, headers: [(String, String)], what: String) {
        quickReply(c.fd, status, "", json: json, headers: headers)
        shutdown(c.fd, Int32(SHUT_WR))
        c.drainUntil = now() + 2
        log?("\(OutsideText.line(what)) \(status) 0 0.0ms")
    }

    func drop(_ c: Conn, _ conns: inout [Int32: Conn]) {
        conns.removeValue(forKey: c.fd)
        close(c.fd)
    }

    /// Closes what has waited too long: refused clients, idle keep-alives, slow heads (408), stalled bodies (408).
    func sweep(_ conns: inout [Int32: Conn], _ t: Double) {
        for c in Array(conns.values) where !c.busy {
            if let until = c.drainUntil {
                if t >= until { drop(c, &conns) }
            } else if let start = c.headStart {
                let slowHead = c.parser.isIdle == false && t - start > options.headerTimeout && !c.parser.inBody
                if slowHead || (c.parser.inBody && t - c.lastRead > options.receiveTimeout) {
                    refuse(c, 408, json: HTTPConnection.errorJSON(408, "The request did not arrive in time."), headers: [], what: "- -")
                }
            } else if t - c.lastRead > options.idleTimeout {
                drop(c, &conns)
            }
        }
    }

    // MARK: Workers

    struct Job: @unchecked Sendable {
        var fd: Int32
        var head: HTTPRequestHead
        var body: [UInt8]
        var started: UInt64
    }

    func work() {
        while let job = jobs.pop() { perform(job) }
    }

    /// Runs one request's handler, logs it and hands the connection back to the loop.
    func perform(_ job: Job) {
        let conn = HTTPConnection(fd: job.fd, sendTimeoutMs: Int32(min(options.sendTimeout * 1000, 3_600_000)), isHead: job.head.method == "HEAD")
        var req = HTTPRequest(head: job.head, body: job.body)
        req.keepAlive = job.head.keepAlive
        let status = handler(req, conn)
        if let log {
            let ms = Double(DispatchTime.now().uptimeNanoseconds - job.started) / 1_000_000
            log("\(OutsideText.line(req.method)) \(OutsideText.line(req.path)) \(status) \(req.body.count) \(String(format: "%.1f", ms))ms")
        }
        returned.push(job.fd, keep: job.head.keepAlive && !conn.broken)
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    final class JobQueue: @unchecked Sendable {
        private let cond = NSCondition()
        private var items: [Job] = []
        func push(_ j: Job) { cond.lock(); items.append(j); cond.signal(); cond.unlock() }
        /// The next job, waiting for one (never nil; optional so the worker loop has an exit).
        func pop() -> Job? {
            cond.lock()
            defer { cond.unlock() }
            while items.isEmpty { cond.wait() }
            return items.removeFirst()
        }
    }

    final class ReturnQueue: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [(Int32, Bool)] = []
        func push(_ fd: Int32, keep: Bool) { lock.lock(); items.append((fd, keep)); lock.unlock() }
        func takeAll() -> [(Int32, Bool)] { lock.lock(); defer { lock.unlock() }; let out = items; items = []; return out }
    }

    final class Atomic: @unchecked Sendable {
        private let lock = NSLock()
        private var flag = false
        var value: Bool { lock.lock(); defer { lock.unlock() }; return flag }
        func set() { lock.lock(); flag = true; lock.unlock() }
    }
}
