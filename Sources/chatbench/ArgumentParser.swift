import Foundation

/// A flag of a command. `valueName == nil` makes it a switch (`--json`); otherwise it takes a value
/// (`--session NAME` or `--session=NAME`). A flag may be given more than once; the last value wins.
struct FlagSpec: Sendable {
    let name: String
    let valueName: String?
    let help: String
    init(_ name: String, _ valueName: String? = nil, _ help: String) {
        self.name = name
        self.valueName = valueName
        self.help = help
    }
}

/// One row of the command table: its usage text, flags, positional arguments and what it runs.
struct CommandSpec: Sendable {
    let name: String            // "" for the main screen (no subcommand)
    let summary: String
    let positionals: String     // usage of positional arguments, e.g. "MESSAGE..."; "" for none
    let minPositionals: Int
    let maxPositionals: Int     // Int.max for a variadic tail
    let flags: [FlagSpec]
    let details: String         // extra help text; "" for none
    /// Returns the exit code; errors it throws are reported by `CLI.report` (configuration errors exit 2).
    let run: @Sendable (Invocation) async throws -> Int32
}

/// A parsed command line.
struct Invocation: Sendable {
    let command: CommandSpec
    var values: [String: String] = [:]
    var switches: Set<String> = []
    var positionals: [String] = []
    let environment: [String: String]

    func value(_ flag: String) -> String? { values[flag] }
    func has(_ flag: String) -> Bool { switches.contains(flag) }
}

/// A usage error: printed as one line with a hint, exit code 2.
struct UsageError: Error, Equatable {
    let message: String
    let hint: String
    var line: String { "chatbench: \(message)\(hint.isEmpty ? "" : " (\(hint))")" }
}

enum ArgumentParser {
    static let helpFlag = FlagSpec("--help", nil, "show this help")

    /// Parses `args` (without the program name) against the command table.
    /// Returns `.help(command)`, `.version` or an invocation; throws UsageError for bad input.
    enum Outcome {
        case help(CommandSpec?)
        case version
        case run(Invocation)
    }

    static func parse(_ args: [String], table: [CommandSpec], environment: [String: String]) throws -> Outcome {
        guard let main = table.first(where: { $0.name.isEmpty }) else { fatalError("command table needs a main entry") }
        var rest = args[...]
        var command = main
        if let first = rest.first, !first.hasPrefix("-") {
            if first == "help" {
                rest.removeFirst()
                guard let topic = rest.first else { return .help(nil) }
                guard let cmd = table.first(where: { $0.name == topic && !topic.isEmpty }) else {
                    throw unknownCommand(topic, table: table)
                }
                return .help(cmd)
            }
            guard let cmd = table.first(where: { $0.name == first && !first.isEmpty }) else {
                throw unknownCommand(first, table: table)
            }
            command = cmd
            rest.removeFirst()
        }
        var inv = Invocation(command: command, environment: environment)
        var onlyPositionals = false
        while let arg = rest.popFirst() {
            if onlyPositionals || !arg.hasPrefix("-") || arg == "-" {
                inv.positionals.append(arg)
                continue
            }
            if arg == "--" { onlyPositionals = true; continue }
            if arg == "--help" || arg == "-h" { return .help(command.name.isEmpty ? nil : command) }
            if arg == "--version" && command.name.isEmpty { return .version }
            var name = arg
            var inline: String?
            if let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            guard let flag = command.flags.first(where: { $0.name == name }) else {
                throw unknownFlag(name, command: command)
            }
            if flag.valueName == nil {
                if inline != nil { throw UsageError(message: "\(where_(command))flag '\(name)' takes no value", hint: helpHint(command)) }
                inv.switches.insert(name)
            } else if let v = inline {
                inv.values[name] = v
            } else if let v = rest.popFirst() {
                inv.values[name] = v
            } else {
                throw UsageError(message: "\(where_(command))flag '\(name)' needs a value \(flag.valueName!)", hint: helpHint(command))
            }
        }
        if inv.positionals.count < command.minPositionals {
            throw UsageError(message: "\(where_(command))missing \(command.positionals)", hint: helpHint(command))
        }
        if inv.positionals.count > command.maxPositionals {
            let extra = inv.positionals[command.maxPositionals]
            let what = command.maxPositionals == 0 ? "takes no arguments" : "takes at most \(command.maxPositionals) argument(s)"
            throw UsageError(message: "\(where_(command))\(what); unexpected '\(extra)'",
                             hint: command.maxPositionals > 0 ? "quote a message that has spaces; \(helpHint(command))" : helpHint(command))
        }
        return .run(inv)
    }

    private static func where_(_ c: CommandSpec) -> String { c.name.isEmpty ? "" : "\(c.name): " }
    private static func helpHint(_ c: CommandSpec) -> String { c.name.isEmpty ? "see 'chatbench --help'" : "see 'chatbench help \(c.name)'" }

    private static func unknownCommand(_ name: String, table: [CommandSpec]) -> UsageError {
        let names = table.map(\.name).filter { !$0.isEmpty } + ["help"]
        let hint = closest(name, in: names).map { "did you mean '\($0)'? see 'chatbench --help'" } ?? "see 'chatbench --help'"
        return UsageError(message: "unknown command '\(name)'", hint: hint)
    }

    private static func unknownFlag(_ name: String, command: CommandSpec) -> UsageError {
        var names = command.flags.map(\.name) + ["--help"]
        if command.name.isEmpty { names.append("--version") }
        let near = closest(name, in: names).map { "did you mean '\($0)'? " } ?? ""
        return UsageError(message: "\(where_(command))unknown flag '\(name)'", hint: near + helpHint(command))
    }

    /// The nearest name by edit distance, if it is near enough to be a likely typo.
    static func closest(_ word: String, in names: [String]) -> String? {
        let scored = names.map { ($0, editDistance(word, $0)) }.min { $0.1 < $1.1 }
        guard let (name, d) = scored, d <= max(2, word.count / 3) else { return nil }
        return name
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }

    // MARK: Help text, generated from the table

    static func usage(of c: CommandSpec) -> String {
        let name = c.name.isEmpty ? "chatbench" : "chatbench \(c.name)"
        let flags = c.flags.isEmpty ? "" : " [FLAGS]"
        let pos = c.positionals.isEmpty ? "" : " \(c.positionals)"
        return name + flags + pos
    }

    static func flagLines(_ flags: [FlagSpec]) -> [String] {
        let labels = flags.map { f in f.valueName.map { "\(f.name) \($0)" } ?? f.name }
        let width = min(28, (labels.map(\.count).max() ?? 0) + 2)
        return zip(labels, flags).map { label, f in
            "  " + label.padding(toLength: max(width, label.count + 2), withPad: " ", startingAt: 0) + f.help
        }
    }

    static func helpText(_ c: CommandSpec) -> String {
        var lines = ["usage: \(usage(of: c))", "", c.summary]
        if !c.details.isEmpty { lines += ["", c.details] }
        lines += ["", "flags:"] + flagLines(c.flags + [helpFlag])
        return lines.joined(separator: "\n") + "\n"
    }

    static func overview(_ table: [CommandSpec], version: String) -> String {
        var lines = ["chatbench \(version): a terminal workbench for seeing how an LLM conversation's memory is kept.", ""]
        lines.append("usage:")
        for c in table { lines.append("  " + usage(of: c).padding(toLength: 44, withPad: " ", startingAt: 0) + " " + c.summary) }
        lines.append("  " + "chatbench help COMMAND".padding(toLength: 44, withPad: " ", startingAt: 0) + " help for one command")
        for c in table {
            lines += ["", "\(usage(of: c)):"]
            lines += flagLines(c.flags)
        }
        lines += ["", "global flags:", "  --help, -h                  show help", "  --version                   print the version"]
        lines += ["", "Without OPENAI_API_KEY everything runs on the built-in offline backend and its offline model",
                  "(a small deterministic program that extracts facts, not an LLM). Data: $CHATBENCH_HOME,",
                  "else $XDG_DATA_HOME/chatbench, else ~/.local/share/chatbench."]
        return lines.joined(separator: "\n") + "\n"
    }
}
