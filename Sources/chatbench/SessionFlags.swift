import ChatEngine
import Foundation

/// The session flags `send` and the screen share (--session, --mode, --policy, --profile, --backend,
/// --base-url, --api, --model, --session-db, --store): one place that turns them into an open workbench and session.
enum SessionFlags {
    static func mode(_ inv: Invocation) throws -> MemoryMode? {
        guard let m = inv.value("--mode") else { return nil }
        guard let parsed = MemoryMode(rawValue: m) else {
            throw ConfigurationError("unknown mode '\(m)' (choose chain, conversation, client, hybrid or layered)")
        }
        return parsed
    }

    /// The client store asked for: --session-db FILE or --store redis://…; for a new session without
    /// either (and not asked to be server-managed), CHATBENCH_REDIS_URL when it is set.
    static func clientStore(_ inv: Invocation, newSession: Bool, mode: MemoryMode?) throws -> String? {
        let file = inv.value("--session-db"), store = inv.value("--store")
        if file != nil && store != nil { throw ConfigurationError("--session-db and --store both choose the client store: give one") }
        if let store {
            guard RedisURL.isRedis(store) else { throw ConfigurationError("--store takes a redis://host:port/db URL (for an SDK SQLite file use --session-db)") }
            return store
        }
        if let file { return file }
        if newSession, mode == nil || mode == .client, let env = inv.environment["CHATBENCH_REDIS_URL"], !env.isEmpty {
            guard RedisURL.isRedis(env) else { throw ConfigurationError("CHATBENCH_REDIS_URL must be a redis://host:port/db URL") }
            return env
        }
        return nil
    }

    /// Opens the workbench and session like `open`, then `--attach`es it if asked. An attach that fails
    /// leaves nothing behind: a session this call created is deleted again.
    static func openAndAttach(_ inv: Invocation, streamDelay: Duration = .zero) async throws -> (Workbench, SessionRecord) {
        let (bench, session, created) = try open(inv, streamDelay: streamDelay)
        guard let id = inv.value("--attach") else { return (bench, session) }
        do {
            return (bench, try await Runner(store: bench.store, backend: bench.backend).attach(id, to: session.name))
        } catch {
            if created { try? bench.store.deleteSession(session.name) }
            throw error
        }
    }

    /// Opens the workbench for the named (else last used) session and opens that session with the flags.
    /// `created`: the session did not exist before.
    static func open(_ inv: Invocation, streamDelay: Duration = .zero) throws -> (Workbench, SessionRecord, created: Bool) {
        let mode = try mode(inv)
        let paths = Paths(environment: inv.environment)
        // A --session-db in a folder that does not exist is refused before anything is created.
        if let file = inv.value("--session-db") {
            let folder = (URL(fileURLWithPath: file).standardizedFileURL.path as NSString).deletingLastPathComponent
            guard FileManager.default.fileExists(atPath: folder) else {
                throw ConfigurationError("--session-db \(file): its folder \(folder) does not exist (nothing was created)")
            }
        }
        try Paths.ensureDirectory(paths.dataDirectory)
        let probe = try WorkbenchStore(path: paths.workbenchDatabase)
        Trace.mark("store opened")
        let name = inv.value("--session") ?? Workbench.defaultSessionName(store: probe)
        let existing = try probe.session(named: name)
        let backendName = try Workbench.chooseBackend(explicit: inv.value("--backend"), session: existing, environment: inv.environment)
        let flags = Workbench.Connection(baseURL: inv.value("--base-url"), api: inv.value("--api"), model: inv.value("--model"), environment: inv.environment)
        let bench = try Workbench(paths: paths, backendName: backendName, streamDelay: streamDelay,
                                  connection: Workbench.connection(flags: flags, session: existing))
        Trace.mark("workbench opened")
        let session = try bench.openSession(name: name, options: .init(mode: mode, policy: inv.value("--policy"), profile: inv.value("--profile"),
                                                                       clientDB: try clientStore(inv, newSession: existing == nil, mode: mode),
                                                                       model: backendName == "offline" ? nil : inv.value("--model"),
                                                                       serverPolicy: inv.value("--server-policy")))
        return (bench, session, existing == nil)
    }
}
