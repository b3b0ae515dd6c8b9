import ChatEngine
import ChatTUI
import Foundation

/// `chatbench` with no subcommand: the workbench screen.
enum ScreenCommand {
    static let spec = CommandSpec(
        name: "", summary: "open the workbench screen (offline by default)", positionals: "", minPositionals: 0, maxPositionals: 0,
        flags: [
            FlagSpec("--session", "NAME", "session to open (default: the last one used)"),
            FlagSpec("--mode", "MODE", "chain | conversation | client | hybrid | layered"),
            FlagSpec("--policy", "POLICY", "client memory policy: all | window:N | budget:TOKENS | summarize:N"),
            FlagSpec("--server-policy", "POLICY", "server modes: none | compact:N (compact past N tokens) | truncate:auto | compact:N+truncate:auto"),
            FlagSpec("--profile", "NAME", "whose long-term memory (facts, and other sessions as episodes) hybrid and layered use"),
            FlagSpec("--backend", "NAME", "offline | openai | gateway (default: openai with OPENAI_API_KEY, else offline); gateway: chatbench keeps the Responses state, the Chat Completions server at --base-url answers"),
            FlagSpec("--base-url", "URL", "OpenAI-compatible server (default: $OPENAI_BASE_URL, else https://api.openai.com/v1)"),
            FlagSpec("--api", "API", "responses | chat (chat: Chat Completions, client mode only)"),
            FlagSpec("--model", "MODEL", "model for new sessions (default: $OPENAI_MODEL, else gpt-4.1-mini)"),
            FlagSpec("--attach", "ID", "start the session from server-side history: a conversation (conv_…) or the chain ending at resp_…"),
            FlagSpec("--session-db", "FILE", "continue an Agents SDK SQLite session file in client mode"),
            FlagSpec("--store", "URL", "client mode on a Redis session shared with the Agents SDK's RedisSession: redis://[:PASSWORD@]HOST:PORT/DB[?key_prefix=…&ttl=S] (default for new sessions: $CHATBENCH_REDIS_URL)"),
            FlagSpec("--theme", "NAME|PATH", "default | light | high-contrast | ansi16 | a theme file (NO_COLOR disables colour)"),
        ] + PricingFlags.flags,
        details: "F1 or ? (with an empty input) shows every key.",
        run: { try await run($0) })

    static func run(_ inv: Invocation) async throws -> Int32 {
        Trace.mark("screen command")
        guard CursesTerminal.stdinAndStdoutAreTerminals() else {
            throw ConfigurationError("the workbench needs a terminal (stdin and stdout must be a TTY); for scripts use 'chatbench send'")
        }
        // The price table (200 KB of JSON) is read on the other core while the store and the session open.
        let prices = Task.detached { try PricingFlags.load(inv, warn: false) }
        let delayMs = try EnvironmentNumber.whole(inv.environment, "CHATBENCH_STREAM_DELAY_MS", in: 0...10_000, unit: "milliseconds") ?? 12
        let (bench, session) = try await SessionFlags.openAndAttach(inv, streamDelay: .milliseconds(delayMs))
        let pricing = try await prices.value
        Trace.mark("prices loaded")
        let paths = bench.paths
        let (theme, themeError) = Theme.load(inv.value("--theme"), configThemes: paths.themesDirectory)
        let noColor = !(inv.environment["NO_COLOR"] ?? "").isEmpty
        let runtime = AppRuntime(bench: bench, session: session, theme: theme, themeError: themeError.map(\.description), noColor: noColor, pricing: pricing)
        return runtime.run()
    }
}
