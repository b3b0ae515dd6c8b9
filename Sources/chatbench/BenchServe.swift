import ChatEngine
import ChatServe
import Foundation

/// The `chatbench serve` figures of `chatbench bench`.
extension BenchCommand {
    /// `chatbench serve` on loopback: 8 keep-alive clients × 250 non-streamed creates (fresh
    /// conversations, no chain), requests per second and the 99th-percentile latency.
    static func serve(reps: Int, tmp: String, backend given: OfflineBackend? = nil) throws -> ([Double], [Double]) {
        let backend = try given ?? OfflineBackend(path: tmp + "/serve.sqlite")
        let routes = OpenAIRoutes(backend: backend, apiKey: nil)
        let server = HTTPServer(host: "127.0.0.1", port: 0, log: nil, gate: LoopbackGuard.check, handler: { req, conn in routes.handle(req, conn) })
        try server.bind()
        Thread.detachNewThread { server.serve() }
        defer { server.stop() }
        let body = Array(#"{"model":"offline-model","input":"My name is Priya and I'm moving to Lisbon."}"#.utf8)
        let request = Array("POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
        var rpsOut: [Double] = [], p99Out: [Double] = []
        for _ in 0..<reps {
            let (rps, p99) = try clients(port: server.port, request: request)
            rpsOut.append(rps)
            p99Out.append(p99)
        }
        return (rpsOut, p99Out)
    }

    /// The same on `serve --state redis://…`: $CHATBENCH_REDIS_URL, else a private redis-server (nil:
    /// neither, and the figures are left out).
    static func serveRedis(reps: Int, tmp: String, environment: [String: String]) throws -> ([Double], [Double])? {
        var server: Process?
        defer { if let p = server { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        var url: RedisURL
        if let given = environment["CHATBENCH_REDIS_URL"], !given.isEmpty {
            url = try RedisURL(parsing: given)
        } else {
            guard let (p, u) = try startRedis(tmp: tmp) else {
                CLI.printError("bench: serve_rps_redis left out: redis-server is not installed and CHATBENCH_REDIS_URL is not set")
                return nil
            }
            server = p
            url = u
        }
        url.keyPrefix = "chatbench-bench-serve-\(UUID().uuidString.prefix(8))"
        return try serve(reps: reps, tmp: tmp, backend: try OfflineBackend(redis: url))
    }

    /// 8 keep-alive clients × 250 requests: requests per second and the 99th-percentile latency (ms).
    static func clients(port: UInt16, request: [UInt8]) throws -> (Double, Double) {
        let clients = 8, perClient = 250
        let latencies = LatencyBox()
        let group = DispatchGroup()
        let started = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<clients {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                guard let fd = connectLoopback(port) else { latencies.fail(); return }
                defer { close(fd) }
                for _ in 0..<perClient {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    guard sendAll(fd, request), readReply(fd) == 200 else { latencies.fail(); return }
                    latencies.add(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1_000_000)
                }
            }
        }
        group.wait()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        guard latencies.failures == 0 else { throw ConfigurationError("serve bench: \(latencies.failures) requests failed") }
        let sorted = latencies.all.sorted()
        return (Double(sorted.count) / seconds, sorted[Int(Double(sorted.count - 1) * 0.99)])
    }

    /// The same 8 clients while 1,000 keep-alive connections sit idle (each made one request) and 3
    /// clients pipeline 2,000 streamed creates without ever reading: the 99th-percentile latency, and
    /// how much this process's resident memory (server and clients) grew.
    static func serveHostile(reps: Int, tmp: String) throws -> ([Double], [Double]) {
        ServeCommand.raiseDescriptorLimit(to: 4096)
        let backend = try OfflineBackend(path: tmp + "/serve-hostile.sqlite")
        let routes = OpenAIRoutes(backend: backend, apiKey: nil)
        let server = HTTPServer(host: "127.0.0.1", port: 0, log: nil, gate: LoopbackGuard.check, handler: { req, conn in routes.handle(req, conn) })
        try server.bind()
        Thread.detachNewThread { server.serve() }
        defer { server.stop() }
        let before = residentMB()
        let models = Array("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        var open: [Int32] = []
        defer { for fd in open { close(fd) } }
        for _ in 0..<1000 {
            guard let fd = connectLoopback(server.port), sendAll(fd, models), readReply(fd) == 200 else { throw ConfigurationError("serve bench: an idle connection failed") }
            open.append(fd)
        }
        let streamBody = Array(#"{"model":"offline-model","input":"Tell me everything you know about me and what I should pack.","stream":true,"store":false}"#.utf8)
        let streamRequest = Array("POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(streamBody.count)\r\n\r\n".utf8) + streamBody
        let pipelined = Array((0..<2000).map { _ in streamRequest }.joined())
        for _ in 0..<3 {
            guard let fd = connectLoopback(server.port) else { throw ConfigurationError("serve bench: a stalled client could not connect") }
            var small: Int32 = 4096
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            open.append(fd)
            Thread.detachNewThread { _ = sendAll(fd, pipelined) }   // blocks once the server stops reading; never reads
        }
        Thread.sleep(forTimeInterval: 1)
        let body = Array(#"{"model":"offline-model","input":"My name is Priya and I'm moving to Lisbon."}"#.utf8)
        let request = Array("POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
        var p99s: [Double] = [], growth: [Double] = []
        for _ in 0..<reps {
            p99s.append(try clients(port: server.port, request: request).1)
            growth.append(residentMB() - before)
        }
        return (p99s, growth)
    }

    /// This process's resident memory in MB (VmRSS).
    static func residentMB() -> Double {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? 0
    }

    final class LatencyBox: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var all: [Double] = []
        private(set) var failures = 0
        func add(_ v: Double) { lock.lock(); all.append(v); lock.unlock() }
        func fail() { lock.lock(); failures += 1; lock.unlock() }
    }

    static func connectLoopback(_ port: UInt16) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return rc == 0 ? fd : nil
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    /// Reads one HTTP reply with a Content-Length body; returns its status (0 on error).
    static func readReply(_ fd: Int32) -> Int {
        var buf = [UInt8]()
        var tmp = [UInt8](repeating: 0, count: 16384)
        var headerEnd: Int?
        var length = 0
        while true {
            let n = recv(fd, &tmp, tmp.count, 0)
            if n <= 0 { return 0 }
            buf += tmp[0..<n]
            if headerEnd == nil, let r = buf.firstRange(of: [13, 10, 13, 10]) {
                headerEnd = r.upperBound
                let head = String(decoding: buf[0..<r.lowerBound], as: UTF8.self).lowercased()
                if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }) {
                    length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let h = headerEnd, buf.count >= h + length {
                let status = String(decoding: buf[9..<12], as: UTF8.self)
                return Int(status) ?? 0
            }
        }
    }

}
