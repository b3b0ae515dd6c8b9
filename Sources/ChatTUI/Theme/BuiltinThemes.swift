/// The built-in themes, compiled in so the binary needs no files beside it. They are exactly the
/// files in `themes/` (a test compares them byte for byte).
enum BuiltinThemes {
    static let all: [String: String] = [
        "default": #"""
{
  "name": "default",
  "roles": {
    "text": {"fg": "default", "bg": "default"},
    "dim": {"fg": 245},
    "accent": {"fg": "#5fafff"},
    "user": {"fg": "#5fd7ff"},
    "assistant": {"fg": "#87d787"},
    "border": {"fg": 240},
    "title": {"fg": "#ffd75f"},
    "selection": {"fg": "#ffffff", "bg": "#005f87"},
    "error": {"fg": "#ff5f5f"},
    "success": {"fg": "#5fd75f"},
    "warning": {"fg": "#ffaf00"},
    "chain": {"fg": "#d7afff"},
    "code": {"fg": "#ffd7af", "bg": 236},
    "input": {"fg": "default"},
    "status": {"fg": "#1c1c1c", "bg": "#87afd7"},
    "footer": {"fg": 246},
    "key": {"fg": "#ffd75f"}
  }
}
"""#,
        "light": #"""
{
  "name": "light",
  "roles": {
    "text": {"fg": "#1c1c1c", "bg": "default"},
    "dim": {"fg": 242},
    "accent": {"fg": "#005faf"},
    "user": {"fg": "#0087af"},
    "assistant": {"fg": "#008700"},
    "border": {"fg": 248},
    "title": {"fg": "#875f00"},
    "selection": {"fg": "#ffffff", "bg": "#0087d7"},
    "error": {"fg": "#d70000"},
    "success": {"fg": "#008700"},
    "warning": {"fg": "#af5f00"},
    "chain": {"fg": "#8700af"},
    "code": {"fg": "#5f0000", "bg": 254},
    "input": {"fg": "#1c1c1c"},
    "status": {"fg": "#ffffff", "bg": "#005f87"},
    "footer": {"fg": 241},
    "key": {"fg": "#875f00"}
  }
}
"""#,
        "high-contrast": #"""
{
  "name": "high-contrast",
  "roles": {
    "text": {"fg": "white", "bg": "black"},
    "dim": {"fg": "white", "bg": "black"},
    "accent": {"fg": "bright-yellow", "bg": "black", "bold": true},
    "user": {"fg": "bright-cyan", "bg": "black", "bold": true},
    "assistant": {"fg": "bright-green", "bg": "black", "bold": true},
    "border": {"fg": "white", "bg": "black"},
    "title": {"fg": "bright-yellow", "bg": "black", "bold": true},
    "selection": {"fg": "black", "bg": "bright-yellow"},
    "error": {"fg": "bright-red", "bg": "black", "bold": true},
    "success": {"fg": "bright-green", "bg": "black"},
    "warning": {"fg": "bright-yellow", "bg": "black"},
    "chain": {"fg": "bright-magenta", "bg": "black", "bold": true},
    "code": {"fg": "black", "bg": "white"},
    "input": {"fg": "bright-white", "bg": "black"},
    "status": {"fg": "black", "bg": "bright-white"},
    "footer": {"fg": "white", "bg": "black"},
    "key": {"fg": "bright-yellow", "bg": "black", "underline": true}
  }
}
"""#,
        "ansi16": #"""
{
  "name": "ansi16",
  "roles": {
    "text": {"fg": "default", "bg": "default"},
    "dim": {"fg": "bright-black"},
    "accent": {"fg": "blue"},
    "user": {"fg": "cyan"},
    "assistant": {"fg": "green"},
    "border": {"fg": "bright-black"},
    "title": {"fg": "yellow"},
    "selection": {"fg": "white", "bg": "blue"},
    "error": {"fg": "red"},
    "success": {"fg": "green"},
    "warning": {"fg": "yellow"},
    "chain": {"fg": "magenta"},
    "code": {"fg": "yellow", "bg": "default"},
    "input": {"fg": "default"},
    "status": {"fg": "black", "bg": "cyan"},
    "footer": {"fg": "bright-black"},
    "key": {"fg": "yellow"}
  }
}
"""#,
    ]
}
