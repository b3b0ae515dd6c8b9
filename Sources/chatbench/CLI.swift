import ChatEngine
import Foundation

enum CLI {
    static let version = "0.1.0"

    /// Writes to standard error (a Swift 6-safe wrapper: the C global `stderr` is not concurrency-safe).
    /// Error texts quote servers, names and paths: keys are redacted and control characters shown.
    static func printError(_ text: String) {
        let safe = OutsideText.visible(Secrets.redact(text))
        FileHandle.standardError.write((safe.hasSuffix("\n") ? safe : safe + "\n").data(using: .utf8)!)
    }

    /// The one place a command's error becomes a message and an exit code: 2 for what the user can
    /// fix in the command line, 1 for the rest.
    static func report(_ error: Error, command: String) -> Int32 {
        let prefix = command.isEmpty ? "chatbench: " : "chatbench: \(command): "
        switch error {
        case let e as ConfigurationError:
            printError(prefix + e.message)
            return 2
        case let e as TurnFailure:
            printError(prefix + "the turn failed: \(e.underlying) (your message is kept in the session)")
            return 1
        default:
            printError(prefix + "\(error)")
            return 1
        }
    }

    /// `{"error": {"kind": "usage", "message": …}}`: what `--json` prints for a usage error.
    static func usageErrorJSON(_ message: String) -> String {
        let error: JSONValue = .object(["error": .object(["kind": .string("usage"), "message": .string(message)])])
        return (try? WireJSON.encodeString(error)) ?? #"{"error":{"kind":"usage"}}"#
    }

    static func run(arguments: [String], environment: [String: String]) async -> Int32 {
        let table = Commands.table
        do {
            switch try ArgumentParser.parse(arguments, table: table, environment: environment) {
            case .version:
                // Through the checked writer like every command's output: a failed write is exit 1.
                let out = StdoutWriter()
                out.line("chatbench \(version)")
                try out.finish()
                return 0
            case .help(let command):
                let out = StdoutWriter()
                out.write(command.map(ArgumentParser.helpText) ?? ArgumentParser.overview(table, version: version))
                try out.finish()
                return 0
            case .run(let invocation):
                do {
                    return try await invocation.command.run(invocation)
                } catch {
                    return report(error, command: invocation.command.name)
                }
            }
        } catch let e as UsageError {
            printError(e.line)
            // A script that asked for JSON gets it for a command line it got wrong too.
            if arguments.contains("--json") {
                StdoutWriter().line(OutsideText.json(usageErrorJSON(e.message + (e.hint.isEmpty ? "" : " (\(e.hint))"))))
            }
            return 2
        } catch {
            printError("chatbench: \(error)")
            return 1
        }
    }
}
