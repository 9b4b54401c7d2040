import Foundation

/// The checks behind ``WireValidatable``: each throws a ``WireValueError`` naming the
/// field `path.name` when a number is out of its ``WireRange``.
struct WireCheck {
    let path: String

    init(_ path: String) { self.path = path }

    func field(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    func time(_ value: Double?, _ name: String) throws(WireValueError) {
        guard let value, !WireRange.time.contains(value) else { return }
        throw WireValueError(field: field(name), value: Self.text(value), expected: "a time")
    }

    func duration(_ value: Double, _ name: String) throws(WireValueError) {
        guard !WireRange.duration.contains(value) else { return }
        throw WireValueError(field: field(name), value: Self.text(value), expected: "a duration")
    }

    func count(_ value: Int?, _ name: String) throws(WireValueError) {
        guard let value, !WireRange.count.contains(value) else { return }
        throw WireValueError(field: field(name), value: "\(value)", expected: "a count")
    }

    func counts(_ values: [String: Int], _ name: String) throws(WireValueError) {
        for (key, value) in values.sorted(by: { $0.key < $1.key }) { try count(value, "\(name).\(key)") }
    }

    func total(_ value: UInt64, _ name: String) throws(WireValueError) {
        guard !WireRange.total.contains(value) else { return }
        throw WireValueError(field: field(name), value: "\(value)", expected: "a running total")
    }

    /// `1e300` rather than Swift's `1e+300`; `nan` and `inf` as they are.
    static func text(_ value: Double) -> String {
        "\(value)".replacingOccurrences(of: "e+", with: "e")
    }
}
