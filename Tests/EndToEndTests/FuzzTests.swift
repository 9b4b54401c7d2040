import Foundation
import TestSupport
import Testing

/// Hostile input thrown at a live agent inside a process doing real work.
///
/// Seeded, so that a failure can be replayed: `TASKSCOPE_FUZZ_SEED=N swift test --filter FuzzTests`
/// (and `TASKSCOPE_FUZZ_INPUTS` for more or fewer inputs than the 100,000 CI runs).
@Suite(.serialized, .timeLimit(.minutes(5))) struct FuzzTests {
    @Test func hostileInputNeverCrashesTheAgentNorDisturbsItsHost() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["TASKSCOPE_FUZZ_SEED"].flatMap(UInt64.init) ?? 20_261_130
        let inputs = environment["TASKSCOPE_FUZZ_INPUTS"].flatMap(Int.init) ?? 100_000
        let host = try await HostProcess()
        // The inputs go through blocking sockets, on a thread of their own.
        let outcome = try await onOwnThread { () throws -> FuzzOutcome in
            var fuzzer = Fuzzer(seed: seed, maxLineBytes: 64 << 10)
            var session = try FuzzSession(path: host.socket)
            var sent = 0
            while sent < inputs {
                let input = fuzzer.next()
                do {
                    try session.throwIn(input)
                } catch {
                    return FuzzOutcome(
                        sent: sent, replies: session.replies, failure: "input \(sent) (\(input.kind)): \(error)")
                }
                sent += input.count
                guard host.process.isRunning else {
                    return FuzzOutcome(sent: sent, replies: session.replies, failure: "the host died at input \(sent)")
                }
            }
            return FuzzOutcome(sent: sent, replies: session.replies, failure: nil)
        }
        if let failure = outcome.failure {
            try? await Task.sleep(for: .seconds(3))  // a crashing host is still printing its backtrace
            let said = host.process.errors.text.withLock { String($0.prefix(3000)) }
            Issue.record("seed \(seed), \(failure); the host said: \(said)")
        }
        #expect(host.process.isRunning)
        #expect(outcome.sent >= inputs)
        #expect(outcome.replies >= inputs / 2, "\(outcome.replies) replies")

        // The agent still answers, and the host's work was never disturbed: every round's
        // result right, and every task it spawned counted once.
        let client = try RawLineClient(path: host.socket)
        #expect(try await client.readObject()["type"] as? String == "hello")
        kill(host.pid, SIGUSR1)
        let stopped = try await host.process.line(startingWith: "stopped ")
        #expect(stopped.hasSuffix(" wrong=0"), "\(stopped)")
        let spawned = try #require(Int(stopped.split(separator: " ")[1].dropFirst("spawned=".count)))
        #expect(spawned > 0)
        let summary = try #require(try await client.request(#"{"id":1,"op":"summary"}"#)["result"] as? [String: Any])
        let totals = try #require(summary["totals"] as? [String: Int])
        #expect(totals["spawned"] == spawned)
        #expect((totals["completed"] ?? 0) + (totals["cancelled"] ?? 0) + (totals["failed"] ?? 0) == spawned)
        #expect(try await host.process.stop(with: SIGTERM) == 0)
        #expect(!FileManager.default.fileExists(atPath: host.socket), "the socket outlived a normal exit")
    }
}

/// How far the inputs went, and what went wrong if something did.
struct FuzzOutcome: Sendable {
    var sent: Int
    var replies: Int
    var failure: String?
}

/// One thing thrown at the agent.
struct FuzzInput {
    enum Expectation {
        /// A well-formed request: a reply (result or error) with this id.
        case reply(id: Int)
        /// A line that is no valid request: an error reply.
        case error
    }

    enum Kind: String {
        case request, garbage, invalidUTF8, truncated, wrongTypes, batch, oversized, endless
    }

    var kind: Kind
    var bytes: [UInt8]
    /// What each line must get, in order; empty when the connection must close instead.
    var expectations: [Expectation]

    /// Inputs this counts as: every line of a batch.
    var count: Int { max(1, expectations.count) }
}

/// Makes inputs from a seed: the same seed makes the same inputs.
struct Fuzzer {
    private var random: SplitMix64
    private let maxLineBytes: Int
    private var nextID = 1

    init(seed: UInt64, maxLineBytes: Int) {
        random = SplitMix64(seed: seed)
        self.maxLineBytes = maxLineBytes
    }

    mutating func next() -> FuzzInput {
        switch random.below(1000) {
        case 0..<3: return oversized()
        case 3..<5: return endless()
        case 5..<40: return batch()
        case 40..<400: return line(.request)
        case 400..<550: return line(.garbage)
        case 550..<650: return line(.invalidUTF8)
        case 650..<800: return line(.truncated)
        default: return line(.wrongTypes)
        }
    }

    private mutating func line(_ kind: FuzzInput.Kind) -> FuzzInput {
        let (bytes, expectation) = makeLine(kind)
        return FuzzInput(kind: kind, bytes: bytes + [UInt8(ascii: "\n")], expectations: [expectation])
    }

    /// Hundreds to thousands of lines in one write.
    private mutating func batch() -> FuzzInput {
        var bytes: [UInt8] = []
        var expectations: [FuzzInput.Expectation] = []
        for _ in 0..<(200 + random.below(1800)) {
            // Small replies only, so that a batch's answers fit what the agent buffers.
            let kind: FuzzInput.Kind = random.below(2) == 0 ? .garbage : .request
            let (line, expectation) = kind == .request ? smallRequest() : makeLine(kind)
            bytes += line + [UInt8(ascii: "\n")]
            expectations.append(expectation)
        }
        return FuzzInput(kind: .batch, bytes: bytes, expectations: expectations)
    }

    private mutating func oversized() -> FuzzInput {
        var bytes = Array(#"{"id":1,"op":"summary","pad":""#.utf8)
        bytes += [UInt8](repeating: UInt8(ascii: "x"), count: maxLineBytes + random.below(1000))
        return FuzzInput(kind: .oversized, bytes: bytes + Array("\"}\n".utf8), expectations: [])
    }

    /// A line that never ends: more than the limit, and no newline ever.
    private mutating func endless() -> FuzzInput {
        FuzzInput(
            kind: .endless, bytes: (0..<(maxLineBytes + 4096)).map { _ in UInt8(ascii: "a") + UInt8(random.below(26)) },
            expectations: [])
    }

    private mutating func makeLine(_ kind: FuzzInput.Kind) -> ([UInt8], FuzzInput.Expectation) {
        switch kind {
        case .request: return request()
        case .garbage:
            let alphabet = Array(#"{}[]":,0123456789.-eE truefalsnulidop\abcxyz"#.utf8)
            var bytes = (0..<(1 + random.below(120))).map { _ in alphabet[random.below(alphabet.count)] }
            bytes[0] = UInt8(ascii: "#")  // never blank, never by chance a request
            return (bytes, .error)
        case .invalidUTF8:
            var bytes = Array(#"{"id":7,"op":"tasks","text":""#.utf8)
            bytes += (0..<(1 + random.below(40))).map { _ in UInt8(0x80 + random.below(0x80)) }
            return (bytes + Array(#""}"#.utf8), .error)
        case .truncated:
            let (whole, _) = request()
            return (Array(whole.prefix(1 + random.below(whole.count - 1))), .error)
        case .wrongTypes:
            let id = nextID
            nextID += 1
            let lines = [
                #"{"id":\#(id),"op":5}"#, #"{"id":\#(id),"op":"tasks","limit":"ten"}"#,
                #"{"id":\#(id),"op":"tasks","offset":-5}"#, #"{"id":\#(id),"op":"tasks","limit":-1}"#,
                #"{"id":\#(id),"op":"tasks","limit":100000000000000000000000}"#,
                #"{"id":\#(id),"op":"tasks","minWait":-3}"#, #"{"id":\#(id),"op":"task","task":"x"}"#,
                #"{"id":\#(id),"op":"history","limit":1e308}"#, #"{"id":\#(id),"op":"tasks","state":["waiting"]}"#,
                #"{"id":\#(id),"op":"launch-missiles"}"#, #"{"id":\#(id),"op":"tasks","sort":"sideways"}"#,
                #"{"id":\#(id),"op":"snapshot","chunk":0}"#, #"{"id":\#(id),"op":"groups","limit":{}}"#,
            ]
            return (Array(lines[random.below(lines.count)].utf8), .reply(id: id))
        case .batch, .oversized, .endless:
            preconditionFailure("not a single line")
        }
    }

    /// A well-formed request of any operation but the streaming ones' subscriptions.
    private mutating func request() -> ([UInt8], FuzzInput.Expectation) {
        let id = nextID
        nextID += 1
        let reasons = ["compute", "channel.send", "channel.receive", "group.next", "sleep", "x"]
        let bodies = [
            #""op":"summary""#, #""op":"hello""#, #""op":"warnings""#, #""op":"resources""#,
            #""op":"history","limit":\#(random.below(700))"#, #""op":"task","task":\#(random.below(200_000))"#,
            #""op":"tasks","state":"\#(["live", "active", "waiting", "finished"][random.below(4)])","limit":\#(1 + random.below(200)),"offset":\#(random.below(300))"#,
            #""op":"tasks","wait":"\#(reasons[random.below(reasons.count)])","sort":"\#(["id", "age", "wait", "name"][random.below(4)])","order":"\#(["asc", "desc"][random.below(2)])""#,
            #""op":"tasks","text":"worker-\#(random.below(6))","minWait":0.\#(random.below(10))"#,
            #""op":"groups","limit":\#(1 + random.below(50))"#,
            #""op":"snapshot","chunk":\#(1 + random.below(500))"#,
        ]
        return (Array(#"{"id":\#(id),\#(bodies[random.below(bodies.count)])}"#.utf8), .reply(id: id))
    }

    private mutating func smallRequest() -> ([UInt8], FuzzInput.Expectation) {
        let id = nextID
        nextID += 1
        let body = [#""op":"summary""#, #""op":"hello""#, #""op":"task","task":0"#][random.below(3)]
        return (Array(#"{"id":\#(id),\#(body)}"#.utf8), .reply(id: id))
    }
}

/// A connection the inputs are thrown into, reopened when the agent closes it as it should.
struct FuzzSession {
    let path: String
    private var client: RawLineClient
    private(set) var replies = 0

    struct Wrong: Error, CustomStringConvertible {
        var description: String
    }

    init(path: String) throws {
        self.path = path
        client = try FuzzSession.connect(path)
    }

    private static func connect(_ path: String) throws -> RawLineClient {
        let client = try RawLineClient(path: path, timeout: 10)
        guard try client.readObject()["type"] as? String == "hello" else { throw Wrong(description: "no hello") }
        return client
    }

    mutating func throwIn(_ input: FuzzInput) throws {
        if input.expectations.isEmpty {
            // Over the limit: one error, then the connection closes; the next input gets a new one.
            try? client.write(input.bytes)
            let reply = try nextReply()
            guard let error = reply?["error"] as? [String: Any], error["code"] as? String == "line-too-long" else {
                throw Wrong(description: "over the limit, got \(String(describing: reply))")
            }
            guard client.isClosedByPeer() else { throw Wrong(description: "the connection stayed open") }
            client = try FuzzSession.connect(path)
            return
        }
        try client.write(input.bytes)
        for expectation in input.expectations {
            guard let reply = try nextReply() else { throw Wrong(description: "the connection closed") }
            replies += 1
            switch expectation {
            case .reply(let id):
                guard reply["id"] as? Int == id, reply["result"] != nil || reply["error"] != nil else {
                    throw Wrong(description: "wanted the reply to \(id), got \(reply)")
                }
            case .error:
                guard reply["error"] is [String: Any] else { throw Wrong(description: "wanted an error, got \(reply)") }
            }
        }
    }

    /// The next reply, skipping snapshot chunks; every line must be a JSON object.
    private mutating func nextReply() throws -> [String: Any]? {
        while let line = try client.readLine() {
            if line.range(of: #"^\{"id":-?\d+,"chunk":"#, options: .regularExpression) != nil { continue }
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw Wrong(description: "a reply that is not a JSON object: \(line.prefix(200))")
            }
            return object
        }
        return nil
    }
}
