import Foundation

// Entry point: parse the command line against the command table, run the command, exit with its code.
// A file-size limit (ulimit -f) then fails writes with EFBIG, reported clearly, instead of killing us.
signal(SIGXFSZ, SIG_IGN)
let exitCode = await CLI.run(arguments: Array(CommandLine.arguments.dropFirst()),
                             environment: ProcessInfo.processInfo.environment)
exit(exitCode)
