import Foundation
import ChatEngine

/// A private `redis-server` for one test: a free loopback port, a temporary folder, nothing saved,
/// stopped when the test is done. `nil` (with a message) where redis-server is not installed.
public final class RedisServer: @unchecked Sendable {
    public let port: Int
    public let dir: String
    public let password: String?
    /// Keeps the data across `stop()` and `launch()` (append-only file, written on every command).
    public let persistent: Bool
    private var process: Process?
    public var pid: pid_t { process?.processIdentifier ?? 0 }

    public static let binary: String? = ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Starts a server, or prints why not and returns nil (install redis-server: see .ci/setup).
    /// `nextPort` picks each attempt's port (tests of this retry choose it).
    public static func start(password: String? = nil, persistent: Bool = false, nextPort: () throws -> Int = freePort,
                             _ caller: String = #function) throws -> RedisServer? {
        guard binary != nil else {
            print("\(caller): skipped: redis-server is not installed (apt-get install redis-server; .ci/setup does it)")
            return nil
        }
        // Another process may take the free port before redis-server binds it: then it exits at once,
        // and a fresh port is tried.
        var lastError: Error?
        for _ in 0..<5 {
            let s = RedisServer(port: try nextPort(), password: password, persistent: persistent)
            do {
                try s.launch()
                return s
            } catch let e as RedisServerError where e.exited {
                lastError = e
            }
        }
        throw lastError!
    }

    private init(port: Int, password: String?, persistent: Bool) {
        self.port = port
        self.password = password
        self.persistent = persistent
        dir = NSTemporaryDirectory() + "chatbench-redis-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    public var url: String { "redis://127.0.0.1:\(port)/0" }
    public var redisURL: RedisURL { RedisURL(host: "127.0.0.1", port: port) }

    /// (Re)starts the server on its port and waits until it answers: up to 60 s, as a loaded
    /// machine running the whole suite can be slow to start a process.
    public func launch() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary!)
        var args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--daemonize", "no", "--logfile", dir + "/redis.log"]
        args += persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]
        if let password { args += ["--requirepass", password] }
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        var u = redisURL
        u.password = password
        u.timeout = 1
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            // The answer must come from this process, not from another server that holds the port.
            let info = (try? RedisClient(url: u).call("INFO", "server"))?.string ?? ""
            if info.contains("process_id:\(p.processIdentifier)\r\n") { return }
            if !p.isRunning {
                process = nil
                throw RedisServerError(message: "the test redis-server on port \(port) exited: \(logTail)", exited: true)
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        stop()
        throw RedisServerError(message: "the test redis-server on port \(port) did not answer in 60 s: \(logTail)")
    }

    /// The end of the server's log, for an error message (the folder is removed with the server).
    private var logTail: String {
        let log = (try? String(contentsOfFile: dir + "/redis.log", encoding: .utf8)) ?? "(no log)"
        return String(log.suffix(600))
    }

    /// Stops the server (SIGKILL: as abrupt as a crash) and waits for it to exit.
    public func stop() {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    /// A loopback port nobody listens on right now.
    public static func freePort() throws -> Int {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) == 0 && getsockname(s, $0, &len) == 0 }
        }
        guard ok else { throw RedisServerError(message: "no free loopback port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// Why a test's redis-server could not be had.
public struct RedisServerError: Error, CustomStringConvertible {
    public let message: String
    /// The server process ended before answering (for example: its port was taken).
    public var exited = false
    public init(message: String, exited: Bool = false) {
        self.message = message
        self.exited = exited
    }
    public var description: String { message }
}
