import ChatEngine
import Foundation

/// The command table: every subcommand and flag chatbench has. Help text is generated from it.
enum Commands {
    static let table: [CommandSpec] = [
        ScreenCommand.spec,
        SendCommand.spec,
        CompareCommand.spec,
        SessionsCommand.spec,
        ServeCommand.spec,
        BenchCommand.spec,
        ProbeCommand.spec,
    ]
}
