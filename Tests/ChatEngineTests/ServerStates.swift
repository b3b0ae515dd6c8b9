import Foundation
import Testing
import TestSupport
@testable import ChatEngine

/// The two places the offline server's state can live; the backend's behaviour suites run on both.
enum ServerStateKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, redis
    var testDescription: String { rawValue }
}

/// One test's server state: an SQLite database (in memory, or a file when it must be reopened) or a
/// private redis-server with its own key prefix. `backend()` opens a backend on it (each call on the
/// same state, except in-memory SQLite, which is a fresh database every time).
final class StateRig: @unchecked Sendable {
    let kind: ServerStateKind
    let redis: RedisServer?
    let dir = TempDir()
    let file: Bool
    let prefix = "test-\(UUID().uuidString.prefix(8))"

    /// nil (with a message) for Redis where redis-server is not installed.
    static func make(_ kind: ServerStateKind, file: Bool = false, _ caller: String = #function) throws -> StateRig? {
        switch kind {
        case .sqlite: return StateRig(kind, nil, file)
        case .redis:
            guard let server = try SharedRedis.server.get() else {
                print("\(caller): skipped: redis-server is not installed (apt-get install redis-server; .ci/setup does it)")
                return nil
            }
            return StateRig(kind, server, file)
        }
    }

    private init(_ kind: ServerStateKind, _ redis: RedisServer?, _ file: Bool) {
        self.kind = kind
        self.redis = redis
        self.file = file
    }

    var redisURL: RedisURL? {
        guard var u = redis?.redisURL else { return nil }
        u.keyPrefix = prefix
        return u
    }

    func backend(model: TextModel = OfflineModel(), streamDelay: Duration = .zero, answerer: Answerer? = nil, settings: OfflineBackend.ServerSettings = .init(),
                 clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws -> OfflineBackend {
        if let url = redisURL { return try OfflineBackend(redis: url, model: model, streamDelay: streamDelay, answerer: answerer, settings: settings, clock: clock) }
        if file || answerer != nil {
            return try OfflineBackend(path: dir.file("offline-server.sqlite"), model: model, streamDelay: streamDelay, answerer: answerer, settings: settings, clock: clock)
        }
        return try OfflineBackend(inMemoryWith: model, streamDelay: streamDelay, settings: settings, clock: clock)
    }

    /// A raw connection to the test's Redis (nil for SQLite).
    var client: RedisClient? { redisURL.map { RedisClient(url: $0) } }

    /// Removes a response's stored items behind the server's back.
    func removeItems(of b: OfflineBackend, _ id: String) throws {
        if let c = client {
            try c.call("DEL", "\(prefix):ri:\(id)", "\(prefix):ro:\(id)")
        } else {
            try b.db.execute("DELETE FROM response_items WHERE response_id = ?", [.text(id)])
        }
    }

    /// The stored depth of a response.
    func depth(of b: OfflineBackend, _ id: String) throws -> Int? {
        if let c = client { return try c.call("HGET", "\(prefix):r:\(id)", "depth").int.map(Int.init) }
        return try b.db.query("SELECT depth FROM responses WHERE id = ?", [.text(id)]).first?[0].int
    }

    /// How many items a conversation holds, deleted or not.
    func storedItemCount(of b: OfflineBackend, conversation id: String) throws -> Int {
        if let c = client { return Int(try c.call("ZCARD", "\(prefix):ci:\(id)").int ?? -1) }
        return try b.db.query("SELECT count(*) FROM conversation_items WHERE conversation_id = ?", [.text(id)])[0][0].int ?? -1
    }

    /// (The shared redis-server lives until the test process exits.)
    func close() {}
}

/// One private redis-server for every rig of this test process (each rig has its own key prefix, so
/// tests never see each other's keys): dozens of servers starting at once on two cores did not always
/// come up in time. Killed when the process exits.
enum SharedRedis {
    nonisolated(unsafe) static var pid: pid_t = 0
    static let server: Result<RedisServer?, Error> = Result {
        guard let s = try RedisServer.start("shared redis-server for the state tests") else { return nil }
        pid = s.pid
        atexit { if SharedRedis.pid > 0 { kill(SharedRedis.pid, SIGKILL) } }
        return s
    }
}
