import Foundation
import TestSupport
import Testing

@testable import TaskScope

/// The bounds of a `stacks` request over a real agent's socket (docs/SECURITY.md): 1,000 ids
/// answered and 1,001 refused; depth 128 answered, 0 and 129 refused; the connection served on.
extension AgentServerTests {
    static func stacksRequest(id: Int, ids count: Int? = nil, depth: Int? = nil) -> String {
        var fields = [#""id":\#(id)"#, #""op":"stacks""#]
        if let count { fields.append(#""ids":["# + (1...count).map(String.init).joined(separator: ",") + "]") }
        if let depth { fields.append(#""depth":\#(depth)"#) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    @Test func aStacksRequestIsAnsweredAtItsBoundsAndRefusedPastThem() async throws {
        try await withAgent { _, path in
            // Stacks are read after the process's self-test, which may take its time on a busy machine.
            let client = try RawLineClient(path: path, timeout: 30)
            #expect(try await client.readObject()["type"] as? String == "hello")
            func answered(_ line: String, id: Int) async throws {
                let reply = try await client.request(line)
                #expect(reply["id"] as? Int == id)
                #expect(reply["error"] == nil, "\(reply)")
                let result = try #require(reply["result"] as? [String: Any], "\(reply)")
                // Either the (empty) stacks of the tasks asked for, or why there are none here.
                #expect(result["total"] as? Int == 0 || result["unavailable"] is String, "\(result)")
            }
            func refused(_ line: String, id: Int, saying message: String) async throws {
                let reply = try await client.request(line)
                #expect(reply["id"] as? Int == id)
                let error = try #require(reply["error"] as? [String: Any], "\(reply)")
                #expect(error["code"] as? String == "invalid-field")
                #expect(error["message"] as? String == message)
            }
            try await answered(Self.stacksRequest(id: 1, ids: 1_000), id: 1)
            try await refused(
                Self.stacksRequest(id: 2, ids: 1_001), id: 2, saying: #""ids" must be a list of at most 1000 task ids"#)
            try await answered(Self.stacksRequest(id: 3, depth: 128), id: 3)
            try await answered(Self.stacksRequest(id: 4, ids: 1_000, depth: 1), id: 4)
            for (id, depth) in [(5, 129), (6, 0)] {
                try await refused(
                    Self.stacksRequest(id: id, depth: depth), id: id,
                    saying: #""depth" must be an integer from 1 to 128"#)
            }
            // Refusals end no connection.
            #expect(try await client.request(#"{"id":7,"op":"summary"}"#)["id"] as? Int == 7)
        }
    }
}
