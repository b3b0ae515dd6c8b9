import Foundation

// Entry point: parse the command line against the command table, run the command, exit with its code.
let exitCode = await CLI.run(arguments: Array(CommandLine.arguments.dropFirst()),
                             environment: ProcessInfo.processInfo.environment)
exit(exitCode)
