/// What the client accepts for each kind of number an agent or a snapshot file carries
/// (docs/SECURITY.md states the same).
///
/// The bounds are far beyond any real process and well inside what the client's
/// arithmetic and formatting can hold, so sums of counts and differences of times never trap.
public enum WireRange {
    /// Unix times in seconds: from 1970 to 1e11 (the year 5138).
    public static let time: ClosedRange<Double> = 0...1e11
    /// Durations and intervals in seconds: up to 1e11 (3,000 years).
    public static let duration: ClosedRange<Double> = 0...1e11
    /// Counts of tasks, resources, samples, bytes: up to 10^12.
    public static let count: ClosedRange<Int> = 0...1_000_000_000_000
    /// Running totals: up to 2^60, so that adding a few of them cannot overflow.
    public static let total: ClosedRange<UInt64> = 0...(1 << 60)
}
