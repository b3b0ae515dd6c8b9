import Foundation

/// A configuration problem the user can fix (bad flag value, unknown backend): exit code 2.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Opens what a command needs — the workbench store, a backend, the session — the same way for every
/// entry point (CLI subcommands and the screen).
public final class Workbench: @unchecked Sendable {
    public let paths: Paths
    public let store: WorkbenchStore
    public let backend: ResponsesBackend

    public static let knownBackends = ["offline", "openai", "gateway"]

    /// The backend to use: an explicit choice, else the session's, else OpenAI when a key is set, else offline.
    public static func chooseBackend(explicit: String?, session: SessionRecord?, environment: [String: String]) throws -> String {
        if let explicit {
            guard knownBackends.contains(explicit) else {
                throw ConfigurationError("unknown backend '\(explicit)'; choose one of: \(knownBackends.joined(separator: ", "))")
            }
            return explicit
        }
        if let s = session { return s.backend }
        if let key = environment["OPENAI_API_KEY"], !key.isEmpty { return "openai" }
        return "offline"
    }

    /// How to reach an HTTP backend: `--base-url`, `--api responses|chat`, `--model`.
    public struct Connection: Sendable {
        public var baseURL: String?
        public var api: String?
        public var model: String?
        public var environment: [String: String]
        public init(baseURL: String? = nil, api: String? = nil, model: String? = nil, environment: [String: String] = [:]) {
            self.baseURL = baseURL
            self.api = api
            self.model = model
            self.environment = environment
        }
    }

    public init(paths: Paths, backendName: String, streamDelay: Duration = .zero, connection: Connection = Connection()) throws {
        self.paths = paths
        self.connection = connection
        try Paths.ensureDirectory(paths.dataDirectory)
        store = try WorkbenchStore(path: paths.workbenchDatabase)
        switch backendName {
        case "offline":
            if connection.api == "chat" { throw ConfigurationError("--api chat needs --backend openai (the offline backend speaks the Responses API)") }
            backend = try OfflineBackend(path: paths.offlineServerDatabase, streamDelay: streamDelay,
                                         settings: try .from(environment: connection.environment))
        case "openai":
            let config = try HTTPConfig.fromEnvironment(connection.environment, baseURL: connection.baseURL)
            if let warning = config.plainHTTPWarning { HTTPConfig.warnOnce(warning) }
            let model = connection.model ?? connection.environment["OPENAI_MODEL"].flatMap { $0.isEmpty ? nil : $0 } ?? "gpt-4.1-mini"
            switch connection.api ?? "responses" {
            case "responses": backend = OpenAIBackend(config: config, defaultModel: model)
            case "chat": backend = ChatCompletionsBackend(config: config, defaultModel: model)
            case let other: throw ConfigurationError("unknown API '\(other)'; use responses or chat")
            }
        case "gateway":
            // chatbench keeps the Responses state (as the offline backend does); a Chat Completions
            // server at --base-url answers each turn from the rebuilt context.
            if connection.api == "chat" { throw ConfigurationError("--backend gateway already talks Chat Completions to --base-url; drop --api chat") }
            let config = try HTTPConfig.fromEnvironment(connection.environment, baseURL: connection.baseURL)
            let model = connection.model ?? connection.environment["OPENAI_MODEL"].flatMap { $0.isEmpty ? nil : $0 } ?? "gpt-4.1-mini"
            backend = try OfflineBackend(path: paths.gatewayServerDatabase, answerer: ChatCompletionsAnswerer(config: config, model: nil, defaultModel: model),
                                         settings: try .from(environment: connection.environment))
        default:
            throw ConfigurationError("unknown backend '\(backendName)'; choose one of: \(Self.knownBackends.joined(separator: ", "))")
        }
    }

    /// The connection for a session: flags win, else what the session recorded. The session keeps
    /// its base URL without credentials: when $OPENAI_BASE_URL is that URL with them, it is used.
    public static func connection(flags: Connection, session: SessionRecord?) -> Connection {
        var c = flags
        if c.baseURL == nil, let stored = session?.baseURL {
            let env = flags.environment["OPENAI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
            c.baseURL = env.map(HTTPConfig.withoutCredentials) == stored ? env : stored
        }
        if c.api == nil { c.api = session?.api }
        return c
    }

    public let connection: Connection

    /// Chat Completions servers keep no state: only client mode works there.
    public var statelessAPI: Bool { backend is ChatCompletionsBackend }

    /// What a command line or the screen asks of a session; nil fields keep the session's own.
    public struct SessionOptions: Sendable {
        public var mode: MemoryMode?
        public var policy: String?
        public var profile: String?
        public var clientDB: String?
        public var model: String?
        /// `ServerPolicy` text for the server modes.
        public var serverPolicy: String?
        public init(mode: MemoryMode? = nil, policy: String? = nil, profile: String? = nil, clientDB: String? = nil, model: String? = nil,
                    serverPolicy: String? = nil) {
            self.mode = mode
            self.policy = policy
            self.serverPolicy = serverPolicy
            self.profile = profile
            self.clientDB = clientDB
            self.model = model
        }

        /// A new session started from `s` (the screen's Ctrl-N): the same mode, policies and profile,
        /// so the user's long-term memory (facts, other sessions as episodes) goes on; not its store.
        public static func like(_ s: SessionRecord?) -> SessionOptions {
            guard let s else { return SessionOptions() }
            return SessionOptions(mode: s.mode, policy: s.policy, profile: s.profile, serverPolicy: s.serverPolicy)
        }
    }

    /// Opens the session `name`, creating it on first use. A `mode` that differs from the session's
    /// switches it; the runner then carries what the new mode's store lacks.
    public func openSession(name: String, options o: SessionOptions = SessionOptions()) throws -> SessionRecord {
        if let policy = o.policy {
            let parsed = try MemoryPolicy(parsing: policy)
            if o.mode == .layered { try Self.checkLayeredPolicy(parsed) }
        }
        if let serverPolicy = o.serverPolicy {
            _ = try ServerPolicy(parsing: serverPolicy)
            if statelessAPI { throw ConfigurationError("--server-policy needs a server that keeps state; --api chat keeps none") }
        }
        if let profile = o.profile, profile.isEmpty { throw ConfigurationError("the profile name is empty") }
        var mode = o.mode
        if o.clientDB != nil && mode == nil { mode = .client }
        if statelessAPI {
            if let m = mode, m.isServerManaged {
                throw ConfigurationError("--api chat keeps no server state, so it supports the client-side modes only, client and layered (not \(m.rawValue))")
            }
            if mode == nil { mode = .client }
        }
        if let clientDB = o.clientDB, mode != .client {
            if RedisURL.isRedis(clientDB) {
                throw ConfigurationError("--store '\(RedisURL.redact(clientDB))' is a client-side session store: use it with --mode client")
            }
            throw ConfigurationError("--session-db '\(clientDB)' is a client-side session file: use it with --mode client")
        }
        // Read, change and write the session in one transaction, so a turn another process records
        // meanwhile is not overwritten; a failure (a bad --session-db) leaves no new session behind.
        return try store.db.transaction { try openSessionLocked(name: name, mode: mode, options: o) }
    }

    /// Layered mode's working memory is a window (`window:N`, or `all` for its default of 8 items):
    /// its summary and episodes take the place of budgets and summaries.
    public static func checkLayeredPolicy(_ p: MemoryPolicy) throws {
        switch p {
        case .all, .window: return
        default: throw ConfigurationError("layered mode takes window:N (its working memory; default 8 items), not \(p)")
        }
    }

    /// How a client store given on the command line is saved with the session: a file as its absolute
    /// path; a Redis URL checked and without its password (which this process remembers for itself).
    static func clientStoreLocation(_ given: String) throws -> String {
        guard RedisURL.isRedis(given) else { return URL(fileURLWithPath: given).standardizedFileURL.path }
        do {
            let url = try RedisURL(parsing: given)
            RedisCredentials.shared.remember(url)
            return url.redacted
        } catch let e as RedisError where e.kind == .url {
            throw ConfigurationError(e.message)
        }
    }

    private func openSessionLocked(name: String, mode: MemoryMode?, options o: SessionOptions) throws -> SessionRecord {
        var s: SessionRecord
        var changed = false
        if let existing = try store.session(named: name) {
            s = existing
        } else {
            s = try store.createSession(name: name, mode: mode ?? .chain, backend: backend.info.name, model: o.model ?? backend.info.defaultModel)
        }
        if let mode, mode != s.mode { s.mode = mode; changed = true }
        if let policy = o.policy, policy != s.policy { s.policy = policy; changed = true }
        if let text = o.serverPolicy, case let p = try ServerPolicy(parsing: text).description, p != s.serverPolicy { s.serverPolicy = p; changed = true }
        if let profile = o.profile, profile != s.profile { s.profile = profile; changed = true }
        if let clientDB = o.clientDB {
            let absolute = try Self.clientStoreLocation(clientDB)
            if absolute != s.clientDB {
                if RedisURL.isRedis(absolute) {
                    _ = try RedisAgentSession.open(url: try RedisURL(parsing: clientDB), sessionID: name).count()   // reachable, right type
                } else {
                    _ = try SQLiteAgentSession.openExternal(path: absolute, sessionID: name)
                }
                s.clientDB = absolute
                s.clientCovers = try store.lastCompleteMessageID(session: s.id)  // the file holds its own history
                changed = true
            }
        }
        if s.backend != backend.info.name {
            // A session moved to another backend: its server anchors mean nothing there.
            s.backend = backend.info.name
            s.model = o.model ?? backend.info.defaultModel
            s.chainHead = nil
            s.conversationID = nil
            changed = true
        } else if let model = o.model, model != s.model {
            s.model = model
            changed = true
        }
        if backend.info.name == "openai" || backend.info.name == "gateway" {
            // Stored without the credentials a URL may carry: nothing secret is written to the file.
            let url = HTTPConfig.withoutCredentials(connection.baseURL ?? connection.environment["OPENAI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
                                                    ?? HTTPConfig.defaultBaseURL)
            let api = connection.api ?? "responses"
            if s.baseURL != url || s.api != api {
                if s.baseURL != nil && s.baseURL != url {
                    // Another server: the old one's response ids and conversation mean nothing here.
                    s.chainHead = nil
                    s.conversationID = nil
                }
                s.baseURL = url
                s.api = api
                changed = true
            }
        }
        if changed { try store.save(s) }
        try store.setSetting("last_session", name)
        return s
    }

    /// The session to open when none is named: the last one used, else "default".
    public static func defaultSessionName(store: WorkbenchStore?) -> String {
        (try? store?.setting("last_session")) ?? nil ?? "default"
    }
}
