import ChatEngine
import ChatServe
import Foundation

/// `chatbench serve`: the offline backend as a local OpenAI-compatible HTTP server.
enum ServeCommand {
    static let spec = CommandSpec(
        name: "serve", summary: "serve the offline backend as a local OpenAI-compatible HTTP server",
        positionals: "", minPositionals: 0, maxPositionals: 0,
        flags: [
            FlagSpec("--host", "ADDR", "IPv4 address to listen on (default 127.0.0.1)"),
            FlagSpec("--port", "PORT", "port (default 8088; 0 picks a free one)"),
            FlagSpec("--api-key", "KEY", "require 'Authorization: Bearer KEY' (required off loopback)"),
            FlagSpec("--no-auth", nil, "accept requests without a key (loopback only)"),
            FlagSpec("--allow-remote", nil, "allow a non-loopback --host (then --api-key is required)"),
            FlagSpec("--max-connections", "N", "open connections at most (default 4096); past it new ones get 503"),
            FlagSpec("--quiet", nil, "no access log"),
            FlagSpec("--context-window", "TOKENS", "the model's context window (default: the price table's max_input_tokens for gpt-4.1-mini; also CHATBENCH_CONTEXT_WINDOW)"),
            FlagSpec("--cache-retention", "SECONDS", "how long an in_memory prompt-cache entry lives unused (default 300; also CHATBENCH_CACHE_RETENTION)"),
            FlagSpec("--state", "URL", "keep the server's state in Redis (redis://[:PASSWORD@]host:port/db; password also CHATBENCH_REDIS_PASSWORD), shared by every serve on it"),
            FlagSpec("--upstream", "URL", "gateway: answer turns with this Chat Completions server (e.g. http://127.0.0.1:11434/v1)"),
            FlagSpec("--upstream-key-env", "NAME", "gateway: the upstream's key is in environment variable NAME"),
            FlagSpec("--upstream-model", "MODEL", "gateway: always ask the upstream for MODEL (default: the request's model)"),
        ],
        details: """
            Point the official SDKs at it: OPENAI_BASE_URL=http://127.0.0.1:8088/v1 OPENAI_API_KEY=anything.
            Routes: /v1/responses (create, stream, retrieve, delete, input_items, compact), /v1/conversations and
            their items, GET /v1/models, POST /v1/chat/completions (stateless). State is the same
            offline-server.sqlite the workbench uses. One access-log line per request on stderr
            (method, path, status, request bytes, ms; never bodies or keys; control characters shown as \\x1b).
            On loopback, a Host that is not a loopback name or a cross-site Origin is refused (403), so web
            pages cannot use the server. The key is checked before any body is read.
            With --upstream it is a gateway: the same Responses and Conversations state (in
            gateway-server.sqlite), each turn answered by sending the rebuilt context to the upstream's
            /v1/chat/completions (streamed). Upstream errors come back as Responses errors.
            With --state redis://host:port/db the responses, conversations, prompt cache and sealing secret live
            in Redis (keys under chatbench:server:, or the URL's ?key_prefix=), so several serve processes on
            one Redis continue each other's chains. While Redis cannot be reached, requests get a 503.
            """,
        run: { try run($0) })

    static func run(_ inv: Invocation) throws -> Int32 {
        var host = inv.value("--host") ?? "127.0.0.1"
        // Names the listener cannot bind to get a clear answer (it listens on IPv4 addresses).
        if host == "localhost" { host = "127.0.0.1" }
        if host.contains(":") { throw ConfigurationError("--host \(host): serve listens on IPv4 only; use 127.0.0.1 (loopback) or an IPv4 address") }
        guard let port = UInt16(inv.value("--port") ?? "8088") else { throw ConfigurationError("--port takes a number from 0 to 65535") }
        let loopback = host.hasPrefix("127.")
        let key = inv.value("--api-key")
        if key != nil && inv.has("--no-auth") { throw ConfigurationError("choose --api-key KEY or --no-auth, not both") }
        if !loopback {
            guard inv.has("--allow-remote") else {
                throw ConfigurationError("\(host) is not a loopback address; add --allow-remote (and --api-key) to serve other machines")
            }
            guard key != nil else { throw ConfigurationError("serving beyond loopback requires --api-key KEY") }
        }
        let paths = Paths(environment: inv.environment)
        try Paths.ensureDirectory(paths.dataDirectory)
        var settings = try OfflineBackend.ServerSettings.from(environment: inv.environment)
        if let w = inv.value("--context-window") {
            guard let n = Int(w), (16...100_000_000).contains(n) else { throw ConfigurationError("--context-window takes a whole number of tokens from 16 to 100000000") }
            settings.contextWindow = n
        }
        if let r = inv.value("--cache-retention") {
            guard let v = Double(r), v.isFinite, (0...86_400).contains(v) else { throw ConfigurationError("--cache-retention takes a number of seconds from 0 to 86400") }
            settings.cache.inMemoryRetention = v
        }
        var redis: RedisURL?
        if let state = inv.value("--state") {
            guard RedisURL.isRedis(state) else { throw ConfigurationError("--state takes a redis://host:port/db URL") }
            redis = try RedisURL(parsing: state)
            if redis?.ttl != nil {
                throw ConfigurationError("--state: ttl is for client sessions (the Agents SDK's expire); a server's responses and conversations do not")
            }
            StateStoreLog.sink = { @Sendable line in FileHandle.standardError.write(Data(("chatbench serve: " + OutsideText.line(line) + "\n").utf8)) }
        }
        /// The state: Redis when given, else the SQLite file.
        func open(_ path: String, _ answerer: Answerer?) throws -> OfflineBackend {
            if let redis {
                do { return try OfflineBackend(redis: redis, answerer: answerer, settings: settings) } catch let e as APIError {
                    throw ConfigurationError("--state \(redis.redacted): \(e.message)")
                }
            }
            return try OfflineBackend(path: path, answerer: answerer, settings: settings)
        }
        let backend: OfflineBackend
        var what = "offline model"
        if let upstream = inv.value("--upstream") {
            var key: String?
            if let name = inv.value("--upstream-key-env") {
                guard let value = inv.environment[name], !value.isEmpty else {
                    throw ConfigurationError("--upstream-key-env: the environment variable \(name) is not set")
                }
                key = value
            }
            let config = try ChatCompletionsAnswerer.config(upstream: upstream, key: key, environment: inv.environment)
            let answerer = ChatCompletionsAnswerer(config: config, model: inv.value("--upstream-model"))
            backend = try open(paths.gatewayServerDatabase, answerer)
            what = "gateway to chat completions at \(answerer.host)"
        } else {
            if inv.value("--upstream-key-env") != nil || inv.value("--upstream-model") != nil {
                throw ConfigurationError("--upstream-key-env and --upstream-model need --upstream URL")
            }
            backend = try open(paths.offlineServerDatabase, nil)
        }
        let routes = OpenAIRoutes(backend: backend, apiKey: key)
        let log: (@Sendable (String) -> Void)? = inv.has("--quiet") ? nil : { @Sendable line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
        // On loopback, a web page must not reach the server (Host and Origin checked); the key is checked
        // on the head, before any body byte is read.
        let gate: HTTPServer.Gate = { @Sendable head in (loopback ? LoopbackGuard.check(head) : nil) ?? routes.authorize(head) }
        var options = HTTPServer.Options()
        if let m = inv.value("--max-connections") {
            guard let n = Int(m), (1...1_000_000).contains(n) else { throw ConfigurationError("--max-connections takes a number from 1 to 1000000") }
            options.maxConnections = n
        }
        raiseDescriptorLimit(to: options.maxConnections + 64)
        let server = HTTPServer(host: host, port: port, options: options, log: log, gate: gate, handler: { req, conn in routes.handle(req, conn) })
        try server.bind()
        let stateNote = redis.map { "; state in \($0.redacted)" } ?? ""
        print("chatbench serve: listening on http://\(host):\(server.port)/v1 (\(what); \(key == nil ? "no auth" : "bearer key required")\(stateNote))")
        fflush(nil)
        server.serve()
        return 0
    }

    /// Lets the process hold `n` descriptors when the hard limit allows (the soft limit is often 1024).
    static func raiseDescriptorLimit(to n: Int) {
        var lim = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim) == 0, lim.rlim_cur < rlim_t(n) else { return }
        lim.rlim_cur = min(lim.rlim_max, rlim_t(n))
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
    }
}
