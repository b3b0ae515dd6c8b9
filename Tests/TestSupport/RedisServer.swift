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
    public static func start(password: String? = nil, persistent: Bool = false, _ caller: String = #function) throws -> RedisServer? {
        guard binary != nil else {
            print("\(caller): skipped: redis-server is not installed (apt-get install redis-server; .ci/setup does it)")
            return nil
        }
        let s = RedisServer(port: try freePort(), password: password, persistent: persistent)
        try s.launch()
        return s
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

    /// (Re)starts the server on its port and waits until it answers PING.
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
        for _ in 0..<200 {
            let c = RedisClient(url: u)
            if (try? c.call("PING")) == .simple("PONG") { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw RedisServerError(message: "the test redis-server on port \(port) did not start (see \(dir)/redis.log)")
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
    public var description: String { message }
}
