import Foundation
import Testing
@testable import chatbench

@Suite struct CLITests {
    @Test func helpListsEveryCommandAndFlagOfTheTable() throws {
        let home = TempHome()
        let r = try ChatbenchProcess.run(["--help"], home: home.path)
        #expect(r.status == 0)
        for c in Commands.table {
            #expect(r.stdout.contains(ArgumentParser.usage(of: c)), "missing usage of '\(c.name)'")
            for f in c.flags { #expect(r.stdout.contains(f.name), "missing \(f.name) of '\(c.name)'") }
        }
        #expect(r.stdout.contains("--version"))
        #expect(r.stdout.contains("offline model"))
    }

    @Test func helpForEachSubcommand() throws {
        let home = TempHome()
        for c in Commands.table where !c.name.isEmpty {
            let r = try ChatbenchProcess.run(["help", c.name], home: home.path)
            #expect(r.status == 0)
            #expect(r.stdout.hasPrefix("usage: chatbench \(c.name)"))
            let r2 = try ChatbenchProcess.run([c.name, "--help"], home: home.path)
            #expect(r2.stdout == r.stdout)
        }
    }

    @Test func versionPrintsOneLine() throws {
        let r = try ChatbenchProcess.run(["--version"], home: TempHome().path)
        #expect(r.status == 0)
        #expect(r.stdout == "chatbench \(CLI.version)\n")
    }

    @Test func unknownFlagIsOneLineWithHintAndExit2() throws {
        let r = try ChatbenchProcess.run(["--verison"], home: TempHome().path)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(r.stderr.contains("unknown flag '--verison'"))
        #expect(r.stderr.contains("did you mean '--version'?"))
    }

    @Test func unknownCommandIsOneLineWithHintAndExit2() throws {
        let r = try ChatbenchProcess.run(["frobnicate"], home: TempHome().path)
        #expect(r.status == 2)
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(r.stderr.contains("unknown command 'frobnicate'"))
        #expect(r.stderr.contains("chatbench --help"))
        let h = try ChatbenchProcess.run(["help", "nope"], home: TempHome().path)
        #expect(h.status == 2)
    }

    @Test func parserHandlesValuesSwitchesAndErrors() throws {
        let spec = CommandSpec(name: "x", summary: "", positionals: "MESSAGE", minPositionals: 1, maxPositionals: 1,
                               flags: [FlagSpec("--json", nil, ""), FlagSpec("--session", "NAME", "")], details: "", run: { _ in 0 })
        let main = CommandSpec(name: "", summary: "", positionals: "", minPositionals: 0, maxPositionals: 0, flags: [], details: "", run: { _ in 0 })
        let table = [main, spec]
        guard case .run(let inv) = try ArgumentParser.parse(["x", "--session=a b", "--json", "--", "--not-a-flag"], table: table, environment: [:]) else {
            Issue.record("expected a run"); return
        }
        #expect(inv.value("--session") == "a b")
        #expect(inv.has("--json"))
        #expect(inv.positionals == ["--not-a-flag"])
        #expect(throws: UsageError.self) { try ArgumentParser.parse(["x", "--session"], table: table, environment: [:]) }
        #expect(throws: UsageError.self) { try ArgumentParser.parse(["x"], table: table, environment: [:]) }
        #expect(throws: UsageError.self) { try ArgumentParser.parse(["x", "a", "b"], table: table, environment: [:]) }
        #expect(throws: UsageError.self) { try ArgumentParser.parse(["x", "--json=1", "m"], table: table, environment: [:]) }
        #expect(ArgumentParser.closest("--sesion", in: ["--session", "--json"]) == "--session")
        #expect(ArgumentParser.closest("--zzzzzzzz", in: ["--session", "--json"]) == nil)
    }
}
