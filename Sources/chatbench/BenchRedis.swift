import ChatEngine
import Foundation

/// The session figures on Redis, beside SQLite's: `redis_session_add_100k_ms` (one addItems of
/// 100,000 items: one watched MULTI/EXEC) and `redis_session_get50_ms` (the latest 50 of a
/// 100,000-item list; a Redis list is read from its tail, so its length does not matter).
/// The server is CHATBENCH_REDIS_URL's (keys under a unique prefix, deleted afterwards), else a
/// private redis-server started in the temporary folder; without either the figures are left out.
extension BenchCommand {
    static func redisFigures(reps: Int, tmp: String, environment: [String: String]) throws -> [Figure] {
        var server: Process?
        defer { if let p = server { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }   // SIGKILL: a signal mask inherited from chatbench may block SIGTERM
        var url: RedisURL
        if let given = environment["CHATBENCH_REDIS_URL"], !given.isEmpty {
            url = try RedisURL(parsing: given)
        } else {
            guard let (p, u) = try startRedis(tmp: tmp) else {
                CLI.printError("bench: redis figures left out: redis-server is not installed and CHATBENCH_REDIS_URL is not set")
                return []
            }
            server = p
            url = u
        }
        url.keyPrefix = "chatbench-bench-\(UUID().uuidString.prefix(8))"
        url.timeout = 60
        let client = RedisClient(url: url)
        let items = (0..<scaled(100_000)).map { Item.userText("Item \($0): what should I pack for the trip?") }
        var add: [Double] = []
        for r in 0..<reps {
            let s = RedisAgentSession(sessionID: "add-\(r)", client: client)
            add.append(try ms { try s.addItems(items) })
            if r < reps - 1 { try s.clearSession() }
        }
        let s = RedisAgentSession(sessionID: "add-\(reps - 1)", client: client)
        guard try s.getItems(limit: 50).count == 50 else { throw ConfigurationError("redis bench: wrong item count") }
        let get = try (0..<(reps * 20)).map { _ in try ms { _ = try s.getItems(limit: 50) } }
        try s.clearSession()
        return [Figure(name: "redis_session_add_100k_ms", unit: "ms", samples: add, target: nil),
                Figure(name: "redis_session_get50_ms", unit: "ms", samples: get, target: .atMost(1))]
    }

    /// A redis-server on a free loopback port that saves nothing; nil when none is installed.
    static func startRedis(tmp: String) throws -> (Process, RedisURL)? {
        guard let binary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return nil
        }
        for _ in 0..<5 {
            let port = Int.random(in: 20_000..<60_000)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--dir", tmp, "--save", "", "--appendonly", "no", "--logfile", tmp + "/redis.log"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            var url = RedisURL(host: "127.0.0.1", port: port)
            url.timeout = 1
            for _ in 0..<100 where p.isRunning {
                if (try? RedisClient(url: url).call("PING")) == .simple("PONG") { return (p, url) }
                Thread.sleep(forTimeInterval: 0.05)
            }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        throw ConfigurationError("redis bench: could not start redis-server (see \(tmp)/redis.log)")
    }
}
