import Foundation

/// A number from an agent or a snapshot file that cannot be what its field says: a time a
/// thousand years away, a negative count, a duration that is not finite.
///
/// Such values are refused where they enter (``WireValidatable``), so that nothing after
/// them has to fear converting or formatting them.
public struct WireValueError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The field, as a path from the value checked: `summary.capturedAt`, `tasks[3].inState`.
    public var field: String
    /// The value as read.
    public var value: String
    /// What the field must be: `a time`, `a duration`, `a count`.
    public var expected: String

    public init(field: String, value: String, expected: String) {
        self.field = field
        self.value = value
        self.expected = expected
    }

    /// `capturedAt is 1e300, not a time`.
    public var description: String { "\(field) is \(value), not \(expected)" }
}
