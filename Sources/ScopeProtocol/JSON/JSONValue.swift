import Foundation

/// Any JSON value, decoded without a schema.
///
/// Requests are read into this first so that every field can be checked by
/// name and type, and every mistake reported precisely.
public enum JSONValue: Codable, Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Decodes any JSON value.
    ///
    /// Cost: linear in the value's size for a given depth. Every kind is tried
    /// at most once, containers first and then the scalars, and no failed try
    /// descends into the value: a failed try costs a thrown error that grows with
    /// the depth (the decoder builds its coding path), so trying the scalars and
    /// then the containers at every level, as this once did, made a line cost the
    /// cube of its depth. Even so each try still costs more the deeper it is:
    /// requests are read with `init(parsing:)` instead.
    public init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            var fields: [String: JSONValue] = [:]
            fields.reserveCapacity(object.allKeys.count)
            for key in object.allKeys {
                fields[key.stringValue] = try object.decode(JSONValue.self, forKey: key)
            }
            self = .object(fields)
        } else if var array = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            if let count = array.count { elements.reserveCapacity(count) }
            while !array.isAtEnd {
                elements.append(try array.decode(JSONValue.self))
            }
            self = .array(elements)
        } else {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Int64.self) {
                self = .integer(value)
            } else {
                self = .number(try container.decode(Double.self))
            }
        }
    }

    /// Any key of a JSON object.
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The name of this value's JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension JSONValue {
    /// Parses JSON text (any value, not only an object or array).
    ///
    /// A number is an integer when it is integral and fits in 64 bits (so
    /// `-2e3` is the integer -2000, as `JSONDecoder` reads it into `Int64`), and
    /// a double otherwise; a number beyond a double's range is invalid.
    ///
    /// Cost: linear in the text's length: one `JSONSerialization` pass, then
    /// one walk over the result, with no type tried and abandoned on the way.
    /// Recursion follows the nesting, so callers bound the depth first
    /// (`JSONNesting`).
    public init(parsing bytes: some Collection<UInt8>) throws {
        let object = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        self = try JSONValue(converting: object)
    }

    private init(converting object: Any) throws {
        switch object {
        // Containers first: on Linux, casting an array or dictionary to NSNumber bridges
        // it, a copy of the whole subtree at every level.
        case let dictionary as [String: Any]:
            self = .object(try dictionary.mapValues(JSONValue.init(converting:)))
        case let array as [Any]:
            self = .array(try array.map(JSONValue.init(converting:)))
        case let string as String:
            self = .string(string)
        case let number as NSNumber:
            self = JSONValue(number)
        case is NSNull:
            self = .null
        default:
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "JSONSerialization returned \(type(of: object))"))
        }
    }

    /// JSONSerialization marks booleans with type `c`, integers with the
    /// integer types (`Q` for those above `Int64.max`), other numbers as `d`,
    /// and returns integers too long for those as an `NSDecimalNumber`.
    private init(_ number: NSNumber) {
        if number is NSDecimalNumber {
            // An integer literal beyond 64 bits (or at their very bottom) comes as a decimal.
            self = Int64(number.stringValue).map(JSONValue.integer) ?? .number(number.doubleValue)
            return
        }
        switch UInt8(bitPattern: number.objCType.pointee) {
        case UInt8(ascii: "c"):
            self = .bool(number.boolValue)
        case UInt8(ascii: "d"), UInt8(ascii: "f"):
            let value = number.doubleValue
            self = Int64(exactly: value).map(JSONValue.integer) ?? .number(value)
        case UInt8(ascii: "Q"), UInt8(ascii: "L"), UInt8(ascii: "I"), UInt8(ascii: "S"), UInt8(ascii: "C"):
            self = Int64(exactly: number.uint64Value).map(JSONValue.integer) ?? .number(number.doubleValue)
        default:
            self = .integer(number.int64Value)
        }
    }
}
