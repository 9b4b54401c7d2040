/// Short, human durations for tables: `850ms`, `12.3s`, `5m12s`, `2h03m`, `3d04h`.
public enum DurationText {
    /// The longest duration written out; anything longer (infinity included) reads `>99999d`.
    public static let longest: Double = 99_999 * 86_400

    /// Formats seconds compactly; negative values and NaN read as `0ms`, values beyond
    /// ``longest`` as `>99999d`. Never traps, whatever the value.
    public static func format(_ seconds: Double) -> String {
        guard !seconds.isNaN, seconds > 0 else { return "0ms" }
        guard seconds < longest else { return ">99999d" }
        if seconds < 1 { return "\(Int(seconds * 1000))ms" }
        if seconds < 60 {
            let tenths = Int((seconds * 10).rounded(.down))
            return "\(tenths / 10).\(tenths % 10)s"
        }
        let total = Int(seconds)
        if total < 3600 { return "\(total / 60)m\(pad(total % 60))s" }
        if total < 86400 { return "\(total / 3600)h\(pad(total % 3600 / 60))m" }
        return "\(total / 86400)d\(pad(total % 86400 / 3600))h"
    }

    private static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
