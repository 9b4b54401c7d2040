/// A value read from an agent or a snapshot file whose numbers can be checked against
/// ``WireRange`` before anything uses them.
public protocol WireValidatable {
    /// Throws the first number out of range, its field named from `path` (`""` at the top).
    ///
    /// Cost: one pass over the value's numbers.
    func validate(at path: String) throws(WireValueError)
}

extension WireValidatable {
    /// Throws the first number out of range, its field named from the top of this value.
    public func validate() throws(WireValueError) { try validate(at: "") }
}

extension Array: WireValidatable where Element: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        for (index, element) in enumerated() { try element.validate(at: "\(path)[\(index)]") }
    }
}
