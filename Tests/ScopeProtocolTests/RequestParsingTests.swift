import Foundation
import Testing

@testable import ScopeProtocol

@Suite struct RequestParsingTests {
    private func parse(_ text: String) -> Result<RequestLine, RequestFailure> {
        RequestLine.parse(Array(text.utf8))
    }

    private func request(_ text: String) throws -> Request {
        try parse(text).get().request
    }

    private func failure(_ text: String) -> RequestFailure? {
        if case .failure(let failure) = parse(text) { return failure }
        return nil
    }

    @Test func parsesEveryOperationWithDefaults() throws {
        #expect(try request(#"{"id":1,"op":"hello"}"#) == .hello)
        #expect(try request(#"{"id":1,"op":"summary"}"#) == .summary)
        #expect(try request(#"{"id":1,"op":"tasks"}"#) == .tasks(TaskQuery()))
        #expect(try request(#"{"id":1,"op":"task","task":7}"#) == .task(id: 7))
        #expect(try request(#"{"id":1,"op":"history"}"#) == .history(limit: nil))
        #expect(try request(#"{"id":1,"op":"snapshot"}"#) == .snapshot(SnapshotOptions()))
        #expect(try request(#"{"id":1,"op":"subscribe"}"#) == .subscribe(interval: nil))
        #expect(try request(#"{"id":1,"op":"unsubscribe"}"#) == .unsubscribe)
        #expect(try request(#"{"id":1,"op":"warnings"}"#) == .warnings)
        #expect(try request(#"{"id":1,"op":"groups"}"#) == .groups(GroupQuery()))
        #expect(
            try request(#"{"id":1,"op":"tasks","waitSite":"App/A.swift:12","spawnSite":"B:3","resource":5}"#)
                == .tasks(
                    TaskQuery(
                        waitSite: SourceSite(file: "App/A.swift", line: 12), spawnSite: SourceSite(file: "B", line: 3),
                        resource: 5)))
        #expect(try request(#"{"id":1,"op":"resources"}"#) == .resources(ResourceQuery()))
        #expect(
            try request(#"{"id":1,"op":"resources","kind":"channel","orphaned":true,"offset":2,"limit":3}"#)
                == .resources(ResourceQuery(kind: .channel, orphanedOnly: true, offset: 2, limit: 3)))
    }

    @Test func echoesTheID() throws {
        #expect(try parse(#"{"id":9876543210,"op":"summary"}"#).get().id == 9_876_543_210)
    }

    @Test func parsesEveryTaskQueryField() throws {
        let parsed = try request(
            #"{"id":2,"op":"tasks","state":"waiting","wait":"db.query","text":"fetch","minWait":1.5,"sort":"wait","order":"asc","offset":20,"limit":50}"#
        )
        #expect(
            parsed
                == .tasks(
                    TaskQuery(
                        state: .waiting, wait: "db.query", text: "fetch", minWait: 1.5, sort: .wait, descending: false,
                        offset: 20, limit: 50)))
    }

    @Test func roundTripsEveryRequestThroughItsLine() throws {
        var traced = TaskQuery(limit: 7)
        traced.trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        let requests: [Request] = [
            .hello, .summary, .unsubscribe, .task(id: 42), .history(limit: 3), .history(limit: nil),
            .tasks(
                TaskQuery(
                    state: .live, wait: "sleep", text: "a\"b", minWait: 0.25, sort: .name, descending: true, offset: 5,
                    limit: 10)),
            .snapshot(SnapshotOptions(wait: "sleep", chunkSize: 10)),
            .snapshot(SnapshotOptions(trace: "4bf92f3577b34da6a3ce929d0e0e4736")), .tasks(traced),
            .subscribe(interval: 0.5),
            .subscribe(interval: nil),
        ]
        for (index, original) in requests.enumerated() {
            var line = original.line(id: Int64(index))
            #expect(line.last == UInt8(ascii: "\n"))
            line.removeLast()
            let parsed = try RequestLine.parse(line).get()
            #expect(parsed.id == Int64(index))
            #expect(parsed.request == original)
        }
    }

    @Test func refusesLinesThatAreNotJSON() {
        for text in ["", "garbage", "{\"id\":1,", "\u{FF}\u{FE}", "{\"id\":1 \"op\":\"summary\"}"] {
            let failure = failure(text)
            #expect(failure?.error.code == .invalidJSON, "\(text)")
            #expect(failure?.id == nil)
        }
        // Invalid UTF-8 bytes.
        let bytes: [UInt8] = [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D]
        if case .failure(let failure) = RequestLine.parse(bytes) {
            #expect(failure.error.code == .invalidJSON)
        } else {
            Issue.record("invalid UTF-8 was accepted")
        }
    }

    @Test func refusesRequestsThatAreNotObjectsOrLackIDOrOp() {
        #expect(failure("[1,2]")?.error.code == .invalidRequest)
        #expect(failure("42")?.error.code == .invalidRequest)
        #expect(failure(#"{"op":"summary"}"#)?.error.code == .invalidRequest)
        #expect(failure(#"{"id":"1","op":"summary"}"#)?.error.code == .invalidRequest)
        #expect(failure(#"{"id":1,"op":5}"#)?.error.code == .invalidRequest)
        #expect(failure(#"{"id":1.5,"op":"summary"}"#)?.error.code == .invalidRequest)
        let noOp = failure(#"{"id":3}"#)
        #expect(noOp?.error.code == .invalidRequest)
        #expect(noOp?.id == 3)
    }

    @Test func refusesUnknownOperationsNamingTheKnownOnes() {
        let failure = failure(#"{"id":4,"op":"explode"}"#)
        #expect(failure?.id == 4)
        #expect(failure?.error.code == .unknownOperation)
        #expect(failure?.error.message.contains("summary") == true)
    }

    @Test func refusesBadFieldsWithTheFieldNamed() {
        let cases: [(String, String)] = [
            (#"{"id":1,"op":"tasks","limit":0}"#, "limit"),
            (#"{"id":1,"op":"tasks","limit":10001}"#, "limit"),
            (#"{"id":1,"op":"tasks","limit":"10"}"#, "limit"),
            (#"{"id":1,"op":"tasks","offset":-1}"#, "offset"),
            (#"{"id":1,"op":"tasks","offset":1e300}"#, "offset"),
            (#"{"id":1,"op":"tasks","state":"sleeping"}"#, "state"),
            (#"{"id":1,"op":"tasks","sort":"colour"}"#, "sort"),
            (#"{"id":1,"op":"tasks","order":"up"}"#, "order"),
            (#"{"id":1,"op":"tasks","minWait":-1}"#, "minWait"),
            (#"{"id":1,"op":"tasks","wait":5}"#, "wait"),
            (#"{"id":1,"op":"task"}"#, "task"),
            (#"{"id":1,"op":"task","task":0}"#, "task"),
            (#"{"id":1,"op":"history","limit":0}"#, "limit"),
            (#"{"id":1,"op":"snapshot","chunk":0}"#, "chunk"),
            (#"{"id":1,"op":"subscribe","interval":0.01}"#, "interval"),
            (#"{"id":1,"op":"subscribe","interval":true}"#, "interval"),
            (#"{"id":1,"op":"resources","kind":"socket"}"#, "kind"),
            (#"{"id":1,"op":"tasks","waitSite":"nowhere"}"#, "waitSite"),
            (#"{"id":1,"op":"tasks","spawnSite":":12"}"#, "spawnSite"),
            (#"{"id":1,"op":"groups","limit":0}"#, "limit"),
            (#"{"id":1,"op":"resources","orphaned":1}"#, "orphaned"),
            (#"{"id":1,"op":"subscribe","interval":1e30}"#, "interval"),
            (#"{"id":1,"op":"tasks","minWait":1e30}"#, "minWait"),
        ]
        for (text, field) in cases {
            let failure = failure(text)
            #expect(failure?.id == 1, "\(text)")
            #expect(failure?.error.code == .invalidField, "\(text)")
            #expect(failure?.error.message.contains("\"\(field)\"") == true, "\(text): \(String(describing: failure))")
        }
    }

    @Test func numbersBeyondDoubleAreNotJSONThisAgentReads() {
        #expect(failure(#"{"id":1,"op":"tasks","minWait":1e400}"#)?.error.code == .invalidJSON)
    }

    @Test func refusesUnknownFields() {
        let failure = failure(#"{"id":1,"op":"summary","verbose":true}"#)
        #expect(failure?.error.code == .unknownField)
        #expect(failure?.error.message.contains("verbose") == true)
    }

    @Test func nullFieldsMeanAbsent() throws {
        #expect(try request(#"{"id":1,"op":"tasks","wait":null,"limit":null}"#) == .tasks(TaskQuery()))
    }

    /// A request whose field `x` nests `depth - 1` arrays, so the line is `depth` deep.
    private func nested(depth: Int) -> String {
        #"{"id":1,"op":"summary","x":"# + String(repeating: "[", count: depth - 1)
            + String(repeating: "]", count: depth - 1) + "}"
    }

    @Test func aRequestDeeperThanTheLimitIsInvalidNamingTheLimit() throws {
        #expect(JSONNesting.maximumRequestDepth == 32)
        let refused = try #require(failure(nested(depth: 33)))
        #expect(refused.error.code == .invalidRequest)
        #expect(refused.error.message.contains("depth limit is 32"), "\(refused.error.message)")
        #expect(refused.id == nil)
    }

    @Test func aRequestAtTheLimitIsDecodedAndCheckedAsAnyOther() throws {
        // Depth 32 passes the depth check: the request is decoded and its fields checked.
        let refused = try #require(failure(nested(depth: 32)))
        #expect(refused.error.code == .unknownField)
        #expect(refused.id == 1)
        // Brackets inside strings are not nesting.
        let text = String(repeating: "[", count: 100)
        #expect(try request(#"{"id":1,"op":"tasks","text":"\#(text)"}"#) == .tasks(TaskQuery(text: text)))
    }

    /// The line of the report: 8.5 KB, 500 deep, 2,500 leaves. It is refused
    /// without being decoded at all, while a flat line of the same size is decoded.
    @Test func aDeepLineIsRefusedBeforeDecodingAndAFlatOneOfTheSameSizeIsNot() throws {
        var inner = ""
        for _ in 0..<498 { inner = "[11,22,33,44,55," + inner }
        inner += "[1,2,3,4,5]" + String(repeating: "]", count: 498)
        let deep = #"{"id":1,"op":"summary","x":"# + inner + "}"
        let flatPrefix = #"{"id":1,"op":"summary","x":["#
        var flat = flatPrefix + String(repeating: "11,", count: (deep.utf8.count - flatPrefix.utf8.count - 3) / 3)
        flat += String(repeating: "1", count: deep.utf8.count - flat.utf8.count - 2) + "]}"
        #expect(deep.utf8.count == flat.utf8.count)
        #expect(deep.utf8.count > 8000)
        #expect(JSONNesting.depth(of: Array(deep.utf8)) == 500)

        var decodes = 0
        let decode: ([UInt8]) throws -> JSONValue = { bytes in
            decodes += 1
            return try JSONValue(parsing: bytes)
        }
        let refused = RequestLine.parse(Array(deep.utf8), decode: decode)
        #expect(decodes == 0)
        guard case .failure(let failure) = refused else {
            Issue.record("a 500-deep line was accepted")
            return
        }
        #expect(failure.error.code == .invalidRequest)

        let decoded = RequestLine.parse(Array(flat.utf8), decode: decode)
        #expect(decodes == 1)
        guard case .failure(let other) = decoded else {
            Issue.record("an unknown field was accepted")
            return
        }
        #expect(other.error.code == .unknownField)
    }

    @Test func decodesEveryKindOfValueAtEveryDepthUpToTheLimit() throws {
        let leaves = #"[null,true,false,0,-7,9223372036854775807,1.5,-2e3,"s\"[{",{},[]]"#
        // -2e3 is integral, so it is read as an integer, as JSONDecoder always has.
        let expectedLeaves: [JSONValue] = [
            .null, .bool(true), .bool(false), .integer(0), .integer(-7), .integer(.max), .number(1.5),
            .integer(-2000), .string("s\"[{"), .object([:]),
            .array([]),
        ]
        var text = leaves
        var expected = JSONValue.array(expectedLeaves)
        for level in 0..<30 {
            if level.isMultiple(of: 2) {
                text = #"{"k":"# + text + #","n":1}"#
                expected = .object(["k": expected, "n": .integer(1)])
            } else {
                text = "[" + text + ",null]"
                expected = .array([expected, .null])
            }
        }
        // 32 deep in all: 30 levels around the leaves' array, whose {} and [] are one deeper.
        #expect(JSONNesting.depth(of: Array(text.utf8)) == 32)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) == expected)
        #expect(try JSONValue(parsing: Array(text.utf8)) == expected)
    }

    /// Requests are parsed by `JSONValue(parsing:)`; it reads every edge of JSON
    /// as the `Decodable` conformance (`JSONDecoder`) does, failures included.
    @Test func parsingAgreesWithTheDecoderOnEveryEdge() {
        let texts = [
            "true", "false", "null", "0", "-0", "1", "1.0", "-0.0", "1.5", "1e3", "1E2", "-2e3", "4.0e0", "1e-2",
            "9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
            "18446744073709551615", "18446744073709551616", "12345678901234567890123", "1e300", "1e400", "-1e400",
            "9007199254740993", "0.1", #""""#, #""a\u00e9\n\"\\\/""#, #""\ud83d\ude00""#, #""\ud800""#, "[1,true,1.0]",
            #"{"a":1,"b":[{}]}"#, "01", "1.", ".5", "+1", "NaN", "[1,]", #"{"a":1,}"#, "tru", #""\x""#, "[", "",
            " 1 ", "{\"a\":\"\u{1}\"}",
        ]
        for text in texts {
            let parsed = try? JSONValue(parsing: Array(text.utf8))
            let decoded = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(parsed == decoded, "\(text)")
        }
        let invalidUTF8: [UInt8] = [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D]
        #expect((try? JSONValue(parsing: invalidUTF8)) == nil)
    }
}
