import Foundation

/// Writing exports: file names made from session names, and `-o` targets.
public enum ExportFile {
    /// A file name from a session name: ASCII letters, digits, `-`, `_` and inner dots kept, anything else
    /// (slashes, `..`, control characters) replaced by `_`; a changed name gets a short hash of the
    /// original so that different sessions keep different files.
    public static func safeName(_ session: String) -> String {
        var name = String(session.prefix(80).map { c -> Character in
            c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_" || c == ".") ? c : "_"
        })
        while name.hasPrefix(".") { name = "_" + name.dropFirst() }
        if name.isEmpty { name = "session" }
        guard name != session else { return name }
        var h: UInt32 = 2166136261
        for b in session.utf8 { h = (h ^ UInt32(b)) &* 16777619 }
        return name + "-" + String(h, radix: 16)
    }

    /// The Markdown and JSON exports of a session inside `directory`.
    public static func paths(in directory: String, session: String) -> (md: String, json: String) {
        let base = directory + "/" + safeName(session)
        return (base + ".md", base + ".json")
    }

    /// Writes `text` to `path` (mode 0600) through a temporary file and a rename, so a failed write
    /// leaves the old file. Refuses a path that exists and is not a regular file: a FIFO, a device, a
    /// directory or a symbolic link would otherwise be replaced.
    public static func write(_ text: String, to path: String) throws {
        var st = stat()
        if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG {
            throw ConfigurationError("\(path) is not a regular file (a FIFO, device, directory or link); exports are written only to regular files")
        }
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ExportError("cannot write \(path): \(String(cString: strerror(errno)))") }
        var bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let why = String(cString: strerror(n < 0 ? errno : EIO))
                close(fd)
                unlink(tmp)
                throw ExportError("cannot write \(path): \(why)")
            }
            off += n
        }
        if fsync(fd) != 0 || close(fd) != 0 {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw ExportError("cannot write \(path): \(why)")
        }
        guard rename(tmp, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw ExportError("cannot write \(path): \(why)")
        }
    }
}

/// An export that could not be written (disk full, read-only, no permission).
public struct ExportError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
