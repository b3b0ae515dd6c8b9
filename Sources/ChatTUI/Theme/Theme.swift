import ChatEngine
import Foundation

/// A colour as a theme names it: the terminal's default, a palette index (0–255) or RGB.
public enum ThemeColor: Equatable, Sendable {
    case terminalDefault
    case index(Int)
    case rgb(Int, Int, Int)

    static let names: [String: Int] = [
        "black": 0, "red": 1, "green": 2, "yellow": 3, "blue": 4, "magenta": 5, "cyan": 6, "white": 7,
        "bright-black": 8, "gray": 8, "grey": 8, "bright-red": 9, "bright-green": 10, "bright-yellow": 11,
        "bright-blue": 12, "bright-magenta": 13, "bright-cyan": 14, "bright-white": 15,
    ]

    init?(json: JSONValue) {
        switch json {
        case .int(let n) where (0...255).contains(n): self = .index(Int(n))
        case .double(let d) where d >= 0 && d <= 255 && d == d.rounded(): self = .index(Int(d))
        case .string(let s):
            let s = s.lowercased()
            if s == "default" { self = .terminalDefault; return }
            if let i = Self.names[s] { self = .index(i); return }
            if s.hasPrefix("#"), s.count == 7, let v = Int(s.dropFirst(), radix: 16) {
                self = .rgb((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
                return
            }
            return nil
        default: return nil
        }
    }

    /// The xterm palette: 16 system colours, a 6×6×6 cube, 24 greys.
    static func paletteRGB(_ i: Int) -> (Int, Int, Int) {
        let system: [(Int, Int, Int)] = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
                                         (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255)]
        if i < 16 { return system[max(0, i)] }
        if i < 232 {
            let c = i - 16
            let level = { (v: Int) in v == 0 ? 0 : 55 + v * 40 }
            return (level(c / 36), level((c / 6) % 6), level(c % 6))
        }
        let g = 8 + (i - 232) * 10
        return (g, g, g)
    }

    /// The colour number to give curses for a terminal with `colors` colours (-1: the default).
    /// RGB is mapped down to the nearest palette entry when the terminal lacks true colour; under a
    /// direct-colour terminal (colors > 256) a number is an RGB value, so palette indices map up.
    public func resolve(colors: Int) -> Int {
        switch self {
        case .terminalDefault: return -1
        case .index(let i):
            if colors > 256 { let (r, g, b) = Self.paletteRGB(i); return (r << 16) | (g << 8) | b }
            if i < colors { return i }
            return Self.nearest(Self.paletteRGB(i), among: min(colors, 16))
        case .rgb(let r, let g, let b):
            if colors > 256 { return (r << 16) | (g << 8) | b }
            // On 256 colours, prefer the cube and greys: users remap the 16 system colours.
            return colors >= 256 ? Self.nearest((r, g, b), among: 256, from: 16) : Self.nearest((r, g, b), among: min(colors, 16))
        }
    }

    static func nearest(_ c: (Int, Int, Int), among count: Int, from first: Int = 0) -> Int {
        guard count > first else { return -1 }
        var best = first
        var bestD = Int.max
        for i in first..<count {
            let p = paletteRGB(i)
            let d = (p.0 - c.0) * (p.0 - c.0) + (p.1 - c.1) * (p.1 - c.1) + (p.2 - c.2) * (p.2 - c.2)
            if d < bestD { bestD = d; best = i }
        }
        return best
    }
}

/// A theme: style roles to colours and extra attributes.
public struct Theme: Equatable, Sendable {
    public struct RoleStyle: Equatable, Sendable {
        public var fg: ThemeColor = .terminalDefault
        public var bg: ThemeColor = .terminalDefault
        public var bold = false
        public var underline = false
    }
    public var name: String
    public var roles: [StyleRole: RoleStyle]

    public func style(_ role: StyleRole) -> RoleStyle { roles[role] ?? RoleStyle() }

    public static let builtinNames = ["default", "light", "high-contrast", "ansi16"]

    /// A problem in a theme file, naming the file and the key.
    public struct LoadError: Error, CustomStringConvertible, Equatable {
        public var file: String
        public var key: String
        public var problem: String
        public var description: String { "theme \(file): \(key): \(problem)" }
    }

    public static func parse(_ text: String, file: String) throws -> Theme {
        guard case .object(let root)? = JSONValue.parse(text) else {
            throw LoadError(file: file, key: "(file)", problem: "not a JSON object")
        }
        var theme = Theme(name: root["name"]?.stringValue ?? file, roles: [:])
        guard case .object(let roles)? = root["roles"] else { throw LoadError(file: file, key: "roles", problem: "missing or not an object") }
        for (key, value) in roles.sorted(by: { $0.key < $1.key }) {
            guard let role = StyleRole(rawValue: key) else {
                throw LoadError(file: file, key: "roles.\(key)", problem: "unknown role (roles: \(StyleRole.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard case .object(let fields) = value else { throw LoadError(file: file, key: "roles.\(key)", problem: "not an object") }
            var rs = RoleStyle()
            for (field, v) in fields.sorted(by: { $0.key < $1.key }) {
                switch field {
                case "fg", "bg":
                    guard let c = ThemeColor(json: v) else {
                        throw LoadError(file: file, key: "roles.\(key).\(field)", problem: "bad colour (use a name, 0–255, #rrggbb or default)")
                    }
                    if field == "fg" { rs.fg = c } else { rs.bg = c }
                case "bold", "underline":
                    guard case .bool(let b) = v else { throw LoadError(file: file, key: "roles.\(key).\(field)", problem: "must be true or false") }
                    if field == "bold" { rs.bold = b } else { rs.underline = b }
                default:
                    throw LoadError(file: file, key: "roles.\(key).\(field)", problem: "unknown field (fg, bg, bold, underline)")
                }
            }
            theme.roles[role] = rs
        }
        return theme
    }

    public static func builtin(_ name: String) -> Theme? {
        BuiltinThemes.all[name].flatMap { try? parse($0, file: "\(name) (built-in)") }
    }

    /// `--theme NAME|PATH`: a path; else a user theme `CONFIG/themes/NAME.json`; else a built-in.
    /// A bad file gives the default theme and the error to show.
    public static func load(_ spec: String?, configThemes: String) -> (Theme, LoadError?) {
        let fallback = builtin("default")!
        guard let spec, !spec.isEmpty else { return (fallback, nil) }
        var path: String?
        if spec.contains("/") || spec.hasSuffix(".json") { path = spec }
        else if FileManager.default.fileExists(atPath: "\(configThemes)/\(spec).json") { path = "\(configThemes)/\(spec).json" }
        if let path {
            guard let data = FileManager.default.contents(atPath: path) else {
                return (fallback, LoadError(file: path, key: "(file)", problem: "cannot be read"))
            }
            do { return (try parse(String(decoding: data, as: UTF8.self), file: path), nil) } catch let e as LoadError { return (fallback, e) } catch {
                return (fallback, LoadError(file: path, key: "(file)", problem: "\(error)"))
            }
        }
        if let t = builtin(spec) { return (t, nil) }
        return (fallback, LoadError(file: spec, key: "(name)", problem: "no such theme (built-in: \(builtinNames.joined(separator: ", ")); or a path to a .json file)"))
    }
}
