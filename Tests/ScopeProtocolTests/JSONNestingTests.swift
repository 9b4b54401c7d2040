import Foundation
import Testing

@testable import ScopeProtocol

@Suite struct JSONNestingTests {
    private func depth(_ text: String, stoppingAbove limit: Int = .max) -> Int {
        JSONNesting.depth(of: Array(text.utf8), stoppingAbove: limit)
    }

    @Test func countsOpenArraysAndObjectsOutsideStrings() {
        #expect(depth("42") == 0)
        #expect(depth("{}") == 1)
        #expect(depth(#"{"a":[1,{"b":[]}],"c":{}}"#) == 4)
        #expect(depth("[[]][[[]]]") == 3)
        // Brackets inside strings are text, and an escaped quote does not end the string.
        #expect(depth(#"{"a":"[[[{{{"}"#) == 1)
        #expect(depth(#"["\"[[[",1]"#) == 1)
        // An escaped backslash does end its escape: the quote after it closes the string.
        #expect(depth(#"["\\",[[1]]]"#) == 3)
        #expect(depth(#"["\\\"[[",[1]]"#) == 2)
        // Stray closers never take the depth below zero.
        #expect(depth("]]}}[[") == 2)
    }

    @Test func stopsAtTheFirstLevelAboveTheLimit() {
        let deep = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(depth(deep) == 500)
        #expect(depth(deep, stoppingAbove: 32) == 33)
        #expect(depth(String(repeating: "[", count: 32), stoppingAbove: 32) == 32)
    }

    /// The scan agrees with the depth of the value that was encoded, for
    /// random values whose strings are full of brackets, quotes and backslashes.
    @Test func agreesWithTheEncodedValuesDepth() throws {
        var generator = SplitMix64(seed: 13)
        let encoder = JSONEncoder()
        for round in 0..<2000 {
            let value = randomValue(depth: 0, using: &generator)
            encoder.outputFormatting = round.isMultiple(of: 2) ? [.sortedKeys] : [.prettyPrinted]
            let bytes = Array(try encoder.encode(value))
            let expected = value.nestingDepth
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(JSONNesting.depth(of: bytes) == expected, "\(text)")
            let limit = Int.random(in: 0...8, using: &generator)
            #expect(JSONNesting.depth(of: bytes, stoppingAbove: limit) == min(expected, limit + 1), "\(text)")
            // And both ways of reading JSON give the same value back.
            #expect(try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) == value, "\(text)")
            #expect(try JSONValue(parsing: bytes) == value, "\(text)")
        }
    }

    private func randomValue(depth: Int, using generator: inout SplitMix64) -> JSONValue {
        let kind = depth >= 8 ? Int.random(in: 0..<5, using: &generator) : Int.random(in: 0..<8, using: &generator)
        switch kind {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .integer(Int64.random(in: -1_000_000...1_000_000, using: &generator))
        case 3: return .number(Double(Int.random(in: -1000...1000, using: &generator)) + 0.5)
        case 4: return .string(randomString(using: &generator))
        case 5, 6:
            let count = Int.random(in: 0...4, using: &generator)
            return .array((0..<count).map { _ in randomValue(depth: depth + 1, using: &generator) })
        default:
            let count = Int.random(in: 0...4, using: &generator)
            var fields: [String: JSONValue] = [:]
            for _ in 0..<count {
                fields[randomString(using: &generator)] = randomValue(depth: depth + 1, using: &generator)
            }
            return .object(fields)
        }
    }

    private func randomString(using generator: inout SplitMix64) -> String {
        let alphabet = Array(#"[]{}"\\/ab:,"#) + ["\n", "é"]
        let count = Int.random(in: 0...8, using: &generator)
        return String((0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }
}

extension JSONValue {
    /// The reference depth: how many arrays and objects enclose the deepest value.
    fileprivate var nestingDepth: Int {
        switch self {
        case .array(let elements): 1 + (elements.map(\.nestingDepth).max() ?? 0)
        case .object(let fields): 1 + (fields.values.map(\.nestingDepth).max() ?? 0)
        default: 0
        }
    }
}

/// A seeded generator, so that a failing round can be replayed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
