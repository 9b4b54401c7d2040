/// How deeply a JSON text nests arrays and objects, measured in one pass over its bytes.
///
/// The agent measures every request line with this before decoding it, so
/// that a deeply nested line is refused for the cost of reading it once,
/// however the decoder would have fared with it.
public enum JSONNesting {
    /// The deepest nesting of arrays and objects a request may have (a request
    /// object is depth 1, an array inside it depth 2). Real requests are depth 1.
    public static let maximumRequestDepth = 32

    /// The greatest number of arrays and objects open at once in `bytes`.
    ///
    /// Counts `[` and `{` outside strings (a string runs from an unescaped `"`
    /// to the next unescaped `"`; a backslash escapes the byte after it), and
    /// `]` and `}` close one level (never below zero). The text is not
    /// otherwise checked: decoding it later finds any other mistake.
    ///
    /// Cost: one pass over the bytes, no allocation; it stops at the first
    /// byte that opens level `limit + 1`, and then returns `limit + 1`.
    public static func depth(of bytes: some Collection<UInt8>, stoppingAbove limit: Int = .max) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > deepest {
                    deepest = depth
                    if deepest > limit { return deepest }
                }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(depth - 1, 0)
            default:
                break
            }
        }
        return deepest
    }
}
