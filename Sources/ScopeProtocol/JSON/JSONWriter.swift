/// A minimal JSON writer for bulk data, appending straight into a byte array.
///
/// `JSONEncoder` costs several microseconds per task record; a snapshot of a
/// million tasks cannot afford that. This writer does no reflection and no
/// intermediate containers: the caller writes keys and values in order.
/// Cost: one pass over the bytes written, amortised array growth.
public struct JSONWriter: Sendable {
    /// The bytes written so far.
    public var bytes: [UInt8]

    /// Creates a writer, reserving `capacity` bytes.
    public init(capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends bytes as they are, for punctuation and pre-escaped keys.
    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends bytes as they are.
    public mutating func raw(_ other: some Sequence<UInt8>) {
        bytes.append(contentsOf: other)
    }

    /// Appends a quoted, escaped JSON string.
    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var start = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                appendEscape(byte)
                start = index + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<utf8.count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends an integer.
    public mutating func integer(_ value: some BinaryInteger) {
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Appends a number; non-finite values, which JSON cannot carry, are written as `0`.
    public mutating func number(_ value: Double) {
        guard value.isFinite else {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        if value == value.rounded(), abs(value) < 1e15 {
            integer(Int64(value))
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    /// Appends `true` or `false`.
    public mutating func bool(_ value: Bool) {
        value ? raw("true") : raw("false")
    }

    private mutating func appendEscape(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): raw("\\\"")
        case UInt8(ascii: "\\"): raw("\\\\")
        case UInt8(ascii: "\n"): raw("\\n")
        case UInt8(ascii: "\r"): raw("\\r")
        case UInt8(ascii: "\t"): raw("\\t")
        default:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            raw("\\u00")
            bytes.append(hex[Int(byte >> 4)])
            bytes.append(hex[Int(byte & 0xF)])
        }
    }
}

extension SourceSite {
    /// Writes this site as a JSON object, with the same keys `Codable` uses.
    public func write(to writer: inout JSONWriter) {
        writer.raw("{\"file\":")
        writer.string(file)
        writer.raw(",\"line\":")
        writer.integer(line)
        if let function {
            writer.raw(",\"function\":")
            writer.string(function)
        }
        writer.raw("}")
    }
}

extension TaskInfo {
    /// Writes this task as a JSON object, with the same keys `Codable` uses.
    /// Optional fields that are `nil` are left out, as `JSONEncoder` leaves them out.
    public func write(to writer: inout JSONWriter) {
        writer.raw("{\"id\":")
        writer.integer(id)
        writer.raw(",\"name\":")
        writer.string(name)
        if let parent {
            writer.raw(",\"parent\":")
            writer.integer(parent)
        }
        writer.raw(",\"state\":")
        writer.string(state.rawValue)
        if let outcome {
            writer.raw(",\"outcome\":")
            writer.string(outcome.rawValue)
        }
        if let error {
            writer.raw(",\"error\":")
            writer.string(error)
        }
        if let wait {
            writer.raw(",\"wait\":")
            writer.string(wait)
        }
        if let waitSite {
            writer.raw(",\"waitSite\":")
            waitSite.write(to: &writer)
        }
        writer.raw(",\"spawnSite\":")
        spawnSite.write(to: &writer)
        writer.raw(",\"created\":")
        writer.number(created)
        writer.raw(",\"inState\":")
        writer.number(inState)
        writer.raw(",\"cancelled\":")
        writer.bool(cancelled)
        if let resource {
            writer.raw(",\"resource\":")
            writer.integer(resource)
        }
        if let adopted {
            writer.raw(",\"adopted\":")
            writer.bool(adopted)
        }
        if let cancelledAt {
            writer.raw(",\"cancelledAt\":")
            writer.number(cancelledAt)
        }
        if let trace {
            writer.raw(",\"trace\":")
            writer.string(trace)
        }
        if let stack {
            writer.raw(",\"stack\":")
            writer.integer(UInt64(clamping: stack))
        }
        writer.raw("}")
    }
}
