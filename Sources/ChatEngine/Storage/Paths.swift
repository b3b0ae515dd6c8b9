import Foundation

/// Where chatbench keeps its files. Resolved from an environment dictionary (not the process
/// environment directly) so tests can run side by side with their own homes.
///
/// - data: `$CHATBENCH_HOME`, else `$XDG_DATA_HOME/chatbench`, else `~/.local/share/chatbench`
/// - config: `$XDG_CONFIG_HOME/chatbench`, else `~/.config/chatbench`
public struct Paths: Sendable, Equatable {
    public let dataDirectory: String
    public let configDirectory: String

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        func nonEmpty(_ key: String) -> String? {
            guard let v = environment[key], !v.isEmpty else { return nil }
            return v
        }
        if let explicit = nonEmpty("CHATBENCH_HOME") {
            dataDirectory = explicit
        } else if let xdg = nonEmpty("XDG_DATA_HOME") {
            dataDirectory = xdg + "/chatbench"
        } else {
            dataDirectory = home + "/.local/share/chatbench"
        }
        if let xdg = nonEmpty("XDG_CONFIG_HOME") {
            configDirectory = xdg + "/chatbench"
        } else {
            configDirectory = home + "/.config/chatbench"
        }
    }

    public init(dataDirectory: String, configDirectory: String) {
        self.dataDirectory = dataDirectory
        self.configDirectory = configDirectory
    }

    /// The client side: sessions, transcripts, turns, and the Agents SDK session tables.
    public var workbenchDatabase: String { dataDirectory + "/workbench.sqlite" }
    /// The offline backend's server state: its "disk".
    public var offlineServerDatabase: String { dataDirectory + "/offline-server.sqlite" }
    /// The gateway's server state (its turns are answered upstream, so it is kept apart from the offline model's).
    public var gatewayServerDatabase: String { dataDirectory + "/gateway-server.sqlite" }
    public var themesDirectory: String { configDirectory + "/themes" }

    /// Creates a folder (and its parents) with mode 0700 if it does not exist.
    public static func ensureDirectory(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if !isDir.boolValue {
                throw StorageError(.openFailed, path: path, "exists but is not a folder")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw StorageError(.openFailed, path: path, "cannot create the folder: \(error.localizedDescription)")
        }
        chmod(path, 0o700)
    }
}
