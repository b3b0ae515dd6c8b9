import Foundation

/// Start-up tracing for profiling: with CHATBENCH_TRACE=FILE set, `mark` appends "ms-since-first-mark label".
public enum Trace {
    static let start = DispatchTime.now().uptimeNanoseconds
    static let file: FileHandle? = {
        guard let path = ProcessInfo.processInfo.environment["CHATBENCH_TRACE"],
              FileManager.default.createFile(atPath: path, contents: nil) else { return nil }
        return FileHandle(forWritingAtPath: path)
    }()

    public static func mark(_ label: String) {
        guard let file else { return }
        let origin = start  // initialised on first use: read it before taking the time
        let ms = Double(DispatchTime.now().uptimeNanoseconds - origin) / 1_000_000
        file.write(Data(String(format: "%8.2f %@\n", ms, label).utf8))
    }
}
