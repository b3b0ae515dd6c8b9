import ChatEngine
import Foundation

enum CLI {
    static let version = "0.1.0"

    /// Writes to standard error (a Swift 6-safe wrapper: the C global `stderr` is not concurrency-safe).
    static func printError(_ text: String) {
        FileHandle.standardError.write((text.hasSuffix("\n") ? text : text + "\n").data(using: .utf8)!)
    }

    static func run(arguments: [String], environment: [String: String]) async -> Int32 {
        let table = Commands.table
        do {
            switch try ArgumentParser.parse(arguments, table: table, environment: environment) {
            case .version:
                print("chatbench \(version)")
                return 0
            case .help(let command):
                if let command {
                    print(ArgumentParser.helpText(command), terminator: "")
                } else {
                    print(ArgumentParser.overview(table, version: version), terminator: "")
                }
                return 0
            case .run(let invocation):
                return await invocation.command.run(invocation)
            }
        } catch let e as UsageError {
            printError(e.line)
            return 2
        } catch {
            printError("chatbench: \(error)")
            return 1
        }
    }
}
