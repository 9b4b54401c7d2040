import Foundation

/// Byte counts and durations in the words of error lines and options: `64 MiB`, `2 GiB`, `3 s`.
public enum ByteText {
    private static let units: [(suffix: String, shift: Int)] = [("GiB", 30), ("MiB", 20), ("KiB", 10)]

    /// `bytes` in the largest binary unit that divides it (`64 MiB`), else in bytes.
    public static func format(_ bytes: Int) -> String {
        for (suffix, shift) in units where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift) \(suffix)"
        }
        return "\(bytes) bytes"
    }

    /// Reads `4096`, `64M`, `64MiB`, `2G` or `2 GiB` (binary units); nil for anything else, zero or
    /// negative, or more than `Int.max`.
    public static func parse(_ text: String) -> Int? {
        var digits = Substring(text.trimmingCharacters(in: .whitespaces))
        var shift = 0
        for (suffix, unitShift) in units {
            for spelling in [suffix, String(suffix.prefix(1))]
            where digits.uppercased().hasSuffix(spelling.uppercased()) {
                digits = digits.dropLast(spelling.count)
                shift = unitShift
                break
            }
            if shift != 0 { break }
        }
        digits = Substring(digits.trimmingCharacters(in: .whitespaces))
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let value = Int(digits),
            value > 0
        else { return nil }
        let (scaled, overflow) = value.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? nil : scaled
    }

    /// Seconds as a person reads them: `3 s`, `0.3 s`.
    static func seconds(_ seconds: Double) -> String {
        String(format: "%g s", seconds)
    }
}
