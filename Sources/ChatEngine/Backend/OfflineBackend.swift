import Foundation

/// The offline backend: an in-process emulation of the Responses + Conversations server state,
/// persisted in its own SQLite file (the "server's disk"), answered by a `TextModel`.
///
/// Semantics (README, "What the offline server keeps", states them for users; where the API's own
/// documentation is silent, these are chatbench's choices):
/// - `store` defaults to true. A `store:false` response can be neither retrieved nor chained
///   (unless `storeFalseChainable`), but it still joins a conversation it was made in.
/// - The context of a request with `previous_response_id` is every earlier input and output of the
///   chain, oldest first, then the new input. Only the current request's `instructions` apply.
///   The server keeps, per response, the model's memory snapshot and the context's token count, so a
///   turn never walks the chain: depth 10,000 costs what depth 10 costs.
/// - `conversation=` prepends the conversation's items and appends the response's input and output
///   once it completes (a cancelled stream appends nothing). Deleting a conversation keeps its items.
/// - Deleting a response breaks every response chained after it: chaining from any of them fails
///   with 400 `previous_response_not_found`, naming the deleted one.
/// - `usage.input_tokens` counts the whole rebuilt context (what the real API bills), by `TokenEstimator`;
///   `cached_tokens` follows the prompt-caching rules (`PromptCache.swift`).
/// - Compaction and truncation: `ContextManagement.swift`.
/// - `input_items` lists the response's own input (not its ancestors').
public final class OfflineBackend: ResponsesBackend, @unchecked Sendable {
    public let info: BackendInfo
    public let model: TextModel
    /// Where the server's state lives: SQLite (one file) or Redis (shared by several processes).
    let state: any ServerState
    /// The SQLite file's database (tests and tools that look inside it; never used with Redis).
    var db: Database { (state as! SQLiteServerState).db }
    private let lock = NSLock()
    let streamDelay: Duration
    let storeFalseChainable: Bool
    /// When set, turns are answered by it from the rebuilt context (the gateway), not by `model`.
    let answerer: Answerer?
    /// The secret this server seals and opens compaction items with (see `sealer()`).
    private let secretLock = NSLock()
    private var secretBytes: [UInt8]
    /// The model's context window in input tokens (truncation and `context_length_exceeded`).
    public let contextWindow: Int
    let cachePolicy: PromptCachePolicy
    /// Seconds since 1970 (tests move it to expire the prompt cache).
    let clock: @Sendable () -> Double

    /// The context window when none is given: the price table's `max_input_tokens` for the model offline
    /// runs are priced as (gpt-4.1-mini: 1,047,576), so truncation and prices come from one table.
    public static let defaultContextWindow: Int = {
        (try? PriceTable.shipped())?.contextWindow(for: Pricing.offlineDefault) ?? 1_047_576
    }()

    public static let migrations: [Migration] = [
        Migration(version: 1, sql: """
            CREATE TABLE responses (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                previous_response_id TEXT,
                conversation_id TEXT,
                stored INTEGER NOT NULL,
                deleted INTEGER NOT NULL DEFAULT 0,
                broken_by TEXT,
                depth INTEGER NOT NULL,
                context_tokens INTEGER NOT NULL,
                model_state TEXT NOT NULL,
                created_at REAL NOT NULL,
                body TEXT NOT NULL
            );
            CREATE INDEX responses_previous ON responses(previous_response_id);
            CREATE TABLE response_items (
                response_id TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('input', 'output')),
                position INTEGER NOT NULL,
                item_id TEXT,
                data TEXT NOT NULL,
                PRIMARY KEY (response_id, kind, position)
            );
            CREATE TABLE conversations (
                id TEXT PRIMARY KEY,
                created_at INTEGER NOT NULL,
                metadata TEXT NOT NULL,
                deleted INTEGER NOT NULL DEFAULT 0,
                model_state TEXT,
                state_seq INTEGER NOT NULL DEFAULT 0,
                context_tokens INTEGER NOT NULL DEFAULT 0
            );
            CREATE TABLE conversation_items (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                conversation_id TEXT NOT NULL,
                item_id TEXT NOT NULL UNIQUE,
                data TEXT NOT NULL
            );
            CREATE INDEX conversation_items_by_conversation ON conversation_items(conversation_id, seq);
            """),
        promptCacheMigration,
        secretMigration,
        contextMigration,
    ]

    /// Opens (creating) the server state at `path`. `streamDelay` paces streamed words (0 in tests).
    /// With an `answerer` this is the gateway: the same state, each turn answered by the answerer.
    public convenience init(path: String, model: TextModel = OfflineModel(), streamDelay: Duration = .zero, storeFalseChainable: Bool = false,
                            answerer: Answerer? = nil, settings: ServerSettings = ServerSettings(),
                            clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        try self.init(state: SQLiteServerState(path: path), model: model, streamDelay: streamDelay, storeFalseChainable: storeFalseChainable,
                      answerer: answerer, settings: settings, clock: clock)
    }

    /// The server state in Redis (`serve --state redis://…`): every process given the same Redis
    /// (and key prefix) serves the same responses, conversations, prompt cache and sealing secret.
    public convenience init(redis url: RedisURL, model: TextModel = OfflineModel(), streamDelay: Duration = .zero, storeFalseChainable: Bool = false,
                            answerer: Answerer? = nil, settings: ServerSettings = ServerSettings(),
                            clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        try self.init(state: RedisServerState(url: url, gateway: answerer != nil), model: model, streamDelay: streamDelay, storeFalseChainable: storeFalseChainable,
                      answerer: answerer, settings: settings, clock: clock)
    }

    public convenience init(inMemoryWith model: TextModel = OfflineModel(), streamDelay: Duration = .zero, settings: ServerSettings = ServerSettings(),
                            clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        try self.init(state: SQLiteServerState(inMemory: ()), model: model, streamDelay: streamDelay, settings: settings, clock: clock)
    }

    init(state: any ServerState, model: TextModel = OfflineModel(), streamDelay: Duration = .zero, storeFalseChainable: Bool = false,
         answerer: Answerer? = nil, settings: ServerSettings = ServerSettings(),
         clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        self.state = state
        secretBytes = try state.secret(preferring: nil)
        self.model = answerer.map { NoSnapshotModel(name: $0.model(for: nil)) } ?? model
        self.streamDelay = streamDelay
        self.storeFalseChainable = storeFalseChainable
        self.answerer = answerer
        contextWindow = settings.contextWindow
        cachePolicy = settings.cache
        self.clock = clock
        info = answerer == nil
            ? BackendInfo(name: "offline", displayName: "offline backend", defaultModel: model.name, isOffline: true)
            : BackendInfo(name: "gateway", displayName: "gateway to " + ((answerer as? ChatCompletionsAnswerer).map { "chat completions at \($0.host)" } ?? "its answerer"),
                          defaultModel: answerer!.model(for: nil), isOffline: false)
    }

    /// The emulated server's settings: its model's context window and its prompt cache's retention.
    public struct ServerSettings: Sendable, Equatable {
        public var contextWindow: Int
        public var cache: PromptCachePolicy
        public init(contextWindow: Int = OfflineBackend.defaultContextWindow, cache: PromptCachePolicy = PromptCachePolicy()) {
            self.contextWindow = contextWindow
            self.cache = cache
        }

        /// From CHATBENCH_CONTEXT_WINDOW (tokens) and CHATBENCH_CACHE_RETENTION (seconds an in_memory
        /// prompt-cache entry lives after its last use), each refused with a clear message when out of range.
        public static func from(environment env: [String: String]) throws -> ServerSettings {
            var s = ServerSettings()
            if let w = try EnvironmentNumber.whole(env, "CHATBENCH_CONTEXT_WINDOW", in: 16...100_000_000, unit: "tokens") { s.contextWindow = w }
            if let r = try EnvironmentNumber.seconds(env, "CHATBENCH_CACHE_RETENTION", in: 0...86_400) { s.cache.inMemoryRetention = r }
            return s
        }
    }

    func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock(); defer { lock.unlock() }
        return try body()
    }
}

extension OfflineBackend {
    /// Checks a request as a create would (ids, limits) without storing anything.
    public func prepareOnly(_ request: CreateResponseRequest) throws -> Bool {
        _ = try lockedPrepare(request)
        return true
    }
}

extension OfflineBackend {
    /// Seals and opens this server's compaction items. A state other processes share (Redis) is asked
    /// each time (compactions are rare): if it lost its secret (emptied, failed over), this process's
    /// is written back, so every server keeps agreeing with the items already handed out.
    func sealer() throws -> Sealer {
        secretLock.lock(); defer { secretLock.unlock() }
        if state.secretIsShared { secretBytes = try state.secret(preferring: secretBytes) }
        return Sealer(secret: secretBytes)
    }

    /// The secret this process holds, without asking the state.
    func heldSealer() -> Sealer {
        secretLock.lock(); defer { secretLock.unlock() }
        return Sealer(secret: secretBytes)
    }
}
