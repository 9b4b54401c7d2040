import Testing

@testable import ScopeProtocol

/// The bounds of a `stacks` request (docs/SECURITY.md): `ids` at most 1,000 tasks, `depth` from
/// 1 to 128; each taken at its edge and refused one past it, with a message that says the bound.
@Suite struct StackQueryBoundsTests {
    static func line(ids count: Int? = nil, depth: Int? = nil) -> [UInt8] {
        var fields = [#""id":1"#, #""op":"stacks""#]
        if let count { fields.append(#""ids":["# + (1...count).map(String.init).joined(separator: ",") + "]") }
        if let depth { fields.append(#""depth":\#(depth)"#) }
        return Array(("{" + fields.joined(separator: ",") + "}").utf8)
    }

    static func query(_ line: [UInt8]) throws -> StackQuery {
        guard case .stacks(let query) = try RequestLine.parse(line).get().request else {
            throw Failure.notStacks
        }
        return query
    }

    enum Failure: Error { case notStacks }

    @Test func theBoundsAreTheOnesStated() {
        #expect(StackQuery.maxIDs == 1_000)
        #expect(StackQuery.maxDepth == 128)
    }

    @Test func aThousandIDsAreTakenAndOneMoreIsRefused() throws {
        let query = try Self.query(Self.line(ids: 1_000))
        #expect(query.ids == (1...1_000).map(UInt64.init))
        guard case .failure(let failure) = RequestLine.parse(Self.line(ids: 1_001)) else {
            Issue.record("1,001 ids were taken")
            return
        }
        #expect(failure.id == 1)
        #expect(failure.error.code == .invalidField)
        #expect(failure.error.message == #""ids" must be a list of at most 1000 task ids"#)
    }

    @Test(arguments: [1, 128])
    func aDepthWithinOneTo128IsTaken(depth: Int) throws {
        #expect(try Self.query(Self.line(depth: depth)).depth == depth)
    }

    @Test(arguments: [0, 129, -1])
    func aDepthOutsideOneTo128IsRefused(depth: Int) {
        guard case .failure(let failure) = RequestLine.parse(Self.line(depth: depth)) else {
            Issue.record("depth \(depth) was taken")
            return
        }
        #expect(failure.error.code == .invalidField)
        #expect(failure.error.message == #""depth" must be an integer from 1 to 128"#, "\(failure.error.message)")
    }
}
