import CSQLite
import Foundation

/// A typed storage error that names the file and what failed.
public struct StorageError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        case notADatabase, newerSchema, openFailed, queryFailed, busy, readOnly, diskFull, corrupt, migrationFailed
    }
    public let kind: Kind
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }

    init(_ kind: Kind, path: String, _ message: String) {
        self.kind = kind
        self.path = path
        self.message = message
    }

    /// A file whose header SQLite refused: never written to.
    static func notADatabase(_ path: String) -> StorageError {
        StorageError(.notADatabase, path: path, "is not a SQLite database (or is damaged); chatbench left it unchanged (move it aside to start afresh)")
    }

    /// Maps an SQLite result code to a kind a user can act on.
    static func from(code: Int32, path: String, context: String, detail: String) -> StorageError {
        let primary = code & 0xff
        let kind: Kind
        var hint = ""
        switch primary {
        case SQLITE_BUSY, SQLITE_LOCKED:
            kind = .busy; hint = " (another chatbench may be holding the file; try again)"
        case SQLITE_READONLY:
            kind = .readOnly; hint = " (check the file's permissions)"
        case SQLITE_FULL:
            kind = .diskFull; hint = " (the disk is full; free space and try again)"
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            kind = .corrupt; hint = " (the file is damaged; move it aside to start afresh)"
        case SQLITE_CANTOPEN:
            kind = .openFailed
        default:
            kind = .queryFailed
        }
        return StorageError(kind, path: path, "\(context) failed: \(detail)\(hint)")
    }
}
