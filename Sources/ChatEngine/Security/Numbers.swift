import Foundation

/// Arithmetic on numbers that came from outside (a server's usage, a stored row, the environment):
/// it saturates instead of trapping, so one absurd value cannot crash chatbench at every start.
extension Int {
    public func saturatingAdd(_ other: Int) -> Int {
        let (r, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : r
    }
}

extension Sequence {
    /// The sum of `value` over the elements, saturating at Int.max / Int.min.
    public func saturatingSum(_ value: (Element) -> Int) -> Int { reduce(0) { $0.saturatingAdd(value($1)) } }
}

/// Numeric settings from the environment: a value out of range is refused with a clear message.
public enum EnvironmentNumber {
    /// Seconds as a finite number in `range`, else a configuration error naming the variable.
    public static func seconds(_ env: [String: String], _ name: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let raw = env[name], !raw.isEmpty else { return nil }
        guard let v = Double(raw.trimmingCharacters(in: .whitespaces)), v.isFinite, range.contains(v) else {
            throw ConfigurationError("\(name)=\(OutsideText.line(raw)) is not a number of seconds from \(format(range.lowerBound)) to \(format(range.upperBound))")
        }
        return v
    }

    /// A whole number of `unit` in `range`, else a configuration error naming the variable.
    public static func whole(_ env: [String: String], _ name: String, in range: ClosedRange<Int>, unit: String = "seconds") throws -> Int? {
        guard let raw = env[name], !raw.isEmpty else { return nil }
        guard let v = Int(raw.trimmingCharacters(in: .whitespaces)), range.contains(v) else {
            throw ConfigurationError("\(name)=\(OutsideText.line(raw)) is not a whole number of \(unit) from \(range.lowerBound) to \(range.upperBound)")
        }
        return v
    }

    static func format(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }
}
